/**
 * The MCP client's authorization, with Zoho as the upstream: workers-oauth-provider parses and
 * checks the client's request (its registration, redirect URI, PKCE), saves it bound to this
 * browser, and the browser goes through this Worker's Zoho login, straight to Zoho's consent.
 * Back from the login, the grant is completed with props naming the user's token, never a
 * Zoho token. Two routes: `<authorizePath>` and `<authorizePath>/done`.
 */
import type { AuthRequest, OAuthHelpers } from '@cloudflare/workers-oauth-provider';
import type { Env } from '../worker/env.ts';
import { htmlPage } from '../worker/http.ts';
import type { ZohoWorkerOptions } from '../worker/options.ts';
import { grantPropsOf } from './grant.ts';

export interface McpEnv extends Env {
  /** Set by workers-oauth-provider for its handlers. */
  OAUTH_PROVIDER: OAuthHelpers;
}

export interface AuthorizeOptions extends ZohoWorkerOptions {
  /** The provider's `authorizeEndpoint` (default `/authorize`). */
  authorizePath: string;
}

/** The provider's AuthorizationError, without importing its class: a code, a description, and a redirect when one is safe. */
function authorizationError(error: unknown): { description: string; redirectTo?: string } | null {
  if (typeof error !== 'object' || error === null || (error as { name?: unknown }).name !== 'AuthorizationError') return null;
  return error as { description: string; redirectTo?: string };
}

const refused = (error: { description: string; redirectTo?: string }) =>
  error.redirectTo ? Response.redirect(error.redirectTo, 302) : htmlPage(400, 'Authorization failed', error.description);

/** Answers the two authorize routes; null for any other request. */
export async function answerAuthorize(request: Request, env: McpEnv, options: AuthorizeOptions): Promise<Response | null> {
  const url = new URL(request.url);
  if (request.method !== 'GET' || (url.pathname !== options.authorizePath && url.pathname !== `${options.authorizePath}/done`)) return null;
  const provider = env.OAUTH_PROVIDER;
  if (!provider) throw new Error('edge-token-store/mcp: the authorize routes run inside workers-oauth-provider (its defaultHandler)');
  try {
    if (url.pathname === options.authorizePath) {
      const authRequest = await provider.parseAuthRequest(request);
      // Saved with a cookie binding it to this browser; `state` comes back to .../done through the login's landing path.
      const { state, headers } = await provider.beginUpstream(authRequest);
      const done = `${options.authorizePath}/done?state=${encodeURIComponent(state)}`;
      headers.set('location', `${options.basePath ?? ''}/auth/login?return_to=${encodeURIComponent(done)}`);
      headers.set('cache-control', 'no-store');
      return new Response(null, { status: 302, headers });
    }
    const { request: authRequest, headers } = await provider.finishUpstream(request);
    const grant = await grantPropsOf(request, env, options);
    if (!grant) return htmlPage(401, 'Authorization failed', 'The Zoho login did not finish. Start again from your MCP client.', headers);
    const { redirectTo } = await provider.completeAuthorization({
      request: authRequest as AuthRequest,
      userId: grant.userId,
      metadata: {},
      scope: authRequest.scope,
      props: grant.props,
    });
    headers.set('location', redirectTo);
    headers.set('cache-control', 'no-store');
    return new Response(null, { status: 302, headers });
  } catch (error) {
    const known = authorizationError(error);
    if (!known) throw error;
    return refused(known);
  }
}
