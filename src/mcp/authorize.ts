/**
 * The MCP client's authorization, with Zoho as the upstream: workers-oauth-provider parses and
 * checks the client's request (its registration, redirect URI, PKCE), saves it bound to this
 * browser, and the browser goes through this Worker's Zoho login, straight to Zoho's consent.
 * Back from the login, the grant is completed with props naming the user's token, never a
 * Zoho token. Two routes: `<authorizePath>` and `<authorizePath>/done`; with `consentPage`, a
 * third (`POST <authorizePath>/consent`) answers a page of ours that names the client first.
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
  /** Show a page naming the MCP client and where it sends the user, Allow or Deny, before the Zoho login. */
  consentPage: boolean;
}

const escape = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Our consent page: the client's name and redirect URI, Allow and Deny, posting the provider's handle. Never framed. */
function consentPage(clientName: string, redirectUri: string, handle: string, action: string, headers: Headers): Response {
  const body = `<!doctype html><meta charset="utf-8"><title>Allow access to Zoho CRM?</title>
<style>body{font:16px system-ui;max-width:36rem;margin:4rem auto}button{font-size:1rem;padding:.5rem 1.5rem}</style>
<h1>Allow access to Zoho CRM?</h1>
<p><strong>${escape(clientName)}</strong> asks to use your Zoho CRM as you. It will be sent back to <code>${escape(redirectUri)}</code>.</p>
<p>Allow only if you started this from that application.</p>
<form method="post" action="${escape(action)}"><input type="hidden" name="handle" value="${escape(handle)}">
<button name="decision" value="allow">Allow, then log in with Zoho</button> <button name="decision" value="deny">Deny</button></form>`;
  headers.set('content-type', 'text/html;charset=utf-8');
  headers.set('cache-control', 'no-store');
  headers.set('referrer-policy', 'no-referrer');
  headers.set('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
  headers.set('x-content-type-options', 'nosniff');
  return new Response(body, { status: 200, headers });
}

/** The Zoho login, then back to `<authorizePath>/done` with the provider's upstream state. */
async function toZohoLogin(provider: OAuthHelpers, authRequest: AuthRequest, options: AuthorizeOptions, headers?: Headers): Promise<Response> {
  // Saved with a cookie binding it to this browser; `state` comes back to .../done through the login's landing path.
  const upstream = await provider.beginUpstream(authRequest, headers ? { headers } : {});
  const done = `${options.authorizePath}/done?state=${encodeURIComponent(upstream.state)}`;
  const out = headers ?? upstream.headers;
  out.set('location', `${options.basePath ?? ''}/auth/login?return_to=${encodeURIComponent(done)}`);
  out.set('cache-control', 'no-store');
  return new Response(null, { status: 302, headers: out });
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
  const consentAction = `${options.authorizePath}/consent`;
  const route =
    request.method === 'GET' && url.pathname === options.authorizePath ? 'start'
    : request.method === 'GET' && url.pathname === `${options.authorizePath}/done` ? 'done'
    : request.method === 'POST' && url.pathname === consentAction && options.consentPage ? 'consent'
    : null;
  if (!route) return null;
  const provider = env.OAUTH_PROVIDER;
  if (!provider) throw new Error('edge-token-store/mcp: the authorize routes run inside workers-oauth-provider (its defaultHandler)');
  try {
    if (route === 'start') {
      const authRequest = await provider.parseAuthRequest(request);
      if (!options.consentPage) return toZohoLogin(provider, authRequest, options);
      const client = await provider.lookupClient(authRequest.clientId);
      const { handle, headers } = await provider.beginConsent(authRequest);
      return consentPage(client?.clientName || authRequest.clientId, authRequest.redirectUri, handle, consentAction, headers);
    }
    if (route === 'consent') {
      const form = await request.formData();
      const handle = String(form.get('handle') ?? '');
      if (form.get('decision') !== 'allow') {
        const denied = await provider.denyConsent(request, handle);
        return new Response(null, { status: 302, headers: denied.headers });
      }
      const approved = await provider.approveConsent(request, handle);
      return toZohoLogin(provider, approved.request, options, approved.headers);
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
