/**
 * The logged-in user of a request, for an app's own routes: who (data center, the keyed hash
 * naming their object) and `fetch`, a CRM call as them with the guards of `/crm/*`.
 */
import { callCrm } from '../zoho/crm-call.ts';
import { isTokenStoreError } from '../store/errors.ts';
import { crmAllowed, sessionCaller, sessionOf } from './callers.ts';
import { configOf } from './config.ts';
import type { Env } from './env.ts';
import { jsonError, tokenErrorResponse } from './http.ts';
import { envWithBindings, resolveOptions, type ZohoCaller, type ZohoWorkerOptions } from './options.ts';
import { isSafeCrmPath } from './proxy.ts';

export interface ZohoSession extends ZohoCaller {
  /**
   * Calls Zoho CRM as this user: `path` is a CRM path with its query (`/crm/v8/Leads?fields=
   * Last_Name`), sent to the user's own API domain with their access token, refreshed and
   * retried once if Zoho rejects it; never a redirect. One call to the user's object (two
   * when Zoho rejected the token). Zoho's answer as it came; a session that ended, a refused
   * path or the app's `authorizeCrm` saying no answer 401, 400 and 403, as `/crm/*` does.
   */
  fetch(path: string, init?: RequestInit): Promise<Response>;
}

/**
 * The session the request's cookie names, checked by its signature alone (no storage call):
 * null without one. Whether it is still live shows at the first `fetch`.
 */
export async function getZohoSession(request: Request, env: Env, options?: ZohoWorkerOptions): Promise<ZohoSession | null> {
  const resolved = resolveOptions(options);
  env = envWithBindings(env, resolved.bindings);
  const session = await sessionOf(request, env, configOf(env));
  if (!session) return null;
  const { ref } = session;
  return {
    dataCenter: ref.dataCenter,
    user: ref.name,
    async fetch(path, init = {}) {
      if (typeof path !== 'string' || !isSafeCrmPath(path.split('?', 1)[0]!)) return jsonError(400, 'bad_path', 'not a CRM API path');
      const config = configOf(env);
      try {
        const who = await sessionCaller(env, session);
        if (!who) return jsonError(401, 'unauthorized', 'log in first');
        if (!(await crmAllowed(resolved, who, init.method ?? 'GET', path))) return jsonError(403, 'forbidden', 'this call is not allowed for this user');
        return await callCrm({ token: who.token, path, init, isAllowedApiDomain: (origin) => config.apiDomains.has(origin), refresh: who.refresh });
      } catch (error) {
        if (!isTokenStoreError(error)) throw error;
        return tokenErrorResponse(error, false);
      }
    },
  };
}
