/**
 * Login with Zoho, sessions, logout and revoke. Order matters in the callback: the state
 * (signed, expiring, bound to this browser by a cookie, single use) and the accounts server
 * are checked before the client secret goes anywhere.
 *
 * A session lives in its user's object, and the cookie names that object, the data center
 * that placed it and the session's expiry (signed), so every session route is one call to one
 * object. Users of every served data center log in here.
 */
import { isTokenStoreError } from '../store/errors.ts';
import { callObject } from '../backends/object-call.ts';
import { DATA_CENTERS, dataCenterAt } from '../zoho/data-centers.ts';
import { pkceChallenge, zohoOAuth, type ZohoOAuth, type ZohoTokens } from '../zoho/oauth.ts';
import { sessionCookie, sessionOf, tokenRefString } from './callers.ts';
import type { Config } from './config.ts';
import { landingPath, type ResolvedOptions } from './options.ts';
import { writeMetric } from './metrics.ts';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from '../store/encoding.ts';
import type { Env } from './env.ts';
import { clearCookie, htmlPage, readCookie, SESSION_COOKIE, setCookie, STATE_COOKIE } from './http.ts';
import { ask, stateBucket, userObject, userObjectName, type UserRef } from './objects.ts';
import { constantTimeEqual, randomId, sign, verify } from './signing.ts';

const STATE_TTL_MS = 10 * 60_000;
/**
 * Logins one browser may have under way at once (tabs, a retry): the state cookie holds the
 * secrets of the latest few, so a second login does not break the first, and a page that
 * starts logins in a loop cannot grow the cookie.
 */
export const MAX_PENDING_LOGINS = 5;

/**
 * A login is bound to its browser by a random secret that only the state cookie holds. The
 * state (which travels through Zoho and the callback URL) carries a keyed hash of it, and the
 * PKCE verifier and the OpenID Connect nonce derive from it: a callback URL seen elsewhere
 * (history, logs, a referrer) is worth nothing without the cookie.
 */
const loginBinding = (config: Config, secret: string) => sign(config.sessionSecret, 'login-binding', secret);
/** The PKCE verifier: a victim's code injected into another login fails at Zoho, where Zoho checks PKCE. */
const pkceVerifier = (config: Config, secret: string) => sign(config.sessionSecret, 'pkce', secret);
/** The ID token's nonce: a victim's code injected into another login is refused here, whatever Zoho does with PKCE. */
const oidcNonce = (config: Config, secret: string) => sign(config.sessionSecret, 'oidc-nonce', secret);

/** The secrets of this browser's logins under way, oldest first. */
const pendingSecrets = (request: Request) => (readCookie(request, STATE_COOKIE) ?? '').split('.').filter(Boolean);

/** The state cookie holding `secrets`, or clearing it when none are left. */
const stateCookie = (secrets: string[]) => (secrets.length > 0 ? setCookie(STATE_COOKIE, secrets.join('.'), STATE_TTL_MS / 1000) : clearCookie(STATE_COOKIE));

/** The pending login whose binding the state names, if this browser holds its secret. */
async function pendingLogin(config: Config, request: Request, binding: string): Promise<string | null> {
  for (const secret of pendingSecrets(request)) if (constantTimeEqual(await loginBinding(config, secret), binding)) return secret;
  return null;
}

/** The scopes asked at login, with `email`, which makes Zoho answer an ID token (its "Sign in using Zoho" page). */
function loginScope(scope: string): string {
  const scopes = scope
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return scopes.some((s) => s === 'email' || s === 'openid') ? scopes.join(',') : [...scopes, 'email'].join(',');
}

export interface AuthContext {
  env: Env;
  config: Config;
  options: ResolvedOptions;
  request: Request;
  url: URL;
}

/**
 * Users of every served data center sign in through one client; each token goes back to its
 * own. The redirect URI is configuration (ZOHO_REDIRECT_URL), or with a local Zoho this
 * origin's callback under the base path.
 */
export function oauthFor({ config, options, url }: Pick<AuthContext, 'config' | 'options' | 'url'>): ZohoOAuth {
  return zohoOAuth({
    dataCenter: 'any',
    dataCenters: config.zoho.table,
    clientId: config.clientId,
    clientSecret: config.clientSecret,
    redirectUrl: config.redirectUrl ?? `${url.origin}${options.basePath}/auth/callback`,
  });
}

