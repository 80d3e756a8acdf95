/**
 * Login with Zoho, sessions, logout and revoke. Order matters in the callback: the state
 * (signed, expiring, bound to this browser by a cookie, single use) and the accounts server
 * are checked before the client secret goes anywhere.
 */
import { isKnownAccountsServer, DATA_CENTERS, zohoOAuth, type ZohoOAuth } from '../src/zoho.ts';
import { isTokenStoreError } from '../src/errors.ts';
import { createTokenManager } from '../src/token-manager.ts';
import type { TokenStore } from '../src/types.ts';
import type { Config } from './config.ts';
import type { Env } from './env.ts';
import { clearCookie, htmlPage, readCookie, SESSION_COOKIE, setCookie, STATE_COOKIE } from './http.ts';
import { randomId, sign, verify } from './signing.ts';

const STATE_TTL_MS = 10 * 60_000;

export interface AuthContext {
  env: Env;
  config: Config;
  store: TokenStore;
  request: Request;
  url: URL;
}

function sessions(env: Env) {
  return env.SESSIONS.get(env.SESSIONS.idFromName('sessions'));
}

/** The accounts server this deployment exchanges codes with. */
function accountsServer(config: Config): string {
  return config.accountsUrl ?? DATA_CENTERS[config.dataCenter].accounts;
}

export function oauthFor(config: Config, url: URL): ZohoOAuth {
  return zohoOAuth({
    accountsUrl: accountsServer(config),
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    redirectUrl: config.redirectUrl ?? `${url.origin}/auth/callback`,
  });
}

export async function login({ config, url }: AuthContext): Promise<Response> {
  const nonce = randomId(16);
  const expires = Date.now() + STATE_TTL_MS;
  const state = `${nonce}.${expires}.${await sign(config.sessionSecret, 'state', `${nonce}.${expires}`)}`;
  const location = oauthFor(config, url).authorizationUrl({ scope: config.scope, state });
  return new Response(null, {
    status: 302,
    headers: { location, 'set-cookie': setCookie(STATE_COOKIE, nonce, STATE_TTL_MS / 1000), 'cache-control': 'no-store' },
  });
}

function refuse(message: string): Response {
  const response = htmlPage(400, 'Login failed', `${message} Please start the login again.`);
  response.headers.append('set-cookie', clearCookie(STATE_COOKIE));
  return response;
}

export async function callback({ env, config, store, request, url }: AuthContext): Promise<{ response: Response; outcome: string }> {
  const params = url.searchParams;
  if (params.get('error')) return { response: refuse('Zoho did not grant access.'), outcome: 'denied' };

  // 1. State: signed by us, not expired, issued to this browser.
  const [nonce, expires, signature] = (params.get('state') ?? '').split('.');
  const stateOk =
    !!nonce && !!expires && !!signature &&
    Number(expires) > Date.now() &&
    (await verify(config.sessionSecret, 'state', `${nonce}.${expires}`, signature)) &&
    readCookie(request, STATE_COOKIE) === nonce;
  if (!stateOk) return { response: refuse('The login request was not started here, or it expired.'), outcome: 'bad_state' };

  // 2. The accounts server Zoho names must be a Zoho server, and this deployment's.
  const server = params.get('accounts-server') ?? '';
  if (!isKnownAccountsServer(server, config.accountsUrl) || new URL(server).origin !== accountsServer(config)) {
    return { response: refuse('The login came back from an accounts server this service does not use.'), outcome: 'bad_accounts_server' };
  }
  const code = params.get('code');
  if (!code) return { response: refuse('Zoho sent no authorization code.'), outcome: 'no_code' };

  // 3. Single use: a replayed state stops here.
  if (!(await sessions(env).consumeState(nonce!, Number(expires)))) {
    return { response: refuse('This login link was already used.'), outcome: 'replayed_state' };
  }

  const manager = createTokenManager({ store, oauth: oauthFor(config, url) });
  let tokenId: string;
  try {
    tokenId = (await manager.exchangeGrant(code)).id;
  } catch (error) {
    const code = isTokenStoreError(error) ? error.code : 'UNKNOWN';
    return { response: refuse('Zoho did not accept the login.'), outcome: `exchange_failed:${code}` };
  }
  const sessionId = await sessions(env).start(tokenId, config.sessionTtlSeconds);
  const cookie = `${sessionId}.${await sign(config.sessionSecret, 'session', sessionId)}`;
  const headers = new Headers({ location: config.appUrl, 'cache-control': 'no-store' });
  headers.append('set-cookie', setCookie(SESSION_COOKIE, cookie, config.sessionTtlSeconds));
  headers.append('set-cookie', clearCookie(STATE_COOKIE));
  return { response: new Response(null, { status: 302, headers }), outcome: 'logged_in' };
}

/** The session id from a cookie whose signature checks out, or null (no storage call for forgeries). */
export async function sessionIdOf(request: Request, config: Config): Promise<string | null> {
  const cookie = readCookie(request, SESSION_COOKIE);
  if (!cookie) return null;
  const [id, signature] = cookie.split('.');
  if (!id || !signature || !(await verify(config.sessionSecret, 'session', id, signature))) return null;
  return id;
}

/** The token id a live session names, or null. */
export async function sessionToken(request: Request, env: Env, config: Config): Promise<{ sessionId: string; tokenId: string } | null> {
  const sessionId = await sessionIdOf(request, config);
  if (!sessionId) return null;
  const tokenId = await sessions(env).resolve(sessionId);
  return tokenId ? { sessionId, tokenId } : null;
}

export async function logout({ env, config, request }: AuthContext): Promise<Response> {
  const sessionId = await sessionIdOf(request, config);
  if (sessionId) await sessions(env).end(sessionId);
  return new Response(null, { status: 204, headers: { 'set-cookie': clearCookie(SESSION_COOKIE) } });
}

export async function revoke({ env, config, store, request, url }: AuthContext): Promise<Response> {
  const session = await sessionToken(request, env, config);
  if (!session) return new Response(null, { status: 401 });
  await createTokenManager({ store, oauth: oauthFor(config, url) }).revoke({ id: session.tokenId });
  await sessions(env).endAllFor(session.tokenId);
  return new Response(null, { status: 204, headers: { 'set-cookie': clearCookie(SESSION_COOKIE) } });
}

/** Refreshes the session's token now (single-flight); answers the new expiry, never the token. */
export async function refreshNow({ env, config, store, request, url }: AuthContext): Promise<Response> {
  const session = await sessionToken(request, env, config);
  if (!session) return new Response(null, { status: 401 });
  const { token } = await createTokenManager({ store, oauth: oauthFor(config, url) }).refreshNow({ id: session.tokenId });
  return Response.json({ expiryTime: token.expiryTime }, { headers: { 'cache-control': 'no-store' } });
}

/** Who is logged in, for the page: the user's own name, data center and expiry; never a token. */
export async function me({ env, config, store, request }: AuthContext): Promise<Response> {
  const session = await sessionToken(request, env, config);
  const token = session && (await store.findTokenById(session.tokenId));
  if (!token) return Response.json({ loggedIn: false }, { headers: { 'cache-control': 'no-store' } });
  const dataCenter = Object.entries(DATA_CENTERS).find(([, dc]) => dc.apiDomain === token.apiDomain)?.[0] ?? 'local';
  return Response.json(
    { loggedIn: true, user: token.userName, dataCenter, apiDomain: token.apiDomain, expiryTime: token.expiryTime },
    { headers: { 'cache-control': 'no-store' } },
  );
}
