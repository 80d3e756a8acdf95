/**
 * Login with Zoho, sessions, logout and revoke. Order matters in the callback: the state
 * (signed, expiring, bound to this browser by a cookie, single use) and the accounts server
 * are checked before the client secret goes anywhere.
 *
 * A session lives in its user's object, and the cookie names that object (signed), so every
 * session route is one call to one object. Cookies of the single-object layout (no object in
 * them) are found through the references the upgrade left, and re-issued in the new form.
 */
import { isTokenStoreError } from '../src/errors.ts';
import { callObject } from '../src/object-call.ts';
import type { OAuthToken, RefreshOptions } from '../src/types.ts';
import { isKnownAccountsServer, DATA_CENTERS, zohoOAuth, type ZohoOAuth } from '../src/zoho.ts';
import type { Config } from './config.ts';
import type { Env } from './env.ts';
import { clearCookie, htmlPage, readCookie, SESSION_COOKIE, setCookie, STATE_COOKIE } from './http.ts';
import { ask, refBucket, stateBucket, userObject, userObjectName } from './objects.ts';
import { randomId, sha256, sign, verify } from './signing.ts';

const STATE_TTL_MS = 10 * 60_000;

export interface AuthContext {
  env: Env;
  config: Config;
  request: Request;
  url: URL;
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
  const bucket = crypto.getRandomValues(new Uint32Array(1))[0]! % config.loginStateBuckets;
  const signed = `${nonce}.${expires}.${bucket}`;
  const state = `${signed}.${await sign(config.sessionSecret, 'state', signed)}`;
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

async function sessionCookie(config: Config, objectName: string, sessionId: string): Promise<string> {
  const value = `${objectName}.${sessionId}`;
  return setCookie(SESSION_COOKIE, `${value}.${await sign(config.sessionSecret, 'session', value)}`, config.sessionTtlSeconds);
}

export async function callback({ env, config, request, url }: AuthContext): Promise<{ response: Response; outcome: string }> {
  const params = url.searchParams;
  if (params.get('error')) return { response: refuse('Zoho did not grant access.'), outcome: 'denied' };

  // 1. State: signed by us, not expired, issued to this browser.
  const [nonce, expires, bucket, signature, extra] = (params.get('state') ?? '').split('.');
  const stateOk =
    !!nonce && !!expires && !!bucket && !!signature && extra === undefined &&
    Number(expires) > Date.now() &&
    (await verify(config.sessionSecret, 'state', `${nonce}.${expires}.${bucket}`, signature)) &&
    readCookie(request, STATE_COOKIE) === nonce;
  if (!stateOk) return { response: refuse('The login request was not started here, or it expired.'), outcome: 'bad_state' };

  // 2. The accounts server Zoho names must be a Zoho server, and this deployment's.
  const server = params.get('accounts-server') ?? '';
  if (!isKnownAccountsServer(server, config.accountsUrl) || new URL(server).origin !== accountsServer(config)) {
    return { response: refuse('The login came back from an accounts server this service does not use.'), outcome: 'bad_accounts_server' };
  }
  const code = params.get('code');
  if (!code) return { response: refuse('Zoho sent no authorization code.'), outcome: 'no_code' };

  // 3. Single use, in the bucket the state names. The claim makes a retried call idempotent.
  const claim = randomId(16);
  if (!(await callObject(stateBucket(env, Number(bucket)), (s) => s.consumeState(nonce!, Number(expires), claim)))) {
    return { response: refuse('This login link was already used.'), outcome: 'replayed_state' };
  }

  // 4. Exchange here (the user is unknown until Zoho names them), then one call to their object.
  const oauth = oauthFor(config, url);
  let objectName: string;
  let sessionId: string;
  try {
    const answer = await oauth.exchangeGrant(code);
    const userName = await oauth.currentUser(answer);
    objectName = await userObjectName(config.userObjectSecret, userName);
    // Safe to retry: the save finds the user's record by name, and an extra session just expires.
    ({ sessionId } = await ask(userObject(env, objectName), (s) => s.login(answer, userName, oauth.redirectUrl ?? null, config.sessionTtlSeconds)));
  } catch (error) {
    const code = isTokenStoreError(error) ? error.code : 'UNKNOWN';
    return { response: refuse('Zoho did not accept the login.'), outcome: `exchange_failed:${code}` };
  }
  const headers = new Headers({ location: config.appUrl, 'cache-control': 'no-store' });
  headers.append('set-cookie', await sessionCookie(config, objectName, sessionId));
  headers.append('set-cookie', clearCookie(STATE_COOKIE));
  return { response: new Response(null, { status: 302, headers }), outcome: 'logged_in' };
}

/** A session as the cookie names it; `renewCookie` is set when an old-layout cookie was found through its reference. */
export interface Session {
  objectName: string;
  sessionId: string;
  renewCookie?: string;
}

/** The session a cookie names, if its signature checks out (no storage call for forgeries). */
export async function sessionOf(request: Request, env: Env, config: Config): Promise<Session | null> {
  const cookie = readCookie(request, SESSION_COOKIE);
  if (!cookie) return null;
  const parts = cookie.split('.');
  if (parts.length === 3) {
    const [objectName, sessionId, signature] = parts as [string, string, string];
    if (!objectName.startsWith('u-') || !(await verify(config.sessionSecret, 'session', `${objectName}.${sessionId}`, signature))) return null;
    return { objectName, sessionId };
  }
  if (parts.length === 2) {
    // The single-object layout's cookie: its session moved with the upgrade; a reference says where.
    const [sessionId, signature] = parts as [string, string];
    if (!(await verify(config.sessionSecret, 'session', sessionId, signature))) return null;
    const key = `session:${await sha256(sessionId)}`;
    const objectName = await callObject(await refBucket(env, key), (s) => s.getRef(key));
    if (!objectName) return null;
    return { objectName, sessionId, renewCookie: await sessionCookie(config, objectName, sessionId) };
  }
  return null;
}

/**
 * The session's token, in one call to its object: as stored, or fresh (refreshed in the object,
 * single-flight) when `refresh` is given. Null without a live session. Safe to retry: a read,
 * or a refresh that re-checks what is stored before it calls Zoho.
 */
export function sessionToken(env: Env, session: Session, refresh: RefreshOptions | null): Promise<OAuthToken | null> {
  return ask(userObject(env, session.objectName), (s) => s.session(session.sessionId, refresh));
}

export function withRenewedCookie(response: Response, session: Session | null): Response {
  if (session?.renewCookie) response.headers.append('set-cookie', session.renewCookie);
  return response;
}

export async function logout({ env, config, request }: AuthContext): Promise<Response> {
  const session = await sessionOf(request, env, config);
  if (session) await ask(userObject(env, session.objectName), (s) => s.endSession(session.sessionId));
  return new Response(null, { status: 204, headers: { 'set-cookie': clearCookie(SESSION_COOKIE) } });
}

export async function revoke({ env, config, request }: AuthContext): Promise<Response> {
  const session = await sessionOf(request, env, config);
  // Safe to retry: once revoked and deleted, a repeat finds no session and answers 401.
  const revoked = session && (await ask(userObject(env, session.objectName), (s) => s.revokeSession(session.sessionId)));
  if (!revoked) return new Response(null, { status: 401 });
  return new Response(null, { status: 204, headers: { 'set-cookie': clearCookie(SESSION_COOKIE) } });
}

/** Refreshes the session's token now (single-flight); answers the new expiry, never the token. */
export async function refreshNow({ env, config, request }: AuthContext): Promise<Response> {
  const session = await sessionOf(request, env, config);
  const token = session && (await sessionToken(env, session, { skewMs: Number.POSITIVE_INFINITY }));
  if (!token) return new Response(null, { status: 401 });
  return withRenewedCookie(Response.json({ expiryTime: token.expiryTime }, { headers: { 'cache-control': 'no-store' } }), session);
}

/**
 * Who is logged in, for the page: the user's own name, data center and expiry; never a token.
 * `tokenRef` is what an operator puts in API_KEYS to give a server this user's token.
 */
export async function me({ env, config, request }: AuthContext): Promise<Response> {
  const session = await sessionOf(request, env, config);
  const token = session && (await sessionToken(env, session, null));
  if (!session || !token) return Response.json({ loggedIn: false }, { headers: { 'cache-control': 'no-store' } });
  const dataCenter = Object.entries(DATA_CENTERS).find(([, dc]) => dc.apiDomain === token.apiDomain)?.[0] ?? 'local';
  return withRenewedCookie(
    Response.json(
      { loggedIn: true, user: token.userName, dataCenter, apiDomain: token.apiDomain, expiryTime: token.expiryTime, tokenRef: `${session.objectName}/${token.id}` },
      { headers: { 'cache-control': 'no-store' } },
    ),
    session,
  );
}