export async function login(context: AuthContext): Promise<Response> {
  const { config, options, request, url } = context;
  const secret = randomId(16);
  const expires = Date.now() + STATE_TTL_MS;
  const bucket = crypto.getRandomValues(new Uint32Array(1))[0]! % config.loginStateBuckets;
  // Where this login lands: `?return_to=` when it is a safe path on this origin, carried (signed) in the state.
  const landing = landingPath(url.searchParams.get('return_to'));
  const signed = `${await loginBinding(config, secret)}.${expires}.${bucket}.${landing === null ? '' : toBase64Url(utf8.encode(landing))}`;
  const state = `${signed}.${await sign(config.sessionSecret, 'state', signed)}`;
  // China's users must start at accounts.zoho.com.cn, not the global sign-in: /auth/login?dc=cn.
  const signInAt = url.searchParams.get('dc') === 'cn' && config.zoho.served.includes('cn') ? 'cn' : undefined;
  const location = oauthFor(context).authorizationUrl({
    scope: loginScope(options.scope ?? config.scope),
    state,
    signInAt,
    codeChallenge: await pkceChallenge(await pkceVerifier(config, secret)),
    nonce: await oidcNonce(config, secret),
  });
  return new Response(null, {
    status: 302,
    headers: { location, 'set-cookie': stateCookie([...pendingSecrets(request), secret].slice(-MAX_PENDING_LOGINS)), 'cache-control': 'no-store' },
  });
}

/** A failed login's page. Other logins under way in this browser keep their secrets. */
function refuse(message: string, status = 400, headers?: HeadersInit): Response {
  return htmlPage(status, 'Login failed', `${message} Please start the login again.`, headers);
}

/**
 * The callback limiter's key for a client address: an IPv4 address as it is, an IPv6 address by
 * its /64, the block one subscriber usually holds (counting each of its 2^64 addresses apart
 * would limit nothing).
 */
