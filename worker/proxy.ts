/**
 * ANY /crm/* with the caller's token, to the token's API domain only. The caller names a
 * path on Zoho's CRM, never a host: paths with encoded separators, dot segments, `//`, `@`
 * or backslashes are refused, and the target must stay on an allowed API domain.
 * Authorization and cookies are stripped both ways; a 401 INVALID_TOKEN is refreshed
 * (single-flight) and retried once by the token manager.
 */
import { isTokenStoreError } from '../src/errors.ts';
import { createTokenManager } from '../src/token-manager.ts';
import type { TokenStore } from '../src/types.ts';
import { oauthFor, sessionToken } from './auth.ts';
import type { Config } from './config.ts';
import type { Env } from './env.ts';
import { jsonError, tokenErrorResponse } from './http.ts';
import { sha256 } from './signing.ts';

const REQUEST_HEADERS = ['accept', 'accept-language', 'content-type', 'if-modified-since', 'if-none-match', 'x-crm-org', 'x-external'];
const RESPONSE_HEADERS = ['content-type', 'etag', 'last-modified', 'cache-control', 'retry-after'];
/** /crm/v<n>/ then plain segments: letters, digits, _ - . , (no empty, no dot segments). */
const CRM_PATH = /^\/crm\/v\d+(\/(?!\.{1,2}(\/|$))[A-Za-z0-9_.,-]+)*\/?$/;

/** The raw path as sent, before URL parsing normalizes `..` or decodes anything. */
function rawPath(request: Request): string {
  const afterScheme = request.url.replace(/^[a-z]+:\/\/[^/]*/i, '');
  return afterScheme.split(/[?#]/, 1)[0] ?? '';
}

export function isSafeCrmPath(raw: string): boolean {
  if (/%|\\|@|\/\//.test(raw)) return false;
  return CRM_PATH.test(raw);
}

/** Who is calling: a session cookie, or a server API key (stored as its SHA-256). */
async function callerToken(request: Request, env: Env, config: Config): Promise<{ tokenId: string; viaSession: boolean } | null> {
  const authorization = request.headers.get('authorization');
  if (authorization?.startsWith('Bearer ')) {
    const tokenId = config.apiKeys.get(await sha256(authorization.slice('Bearer '.length)));
    return tokenId ? { tokenId, viaSession: false } : null;
  }
  const session = await sessionToken(request, env, config);
  return session && { tokenId: session.tokenId, viaSession: true };
}

export async function proxy(request: Request, env: Env, config: Config, store: TokenStore): Promise<{ response: Response; code?: string }> {
  const raw = rawPath(request);
  if (!isSafeCrmPath(raw)) return { response: jsonError(400, 'bad_path', 'not a CRM API path'), code: 'bad_path' };

  const caller = await callerToken(request, env, config);
  if (!caller) return { response: jsonError(401, 'unauthorized', 'log in first'), code: 'unauthorized' };

  const url = new URL(request.url);
  const headers = new Headers();
  for (const name of REQUEST_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) headers.set(name, value);
  }
  const hasBody = request.method !== 'GET' && request.method !== 'HEAD';
  const manager = createTokenManager({
    store,
    oauth: oauthFor(config, url),
    isAllowedApiDomain: (origin) => config.apiDomains.has(origin),
  });
  try {
    const upstream = await manager.fetchCrm({ id: caller.tokenId }, `${raw}${url.search}`, {
      method: request.method,
      headers,
      body: hasBody ? await request.arrayBuffer() : undefined,
      redirect: 'manual',
    });
    const out = new Headers();
    for (const name of RESPONSE_HEADERS) {
      const value = upstream.headers.get(name);
      if (value !== null) out.set(name, value);
    }
    return { response: new Response(upstream.body, { status: upstream.status, headers: out }) };
  } catch (error) {
    if (!isTokenStoreError(error)) throw error;
    return { response: tokenErrorResponse(error, caller.viaSession), code: error.code };
  }
}
