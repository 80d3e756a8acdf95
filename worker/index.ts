/**
 * The Worker: logs users in with Zoho and proxies /crm/* with their tokens, which never
 * leave the Worker. Routes:
 *   GET  /healthz
 *   GET  /auth/login     -> Zoho's consent page (state bound to this browser)
 *   GET  /auth/callback  -> checks state and accounts server, exchanges, starts a session
 *   GET  /auth/me        -> who is logged in (no token)
 *   POST /auth/refresh   -> refreshes the session's token now (answers the new expiry)
 *   POST /auth/logout    -> ends the session
 *   POST /auth/revoke    -> revokes at Zoho, deletes the token, ends its sessions
 *   ANY  /crm/*          -> Zoho CRM, with the caller's token
 *   /admin/*             -> operators only, behind the admin key (worker/admin.ts)
 * Each user's token and sessions live in their own object (worker/objects.ts says how
 * objects are named): a proxied call is one call to that one object.
 */
import { isTokenStoreError } from '../src/errors.ts';
import { admin } from './admin.ts';
import { callback, login, logout, me, refreshNow, revoke, type AuthContext } from './auth.ts';
import { readConfig, type Config } from './config.ts';
import type { Env } from './env.ts';
import { corsHeaders, jsonError, log, tokenErrorResponse } from './http.ts';
import { proxy } from './proxy.ts';

// The per-user class is bound under the name the single-object layout used, so a deployment
// that ran it keeps its data (wrangler.toml).
export { UserTokensObject as TokenStoreObject } from './user-object.ts';
export { SessionsObject } from './sessions.ts';
export { ObjectDirectory } from './directory.ts';

let cached: { env: Env; config: Config } | undefined;

function setup(env: Env): Config {
  if (cached?.env !== env) cached = { env, config: readConfig(env) };
  return cached.config;
}

/**
 * Fetch Metadata: a request the browser marks as coming from another site passes only as a
 * CORS request (which the Origin check then admits or refuses). A link, a form, an `<img>` or
 * a frame on any other site never reaches a session route with the user's cookie. Requests
 * without these headers (servers, older browsers) are left to the Origin check.
 */
function crossSiteByMetadata(request: Request): boolean {
  const site = request.headers.get('sec-fetch-site');
  if (site === null || site === 'same-origin' || site === 'none') return false;
  return request.headers.get('sec-fetch-mode') !== 'cors';
}

/** Requests that change state with a cookie must come from this origin or an allowed one. */
function crossSiteRefused(request: Request, url: URL, config: Config): boolean {
  if (crossSiteByMetadata(request)) return true;
  const origin = request.headers.get('origin');
  if (origin === null || origin === url.origin) return false;
  return !config.allowedOrigins.has(origin);
}

async function route(request: Request, env: Env, requestId: string): Promise<{ response: Response; event?: string; code?: string }> {
  const url = new URL(request.url);
  const { pathname } = url;
  if (pathname === '/healthz') return { response: Response.json({ ok: true }) };
  // The in-browser demo's client in local runs (an id, no secret); never an asset, so never deployed.
  if (pathname === '/demo/browser-client' && env.DEMO_BROWSER_CLIENT) {
    return { response: new Response(env.DEMO_BROWSER_CLIENT, { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } }) };
  }

  let config: Config;
  try {
    config = setup(env);
  } catch (error) {
    log({ requestId, method: request.method, path: pathname, event: 'misconfigured', code: (error as Error).message });
    return { response: jsonError(500, 'misconfigured', 'the service is not configured') };
  }
  const context: AuthContext = { env, config, request, url };
  const method = request.method;

  try {
    if (pathname.startsWith('/admin/')) return await admin(context);
    if (pathname === '/auth/login' && method === 'GET') return { response: await login(context) };
    if (pathname === '/auth/callback' && method === 'GET') {
      const { response, outcome } = await callback(context);
      return { response, event: outcome };
    }
    if (pathname === '/auth/me' && method === 'GET') return { response: await me(context) };
  } catch (error) {
    // A busy or failing object (a login-state bucket, a user's object) is a 503 with a wait, not a 500.
    if (!isTokenStoreError(error)) throw error;
    return { response: tokenErrorResponse(error, false), code: error.code };
  }
  const posts: Record<string, (c: AuthContext) => Promise<Response>> = {
    '/auth/logout': logout,
    '/auth/revoke': revoke,
    '/auth/refresh': refreshNow,
  };
  if (posts[pathname] && method === 'POST') {
    if (crossSiteRefused(request, url, config)) return { response: jsonError(403, 'forbidden_origin', 'cross-site request refused') };
    try {
      return { response: await posts[pathname](context) };
    } catch (error) {
      if (!isTokenStoreError(error)) throw error;
      return { response: tokenErrorResponse(error, true), code: error.code };
    }
  }
  if (pathname === '/crm' || pathname.startsWith('/crm/')) {
    // Before any object or Zoho call: another site's link or subresource gets nothing.
    if (crossSiteByMetadata(request)) return { response: jsonError(403, 'cross_site', 'cross-site navigation or subresource load refused') };
    const origin = request.headers.get('origin');
    const cors = origin && origin !== url.origin ? corsHeaders(origin, config.allowedOrigins) : null;
    if (method === 'OPTIONS') {
      return { response: cors ? new Response(null, { status: 204, headers: cors }) : jsonError(403, 'forbidden_origin', 'origin not allowed') };
    }
    if (origin && origin !== url.origin && !cors) {
      return { response: jsonError(403, 'forbidden_origin', 'origin not allowed') };
    }
    const { response, code } = await proxy(request, env, config);
    for (const [name, value] of Object.entries(cors ?? {})) response.headers.set(name, value);
    return { response, code };
  }
  return { response: jsonError(404, 'not_found', 'no such route') };
}

export default {
  async fetch(request, env): Promise<Response> {
    const requestId = crypto.randomUUID();
    const started = Date.now();
    let result: { response: Response; event?: string; code?: string; errorClass?: string };
    try {
      result = await route(request, env, requestId);
    } catch (error) {
      const errorClass = error instanceof Error ? error.name || error.constructor.name : typeof error;
      result = { response: jsonError(500, 'internal', 'something went wrong'), event: 'exception', errorClass };
    }
    const { response, event, code, errorClass } = result;
    log({ requestId, method: request.method, path: new URL(request.url).pathname, status: response.status, ms: Date.now() - started, event, code, errorClass });
    // Every /auth/* answer: its URL can hold a code and a state, which a referrer must not carry.
    if (new URL(request.url).pathname.startsWith('/auth/')) response.headers.set('referrer-policy', 'no-referrer');
    response.headers.set('x-request-id', requestId);
    return response;
  },
} satisfies ExportedHandler<Env>;
