/**
 * The logged-in user of a request, for an app's own routes: who (data center, the keyed hash
 * naming their object) and `fetch`, a CRM call as them through the same pipeline as `/crm/*`.
 *
 * Cost: one call to the user's object, made here: it says whether the session is still live
 * and hands back a fresh access token, which the route's first `fetch` uses. A route that
 * calls Zoho once costs one object call in all, as `/crm/*` does.
 */
import { isTokenStoreError, type TokenStoreError } from '../store/errors.ts';
import { sessionCaller, sessionOf, type Caller } from './callers.ts';
import { configOf } from './config.ts';
import type { Env } from './env.ts';
import { crossSiteRefused, tokenErrorResponse } from './http.ts';
import { envWithBindings, resolveOptions, type ResolvedOptions, type ZohoCaller, type ZohoSessionOptions } from './options.ts';
import { crmCallAt, type CrmResponseHeaders } from './proxy.ts';

export interface ZohoSession extends ZohoCaller {
  /**
   * Calls Zoho CRM as this user, exactly as `/crm/*` would: `path` is a CRM path with its query
   * (`/crm/v8/Leads?fields=Last_Name`), sent to the user's own API domain with their access
   * token, refreshed and retried once if Zoho rejects it, never following a redirect; only the
   * allowlisted headers of `init` and a bounded body go on; the handler's `authorizeCrm` runs
   * first. The answer is hardened for a browser (`nosniff`, a sandbox CSP, `attachment` for
   * anything but JSON, `private, no-store`): return it from a route as it is. A refused path,
   * a hook saying no, an ended login and Zoho's rate limit answer 400, 403, 401 and 503.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /**
   * The same call, answering with Zoho's own headers (its content type and cache headers, no
   * hardening). For a route that reads the answer on the server; never return it to a browser
   * as it is: an attachment would then run as a page of your origin.
   */
  fetchRaw(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * The live session of the request's cookie, or null: no cookie, a forged or expired one, a
 * session that ended (logout, revoke, erase, idle purge), a login Zoho no longer accepts, a
 * tossed look-alike cookie, or (unless `allowCrossSite`) a request another site made. Its CRM
 * calls follow `options` (hooks, bindings) and nothing else: give it the options your handler
 * has, or use the handler's own `session()`, which closes over them.
 *
 * ```ts
 * const session = await getZohoSession(request, env, { authorizeCrm });
 * if (session) return session.fetch('/crm/v8/Leads?fields=Last_Name');
 * ```
 */
export async function getZohoSession(request: Request, env: Env, options: ZohoSessionOptions): Promise<ZohoSession | null> {
  return sessionWith(request, env, resolveOptions(options));
}

/** The session lookup with options already checked (a handler's `session()` passes its own). */
export async function sessionWith(request: Request, env: Env, resolved: ResolvedOptions): Promise<ZohoSession | null> {
  env = envWithBindings(env, resolved.bindings);
  const config = configOf(env);
  if (!resolved.allowCrossSite && crossSiteRefused(request, new URL(request.url), config.allowedOrigins)) return null;
  const session = await sessionOf(request, env, config);
  if (!session) return null;
  // The one object call: is the session live, and its token. A transient fault (Zoho or the
  // object busy) is not an ended session: the route's calls answer it, with its wait.
  let who: Caller | null;
  let fault: TokenStoreError | null = null;
  try {
    who = await sessionCaller(env, session);
  } catch (error) {
    if (!isTokenStoreError(error)) throw error;
    if (error.code === 'REAUTH_REQUIRED' || error.code === 'NOT_FOUND') return null;
    who = null;
    fault = error;
  }
  if (!who && !fault) return null;

  const call = async (path: string, init: RequestInit, responseHeaders: CrmResponseHeaders): Promise<Response> => {
    if (fault) return tokenErrorResponse(fault, false);
    return (await crmCallAt(resolved, config, path, init, async () => who, responseHeaders)).response;
  };
  return {
    dataCenter: session.ref.dataCenter,
    user: session.ref.name,
    fetch: (path, init = {}) => call(path, init, 'hardened'),
    fetchRaw: (path, init = {}) => call(path, init, 'raw'),
  };
}
