/**
 * One CRM call with an access token: to the token's own API domain only (and only an allowed
 * one), never following a redirect, and retried once with a fresh token when Zoho says the
 * access token is not (or no longer) valid. The token manager's `fetchCrm` and the Worker's
 * proxy both call through here; each says how to get a fresh token.
 */
import { TokenStoreError } from '../store/errors.ts';
import type { OAuthToken } from '../store/types.ts';
import { isRedirect } from './oauth.ts';

/** What a CRM call needs of a token: nothing else (no refresh token, no client secret). */
export type CrmAccess = Pick<OAuthToken, 'id' | 'accessToken' | 'apiDomain' | 'expiryTime'>;

export interface CrmCallOptions {
  token: CrmAccess;
  /** An absolute path on the token's API domain, with its query. */
  path: string;
  init?: RequestInit;
  isAllowedApiDomain: (origin: string) => boolean;
  /** A fresh token once Zoho has rejected `rejectedAccessToken` (single-flight where the token lives). */
  refresh: (rejectedAccessToken: string) => Promise<CrmAccess>;
  fetch?: typeof fetch;
}

/** Whether a CRM answer says the access token is not (or no longer) valid. */
async function isRejectedToken(response: Response): Promise<boolean> {
  if (response.status !== 401) return false;
  try {
    const body = (await response.clone().json()) as { code?: unknown };
    // INVALID_OAUTHTOKEN: pushed out by a 16th access token of the same refresh token.
    // (OAUTH_SCOPE_MISMATCH is a 401 too, but a refresh keeps the scopes: it is passed on as is.)
    return body.code === 'INVALID_TOKEN' || body.code === 'INVALID_OAUTHTOKEN' || body.code === 'AUTHENTICATION_FAILURE';
  } catch {
    return false;
  }
}

/** The access token and API domain a call needs; a token without them is Zoho's fault (ZOHO_BAD_RESPONSE). */
export function usable(token: CrmAccess): { accessToken: string; apiDomain: string } {
  if (!token.accessToken || !token.apiDomain) throw new TokenStoreError('ZOHO_BAD_RESPONSE', 'the token has no access token or API domain');
  return { accessToken: token.accessToken, apiDomain: token.apiDomain };
}

export async function callCrm({
  token,
  path,
  init = {},
  isAllowedApiDomain,
  refresh,
  fetch: doFetch = (input, i) => fetch(input, i),
}: CrmCallOptions): Promise<Response> {
  const first = usable(token);
  const apiOrigin = new URL(first.apiDomain).origin;
  if (!isAllowedApiDomain(apiOrigin)) throw new TokenStoreError('INVALID_INPUT', 'fetchCrm: the token names an API domain that is not allowed');
  const target = new URL(path, apiOrigin);
  if (target.origin !== apiOrigin || !path.startsWith('/'))
    throw new TokenStoreError('INVALID_INPUT', "fetchCrm: path must be an absolute path on the token's API domain");
  // A streamed body cannot be sent twice; buffer it so the retry can resend it.
  const body = init.body instanceof ReadableStream ? await new Response(init.body).arrayBuffer() : init.body;
  // A redirect is not followed unless the caller asks: following would carry the access
  // token (and the body) to wherever it points.
  const redirect = init.redirect ?? 'manual';
  const send = async (accessToken: string) => {
    const headers = new Headers(init.headers);
    headers.set('authorization', `Zoho-oauthtoken ${accessToken}`);
    const response = await doFetch(target.toString(), { ...init, body, headers, redirect });
    if (init.redirect === undefined && isRedirect(response))
      throw new TokenStoreError('ZOHO_BAD_RESPONSE', 'fetchCrm: the CRM answered with a redirect; it was not followed');
    return response;
  };
  const response = await send(first.accessToken);
  if (!(await isRejectedToken(response))) return response;
  const second = usable(await refresh(first.accessToken));
  // The retry goes to the same target: a refreshed token of another API domain is not followed there.
  if (new URL(second.apiDomain).origin !== apiOrigin) throw new TokenStoreError('ZOHO_BAD_RESPONSE', 'the refreshed token names another API domain');
  return send(second.accessToken);
}