export function limiterKey(address: string): string {
  const plain = address.replace(/%.*$/, '').toLowerCase();
  if (!plain.includes(':')) return plain;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(plain);
  if (mapped) return mapped[1]!;
  const groupsOf = (part: string) => (part === '' ? [] : part.split(':')).flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const [head = '', tail] = plain.split('::', 2);
  const left = groupsOf(head);
  const right = tail === undefined ? [] : groupsOf(tail);
  const groups = [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right];
  return `${groups
    .slice(0, 4)
    .map((g) => (Number.parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

/**
 * Whether the request's client address is past `limiter`'s rate, counted apart per `scope`
 * (`callback`, `admin`, an MCP endpoint). Cloudflare sets cf-connecting-ip; without it (local
 * runs) or without the binding there is nothing to count.
 */
export async function pastRateLimit(limiter: RateLimit | undefined, request: Request, scope: string): Promise<boolean> {
  const address = request.headers.get('cf-connecting-ip');
  return !!limiter && !!address && !(await limiter.limit({ key: `${scope}:${limiterKey(address)}` })).success;
}

/** A grant code as Zoho issues them (`1000.<hex>.<hex>`), loosely: anything else is not sent to Zoho. */
const CODE_SHAPE = /^[A-Za-z0-9._-]{8,256}$/;

export async function callback(context: AuthContext): Promise<{ response: Response; event: string }> {
  const { env, config, request, url } = context;
  const params = url.searchParams;
  if (params.get('error')) return { response: refuse('Zoho did not grant access.'), event: 'denied' };
  const code = params.get('code');
  if (code !== null && !CODE_SHAPE.test(code)) return { response: refuse('Zoho sent no usable authorization code.'), event: 'bad_code' };
  // Each callback may send the client secret to Zoho: a client address gets a few per minute.
  if (await pastRateLimit(env.CALLBACK_LIMITER, request, 'callback')) {
    return { response: refuse('Too many login attempts from here; wait a minute.', 429, { 'retry-after': '60' }), event: 'rate_limited' };
  }

  // 1. State: signed by us, not expired, and bound to a secret this browser's cookie holds.
  // `<binding>.<expiry>.<bucket>.<landing>.<signature>`, the binding a keyed hash of the secret.
  const parts = (params.get('state') ?? '').split('.');
  const signature = parts.pop();
  const [binding, expires, bucket, landing, extra] = parts;
  const signedOk =
    !!binding &&
    !!expires &&
    !!bucket &&
    landing !== undefined &&
    !!signature &&
    extra === undefined &&
    Number(expires) > Date.now() &&
    (await verify(config.sessionSecret, 'state', parts.join('.'), signature));
  const secret = signedOk ? await pendingLogin(config, request, binding!) : null;
  if (!secret) return { response: refuse('The login request was not started here, or it expired.'), event: 'bad_state' };
  // From here on this login is over, whatever the outcome: its secret leaves the cookie.
  const finished = await checkedCallback(context, { secret, binding: binding!, expires: Number(expires), bucket: Number(bucket), landing: landing! });
  finished.response.headers.append('set-cookie', stateCookie(pendingSecrets(request).filter((s) => s !== secret)));
  return finished;
}

/** A login whose state checked out: its secret (from the cookie), and what its state said. */
interface PendingLogin {
  secret: string;
  binding: string;
  expires: number;
  bucket: number;
  /** base64url of the landing path, or empty for the default. */
  landing: string;
}

/** Where a finished login goes: the path its state carried, if it is (still) a safe one, else the default. */
function landingOf(context: AuthContext, landing: string): string {
  let carried: string | null = null;
  try {
    carried = landing ? landingPath(fromUtf8.decode(fromBase64Url(landing))) : null;
  } catch {
    carried = null;
  }
  return carried ?? context.options.appUrl ?? context.config.appUrl;
}

/**
 * Where a user whose connection died logs in again (the events' `reconnectUrl`): this Worker's
 * login route, landing at the app's page; China's users start at their own sign-in.
 */
function reconnectUrlOf({ url, options, config }: AuthContext, dataCenter: string): string {
  const query = new URLSearchParams({ return_to: options.appUrl ?? config.appUrl });
  if (dataCenter === 'cn') query.set('dc', 'cn');
  return `${url.origin}${options.basePath}/auth/login?${query}`;
}

/** The callback past its state check: the accounts server, the code, the exchange, the session. */
async function checkedCallback(context: AuthContext, login: PendingLogin): Promise<{ response: Response; event: string }> {
  const { env, config, options, request, url } = context;
  const params = url.searchParams;

  // 2. The accounts server Zoho names must be the accounts server of a data center served here.
  const server = params.get('accounts-server') ?? '';
  const dataCenter = dataCenterAt(server, 'accounts', config.zoho.table);
  if (!dataCenter) {
    // Zoho's, but not served here: say which one.
    const elsewhere = dataCenterAt(server, 'accounts');
    if (elsewhere) {
      const message = `Your Zoho account is in Zoho's ${DATA_CENTERS[elsewhere].name} data center, which this service does not serve. Ask its operator to add it.`;
      return { response: refuse(message), event: 'data_center_not_served' };
    }
    return { response: refuse('The login came back from an accounts server this service does not use.'), event: 'bad_accounts_server' };
  }
  const code = params.get('code');
  if (!code) return { response: refuse('Zoho sent no authorization code.'), event: 'no_code' };
  // The answer's headers are made before anything is stored: nothing in them can fail later.
  const headers = new Headers({ location: landingOf(context, login.landing), 'cache-control': 'no-store' });

  // 3. Single use, in the bucket the state names. The claim makes a retried call idempotent.
  const claim = randomId(16);
  if (!(await callObject(stateBucket(env, login.bucket), (s) => s.consumeState(login.binding, login.expires, claim)))) {
    return { response: refuse('This login link was already used.'), event: 'replayed_state' };
  }

  // 4. Exchange here (the user is unknown until Zoho names them), then one call to their object.
  // The verifier answers this login's PKCE challenge, and the answer's ID token must carry this
  // login's nonce: a code from another login is refused at Zoho, or here if Zoho ignores PKCE.
  const oauth = oauthFor(context);
  let ref: UserRef;
  let session: { sessionId: string; expiresAt: number };
  let answer: ZohoTokens | undefined;
  // A login that fails after the exchange must not leave its new refresh token live at Zoho:
  // revoked at the server that issued it (best effort).
  const revokeFresh = async () => {
    if (answer?.refreshToken) await oauth.revoke(answer.refreshToken, { apiDomain: config.zoho.table[dataCenter]!.apiDomain }).catch(() => undefined);
  };
  try {
    answer = await oauth.exchangeGrant(code, {
      accountsServer: server,
      codeVerifier: await pkceVerifier(config, login.secret),
      nonce: await oidcNonce(config, login.secret),
    });
    if (oauth.dataCenterOf(answer.apiDomain) !== dataCenter) {
      await revokeFresh();
      return { response: refuse('Zoho answered for another data center than it named.'), event: 'api_domain_mismatch' };
    }
    const userName = await oauth.currentUser(answer);
    // Their object is placed by their data center: an EU user's stays in the EU.
    ref = { dataCenter, name: await userObjectName(config.userObjectSecret, userName) };
    const allowed = options.onLogin ? await options.onLogin({ dataCenter, user: ref.name, userName, request }) : true;
    if (allowed !== true) {
      await revokeFresh();
      // The app's own answer, copied so its headers can be added to (Response.redirect's cannot).
      const response = allowed instanceof Response ? new Response(allowed.body, allowed) : refuse('This service does not accept this Zoho account.');
      return { response, event: 'refused_by_app' };
    }
    // The object keeps the tokens, not the ID token (it names the user's email).
    const tokens: ZohoTokens = {
      accessToken: answer.accessToken,
      refreshToken: answer.refreshToken,
      apiDomain: answer.apiDomain,
      expiryTime: answer.expiryTime,
    };
    // Safe to retry: the save finds the user's record by name, and an extra session just expires.
    const reconnectUrl = reconnectUrlOf(context, dataCenter);
    session = await ask(userObject(env, ref), (s) =>
      s.login({ tokens, userName, user: ref.name, redirectUrl: oauth.redirectUrl ?? null, ttlSeconds: config.sessionTtlSeconds, dataCenter, reconnectUrl }),
    );
  } catch (error) {
    const code = isTokenStoreError(error) ? error.code : 'UNKNOWN';
    // Every failure revokes what it was given: a refresh token stored nowhere would still count
    // toward Zoho's 20 per user and client, and the 21st deletes the oldest, which may be the
    // one stored. Zoho busy (its CRM concurrency limit while naming the user, an outage): the
    // user may simply try again, told so.
    await revokeFresh();
    if (code === 'ZOHO_RATE_LIMITED' || code === 'ZOHO_UNAVAILABLE') {
      const wait = Math.ceil(((isTokenStoreError(error) ? error.retryAfterMs : undefined) ?? 1_000) / 1000);
      return { response: refuse('Zoho is busy right now; wait a moment.', 503, { 'retry-after': String(wait) }), event: `exchange_failed:${code}` };
    }
    const message =
      code === 'ZOHO_SCOPE_MISMATCH'
        ? 'The login did not grant the access this service asks for. Please accept every permission.'
        : 'Zoho did not accept the login.';
    return { response: refuse(message), event: `exchange_failed:${code}` };
  }
  writeMetric(config.metrics, 'login', 'ok', dataCenter);
  headers.append('set-cookie', await sessionCookie(config, ref, session.sessionId, session.expiresAt));
  return { response: new Response(null, { status: 302, headers }), event: 'logged_in' };
}

