/**
 * The MCP client's authorization, with Zoho as the upstream, in three steps under
 * `<authorizePath>`, each bound to the browser that started it (consent.ts):
 *
 * 1. `GET <authorizePath>`: workers-oauth-provider checks the client's request (registration,
 *    redirect URI, PKCE); we answer our consent page naming the client, where its answer goes
 *    and the access asked. Nothing is stored.
 * 2. `POST <authorizePath>/consent`: Deny goes back to the client with `access_denied`, never
 *    reaching Zoho. Allow saves the request with the provider (`beginUpstream`), with the
 *    browser's binding and the scopes shown, and sends the browser through our Zoho login.
 * 3. `GET <authorizePath>/done`: the request again (`finishUpstream`), only for the browser
 *    that allowed it (our own cookie, read strictly: the provider's binding cookie alone is not
 *    trusted), then the grant for the user the login's session names, with the scopes shown.
 *
 * Errors are pages of ours: a self-registered client's redirect URI is never used to answer one.
 */
import type { AuthRequest, OAuthHelpers } from '@cloudflare/workers-oauth-provider';
import { configOf } from '../worker/config.ts';
import type { Env } from '../worker/env.ts';
import { crossSiteByMetadata, htmlPage } from '../worker/http.ts';
import type { ResolvedOptions } from '../worker/options.ts';
import { bindingHash, boundedForm, boundToBrowser, browserBinding, consentPage, CONSENT_TTL_MS, grantedScopes, openTicket, signTicket } from './consent.ts';
import { grantPropsOf } from './grant.ts';

/** What the MCP server reads from `env`, beside the Worker's settings (docs/worker.md). */
export interface McpEnv extends Env {
  /** Set by workers-oauth-provider for its handlers. */
  OAUTH_PROVIDER: OAuthHelpers;
  /** workers-oauth-provider's namespace: clients, grants and its tokens (hashed or encrypted by it; no Zoho token). */
  OAUTH_KV: KVNamespace;
  /** The MCP endpoint's canonical URL, when `createZohoMcp()` is not given `resource`. */
  MCP_RESOURCE_URL?: string;
  /** Rate Limiting binding for `/register`, the authorize steps and `/token`, per endpoint and client address. Unbound: no limit. */
  MCP_LIMITER?: RateLimit;
}

/** What the upstream record keeps beside the request: which browser allowed it, and what it allowed. */
interface UpstreamData {
  binding: string;
  scope: string[];
}

/** The provider's AuthorizationError, without importing its class: its description. */
function authorizationError(error: unknown): { description: string } | null {
  if (typeof error !== 'object' || error === null || (error as { name?: unknown }).name !== 'AuthorizationError') return null;
  return error as { description: string };
}

const failed = (message: string, status = 400) => htmlPage(status, 'Authorization failed', `${message} Start again from your MCP client.`);

async function start(request: Request, env: McpEnv, options: ResolvedOptions, authorizePath: string): Promise<Response> {
  const provider = env.OAUTH_PROVIDER;
  const authRequest = await provider.parseAuthRequest(request);
  const client = await provider.lookupClient(authRequest.clientId);
  const config = configOf(env);
  const binding = browserBinding(request);
  const scope = grantedScopes(authRequest.scope);
  const ticket = await signTicket(config, {
    request: authRequest,
    scope,
    binding: await bindingHash(config, binding.value),
    expires: Date.now() + CONSENT_TTL_MS,
  });
  return consentPage({
    clientName: client?.clientName?.trim() || authRequest.clientId,
    redirectUri: authRequest.redirectUri,
    scope,
    ticket,
    action: `${authorizePath}/consent`,
    setCookie: binding.cookie,
  });
}

async function decide(request: Request, env: McpEnv, options: ResolvedOptions, authorizePath: string): Promise<Response> {
  // A form another site posts never decides: the browser says so, and our SameSite cookie is not sent with it.
  if (crossSiteByMetadata(request)) return failed('This request came from another site.', 403);
  const form = await boundedForm(request);
  if (!form) return failed('The form could not be read.', 413);
  const config = configOf(env);
  const ticket = await openTicket(config, request, form.get('ticket') ?? '');
  if (!ticket) return failed('This authorization was not started in this browser, or it expired.');
  const provider = env.OAUTH_PROVIDER;
  if (form.get('decision') !== 'allow') {
    // The redirect URI was checked by the provider and shown on our page; the person chose to go back to it.
    const back = new URL(ticket.request.redirectUri);
    back.searchParams.set('error', 'access_denied');
    if (ticket.request.state) back.searchParams.set('state', ticket.request.state);
    if (ticket.request.issuer) back.searchParams.set('iss', ticket.request.issuer);
    return new Response(null, { status: 302, headers: { location: back.toString(), 'cache-control': 'no-store' } });
  }
  const data: UpstreamData = { binding: ticket.binding, scope: ticket.scope };
  const upstream = await provider.beginUpstream(ticket.request, { data });
  const done = `${authorizePath}/done?state=${encodeURIComponent(upstream.state)}`;
  upstream.headers.set('location', `${options.basePath}/auth/login?return_to=${encodeURIComponent(done)}`);
  upstream.headers.set('cache-control', 'no-store');
  return new Response(null, { status: 302, headers: upstream.headers });
}

async function finish(request: Request, env: McpEnv, options: ResolvedOptions): Promise<Response> {
  const provider = env.OAUTH_PROVIDER;
  const { request: authRequest, data, headers } = await provider.finishUpstream(request);
  const upstream = data as Partial<UpstreamData> | undefined;
  if (!(await boundToBrowser(configOf(env), request, upstream?.binding)) || !Array.isArray(upstream?.scope)) {
    return failed('This authorization was not allowed in this browser.');
  }
  const grant = await grantPropsOf(request, env, options);
  if (!grant) return htmlPage(401, 'Authorization failed', 'The Zoho login did not finish. Start again from your MCP client.', headers);
  const scope = grantedScopes(upstream.scope);
  const { redirectTo } = await provider.completeAuthorization({
    request: authRequest as AuthRequest,
    userId: grant.userId,
    // Not secret: which of the user's tokens the grant rides on, so a dead login ends only its own grants.
    metadata: { tokenRef: grant.props.tokenRef },
    scope,
    props: { ...grant.props, scope },
  });
  headers.set('location', redirectTo);
  headers.set('cache-control', 'no-store');
  return new Response(null, { status: 302, headers });
}

/** Answers the three authorize routes; null for any other request. */
export async function answerAuthorize(request: Request, env: McpEnv, options: ResolvedOptions, authorizePath: string, url: URL): Promise<Response | null> {
  const path = url.pathname;
  const step =
    request.method === 'GET' && path === authorizePath
      ? start
      : request.method === 'POST' && path === `${authorizePath}/consent`
        ? decide
        : request.method === 'GET' && path === `${authorizePath}/done`
          ? finish
          : null;
  if (!step) return null;
  if (!env.OAUTH_PROVIDER) throw new Error('edge-token-store/mcp: the authorize routes run inside workers-oauth-provider');
  try {
    return await step(request, env, options, authorizePath);
  } catch (error) {
    const known = authorizationError(error);
    if (!known) throw error;
    return failed(known.description);
  }
}
