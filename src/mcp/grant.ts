/**
 * An MCP grant's link to its Zoho user: the grant's `props` hold a token reference (the
 * user's object and their token's id, as API_KEYS do), never a Zoho token. Every CRM call of
 * a grant costs one call to that object, which hands out the current access token (refreshed
 * there, single-flight, for every grant and session of the user at once).
 */
import { sessionOf, tokenRefCaller, tokenRefString } from '../worker/callers.ts';
import { configOf } from '../worker/config.ts';
import type { Env } from '../worker/env.ts';
import { ask, userObject } from '../worker/objects.ts';
import { jsonError } from '../worker/http.ts';
import { envWithBindings, type ResolvedOptions } from '../worker/options.ts';
import type { McpScope } from './consent.ts';
import { crmCallAt } from '../worker/proxy.ts';

/** What an MCP grant keeps about its user: which token of which user object. No secret. */
export interface ZohoGrantProps {
  /** `<data center>/<user object>/<token id>`. */
  tokenRef: string;
  /** What the user allowed on our consent page: `crm.read`, and `crm.write` to create. */
  scope: McpScope[];
}

/** What a grant's CRM call says of the grant, beside Zoho's response: usable (`ok`), dead (the user must authorize again), `busy` (retry later) or `refused`. */
export type GrantState = 'ok' | 'dead' | 'busy' | 'refused';

/** The grant props for the user logged in by the request's session cookie, or null (no live session). One object call. */
export async function grantPropsOf(
  request: Request,
  env: Env,
  options: ResolvedOptions,
): Promise<{ props: Pick<ZohoGrantProps, 'tokenRef'>; userId: string } | null> {
  env = envWithBindings(env, options.bindings);
  const session = await sessionOf(request, env, configOf(env));
  const info = session && (await ask(userObject(env, session.ref), (s) => s.me(session.sessionId)));
  // No session, or one whose token Zoho refused since: the user logs in again before any grant.
  if (!session || !info || 'connection' in info) return null;
  return { props: { tokenRef: tokenRefString(session.ref, info.tokenId) }, userId: session.ref.name };
}

/**
 * A CRM call as the grant's user, through the same pipeline as `/crm/*` and `session.fetch()`
 * (path rule, header allowlist, body bound, `authorizeCrm`, refresh and retry once, no
 * redirect), answered with Zoho's headers (the tool reads it; nothing goes to a browser).
 * `dead`: Zoho no longer accepts the user's login (revoked, refresh token gone); `busy`: Zoho
 * or the store asks to wait (the answer's Retry-After says how long).
 */
export async function grantFetch(
  env: Env,
  props: ZohoGrantProps,
  path: string,
  init: RequestInit,
  options: ResolvedOptions,
): Promise<{ response: Response; grant: GrantState }> {
  env = envWithBindings(env, options.bindings);
  // A grant that may only read makes no call that writes, whatever tool asks (ours or the app's).
  const method = (init.method ?? 'GET').toUpperCase();
  if (!props.scope.includes('crm.write') && method !== 'GET' && method !== 'HEAD') {
    return { response: jsonError(403, 'insufficient_scope', 'this MCP grant may only read: the client must ask for crm.write'), grant: 'refused' };
  }
  const { response, code } = await crmCallAt(options, configOf(env), path, init, () => tokenRefCaller(env, props.tokenRef), 'raw');
  if (code === 'reauth_required' || code === 'unauthorized') return { response, grant: 'dead' };
  if (response.status === 503) return { response, grant: 'busy' };
  if (code !== undefined) return { response, grant: 'refused' };
  return { response, grant: 'ok' };
}