export async function logout({ env, config, request }: AuthContext): Promise<Response> {
  const session = await sessionOf(request, env, config);
  if (session) await ask(userObject(env, session.ref), (s) => s.endSession(session.sessionId));
  return new Response(null, { status: 204, headers: { 'set-cookie': clearCookie(SESSION_COOKIE) } });
}

export async function revoke({ env, config, request }: AuthContext): Promise<Response> {
  const session = await sessionOf(request, env, config);
  // Safe to retry: once revoked and deleted, a repeat finds no session and answers 401.
  const revoked = session && (await ask(userObject(env, session.ref), (s) => s.revokeSession(session.sessionId)));
  if (!revoked) return new Response(null, { status: 401 });
  return new Response(null, { status: 204, headers: { 'set-cookie': clearCookie(SESSION_COOKIE) } });
}

/**
 * Refreshes the session's token now (single-flight), at most once per interval per user
 * (FORCED_REFRESH_INTERVAL_MS): within it, the current expiry with `refreshed: false`.
 * Answers the expiry, never the token; `retry-after` says when the next forced refresh may run.
 */
export async function refreshNow({ env, config, request }: AuthContext): Promise<Response> {
  const session = await sessionOf(request, env, config);
  // Safe to retry: within the interval a repeat answers the token as it is.
  const answer = session && (await ask(userObject(env, session.ref), (s) => s.refreshSession(session.sessionId)));
  if (!answer) return new Response(null, { status: 401 });
  const { expiryTime, refreshed, retryAfterMs } = answer;
  const headers = { 'cache-control': 'no-store', 'retry-after': String(Math.ceil(retryAfterMs / 1000)) };
  return Response.json({ expiryTime, refreshed }, { headers });
}

/**
 * Who is logged in, for the page: the user's own name, data center and expiry; never a token.
 * `tokenRef` (`<data center>/<object name>/<token id>`) is what an operator puts in API_KEYS
 * to give a server this user's token.
 */
export async function me({ env, config, request }: AuthContext): Promise<Response> {
  const session = await sessionOf(request, env, config);
  const info = session && (await ask(userObject(env, session.ref), (s) => s.me(session.sessionId)));
  if (!session || !info) return Response.json({ loggedIn: false }, { headers: { 'cache-control': 'no-store' } });
  // Zoho refused the session's token since (the app was removed, the user deactivated): the page asks them to log in again.
  if ('connection' in info) return Response.json({ loggedIn: false, connection: info.connection }, { headers: { 'cache-control': 'no-store' } });
  const { dataCenter } = session.ref;
  return Response.json(
    {
      loggedIn: true,
      user: info.userName,
      dataCenter,
      dataCenterName: DATA_CENTERS[dataCenter].name,
      apiDomain: info.apiDomain,
      expiryTime: info.expiryTime,
      tokenRef: tokenRefString(session.ref, info.tokenId),
    },
    { headers: { 'cache-control': 'no-store' } },
  );
}
