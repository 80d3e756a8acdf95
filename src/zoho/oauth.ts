/**
 * Zoho OAuth client: authorization URL, grant exchange, refresh, revoke and the current
 * user, for one data center, an explicit accounts URL (tests, the local Zoho), or every data
 * center at once (`'any'`): then each token is refreshed and revoked at its own data center's
 * accounts server, read from its API domain, and a token of any other domain goes nowhere.
 * Secrets travel in POST bodies, except the refresh token on revoke, where Zoho requires
 * the query string. Every Zoho answer maps to a `TokenStoreError` code; messages carry
 * Zoho's error name, never a request value.
 */
import { toBase64Url, utf8 } from '../store/encoding.ts';
import { TokenStoreError } from '../store/errors.ts';
import { startDeviceLogin, waitUnlessAborted, type DeviceLogin, type DeviceLoginOptions } from './device.ts';
import { checkIdToken } from './id-token.ts';
import type { ZohoTokens } from './tokens.ts';
import { DATA_CENTER_IDS, DATA_CENTERS, dataCenterAt, isDataCenter, type DataCenter, type DataCenterOrigins, type DataCenterTable } from './data-centers.ts';

export type { DataCenter, DataCenterOrigins } from './data-centers.ts';
export type { ZohoTokens } from './tokens.ts';
export type { DeviceLogin, DeviceLoginOptions, DevicePoll } from './device.ts';

/**
 * Zoho gives no wait time with "Access Denied": the refresh token stays blocked for the rest
 * of its ten-minute window, so a try before that is spent for nothing. The token manager's
 * back-off shortens the wait when it knows when the window began (backoff.ts).
 */
export const ZOHO_WINDOW_MS = 10 * 60_000;
export const DEFAULT_RATE_LIMIT_WAIT_MS = ZOHO_WINDOW_MS;
/** Waits before each retry of the current-user lookup after Zoho's 429 (its concurrency limit). */
const LOOKUP_RETRY_WAITS_MS = [250, 500, 1_000];
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/**
 * The wait after Zoho failed or could not be reached, unless it said (Retry-After). A token
 * manager backs off longer (growing, with jitter); this is the floor of its first wait.
 */
export const DEFAULT_OUTAGE_WAIT_MS = 500;

/** A Retry-After header (seconds, or an HTTP date) as milliseconds from `now`, if there is a sane one. */
function retryAfterOf(response: Response, now: number): number | undefined {
  const value = response.headers.get('retry-after');
  if (!value) return undefined;
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - now;
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, 3_600_000) : undefined;
}

export interface ZohoOAuthOptions {
  /**
   * One data center, or `'any'`: users of every data center, each exchanged, refreshed and
   * revoked at their own data center's accounts server (Zoho's multi-DC clients).
   */
  dataCenter?: DataCenter | 'any';
  /**
   * With `dataCenter: 'any'`: the data centers served and where they are (default: every Zoho
   * data center, on Zoho's own servers). Development points them at a local stand-in; leaving
   * one out refuses it.
   */
  dataCenters?: DataCenterTable;
  /** Overrides a fixed `dataCenter`: the accounts server's origin, e.g. the local Zoho in tests. */
  accountsUrl?: string;
  clientId: string;
  /**
   * The client's secret; with `dataCenter: 'any'`, one for every data center or one per data
   * center (Zoho's API console offers both for multi-DC clients). Leave it out for a public
   * client with no secret (a client-based app's implicit flow): then nothing goes to the
   * token endpoint.
   */
  clientSecret?: string | Partial<Record<DataCenter, string>>;
  redirectUrl?: string;
  fetch?: typeof fetch;
  now?: () => number;
  /** How the device flow waits between polls (default: the real clock); tests move a clock instead. */
  wait?: (ms: number, signal: AbortSignal | undefined) => Promise<void>;
}

/** What `authorizationUrl` takes. */
export interface AuthorizationOptions {
  scope: string | string[];
  state: string;
  redirectUrl?: string;
  /** PKCE (S256): the challenge of a verifier the caller keeps for `exchangeGrant`. See `createPkce()`. */
  codeChallenge?: string;
  /**
   * OpenID Connect: a value of this login's that Zoho puts in the exchange's ID token; give the
   * same to `exchangeGrant`. Needs a scope that yields an ID token (`email` or `openid`).
   */
  nonce?: string;
  /** `token`: the implicit flow of client-based apps (no refresh token). Default `code`. */
  responseType?: 'code' | 'token';
  /**
   * Where to sign in, with `dataCenter: 'any'`: Zoho's global sign-in (the US server) by default;
   * China's users must start at their own (`'cn'`).
   */
  signInAt?: DataCenter;
}

export interface ZohoOAuth {
  readonly clientId: string;
  /** The one client secret; undefined for a public client or when each data center has its own (see `clientSecretFor`). */
  readonly clientSecret: string | undefined;
  /** The secret used with the accounts server of `apiDomain`'s data center, or null if none. */
  clientSecretFor(apiDomain: string | null | undefined): string | null;
  /** Where users sign in: the one accounts server, or with `'any'` Zoho's global sign-in. */
  readonly accountsUrl: string;
  readonly redirectUrl: string | undefined;
  /** `'any'` when users of several data centers are served. */
  readonly dataCenter: DataCenter | 'any' | undefined;
  authorizationUrl(options: AuthorizationOptions): string;
  /**
   * `accountsServer`: the `accounts-server` of Zoho's redirect. With `'any'` it is required and
   * must be a served data center's; otherwise, if given, it must be this client's server.
   * `codeVerifier`: the PKCE verifier whose challenge the authorization URL carried.
   * `nonce`: the authorization URL's; the answer must then hold an ID token of this client,
   * from that accounts server, with this nonce (else ZOHO_ID_TOKEN_INVALID, and the answer's
   * refresh token is revoked): a code injected from another login is refused even where Zoho
   * does not check PKCE.
   */
  exchangeGrant(code: string, options?: { redirectUrl?: string; accountsServer?: string; codeVerifier?: string; nonce?: string }): Promise<ZohoTokens>;
  /**
   * The implicit flow's answer: the token in the fragment of Zoho's redirect (`location.hash`),
   * checked against the state the caller sent and the served data centers. No refresh token.
   */
  tokenFromRedirect(fragment: string, options: { state: string }): ZohoTokens;
  /** `apiDomain`: the token's; with `'any'` it picks the data center and is required. */
  refresh(refreshToken: string, options?: { apiDomain?: string | null }): Promise<ZohoTokens>;
  /** Resolves only when Zoho answers `success`; anything else is an error (the token may still be live). */
  revoke(refreshToken: string, options?: { apiDomain?: string | null }): Promise<void>;
  /**
   * The accounts server that refreshes and revokes a token of `apiDomain`. A typed
   * INVALID_INPUT for an API domain that is not a served Zoho one: such a token goes nowhere.
   */
  accountsServerFor(apiDomain: string | null | undefined): string;
  /** The data center an API domain belongs to (`www.`, `sandbox.`, `developer.`), or null. */
  dataCenterOf(apiDomain: string | null | undefined): DataCenter | null;
  /** The user's name as the Zoho SDK stores it: `email:zgid` (the org's zgid). */
  currentUser(token: { accessToken: string; apiDomain: string }): Promise<string>;
  /**
   * Zoho's device flow, where there is no browser: a user code to show and the wait for the
   * person's decision (device.ts). Offline access, with consent asked again unless `consent:
   * false`, so it ends with a refresh token. Needs a client of Zoho's "Non-browser
   * Applications" type and its secret. `manager.saveGrant(await login.tokens())` stores it.
   */
  startDeviceLogin(options: DeviceLoginOptions): Promise<DeviceLogin>;
}

/** Whether `accountsServer` (from the redirect) is a Zoho accounts server, or the configured one. */
export function isKnownAccountsServer(accountsServer: string, configured?: string): boolean {
  let origin: string;
  try {
    origin = new URL(accountsServer).origin;
  } catch {
    return false;
  }
  if (configured !== undefined && origin === new URL(configured).origin) return true;
  return dataCenterAt(origin, 'accounts') !== null;
}

/**
 * A redirect answered to `redirect: 'manual'`: a 3xx in workerd and Node, an opaque
 * `opaqueredirect` (status 0) in browsers. Nothing was sent to its target.
 */
export const isRedirect = (response: Response) => (response.type as string) === 'opaqueredirect' || (response.status >= 300 && response.status < 400);

const invalid = (message: string) => new TokenStoreError('INVALID_INPUT', `zohoOAuth: ${message}`);

/** RFC 7636: 43-128 characters of A-Z a-z 0-9 - . _ ~ (a challenge, S256 of one, is 43). */
const PKCE_VALUE = /^[A-Za-z0-9\-._~]{43,128}$/;
/** An OpenID Connect nonce as this library makes them (a keyed hash, base64url), or any like it. */
const NONCE = /^[A-Za-z0-9\-._~]{16,128}$/;

/** The S256 challenge of a PKCE verifier (for a verifier derived rather than drawn, as the Worker's is). */
export async function pkceChallenge(verifier: string): Promise<string> {
  if (typeof verifier !== 'string' || !PKCE_VALUE.test(verifier)) throw invalid('a PKCE verifier is 43-128 characters of A-Z a-z 0-9 - . _ ~');
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(verifier))));
}

/** A fresh PKCE pair: keep `verifier` for `exchangeGrant`, send `challenge` with `authorizationUrl`. */
export async function createPkce(): Promise<{ verifier: string; challenge: string }> {
  const verifier = toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
  return { verifier, challenge: await pkceChallenge(verifier) };
}

/**
 * Zoho's OAuth client for one data center, an explicit accounts URL, or every data center
 * (`'any'`): authorization URL, grant exchange, refresh, revoke, the current user, the device
 * flow. Every Zoho answer maps to a `TokenStoreError` code.
 *
 * ```ts
 * const oauth = zohoOAuth({ dataCenter: 'any', clientId, clientSecret, redirectUrl: 'https://app.example.com/auth/callback' });
 * ```
 */
export function zohoOAuth(options: ZohoOAuthOptions): ZohoOAuth {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const { clientId, clientSecret, redirectUrl, dataCenter } = options;
  if (typeof clientId !== 'string' || clientId === '') throw invalid('clientId is required');
  const perDataCenter = typeof clientSecret === 'object' && clientSecret !== null;
  if (perDataCenter) {
    if (dataCenter !== 'any') throw invalid("a secret per data center needs dataCenter 'any'");
    for (const [dc, secret] of Object.entries(clientSecret)) {
      if (!isDataCenter(dc) || typeof secret !== 'string' || secret === '')
        throw invalid('clientSecret per data center maps Zoho data centers to non-empty secrets');
    }
  } else if (clientSecret !== undefined && (typeof clientSecret !== 'string' || clientSecret === '')) {
    throw invalid('clientSecret must be a non-empty string, or one per data center');
  }
  const originOf = (value: string, what: string) => {
    try {
      return new URL(value).origin;
    } catch {
      throw invalid(`${what} must be an absolute URL`);
    }
  };
  const any = dataCenter === 'any';
  // The data centers this client serves, and where (only with 'any'; a fixed client has one server).
  const served: DataCenterTable = {};
  let accountsUrl: string;
  if (any) {
    const table = options.dataCenters ?? DATA_CENTERS;
    for (const [dc, origins] of Object.entries(table) as [DataCenter, DataCenterOrigins][]) {
      if (!isDataCenter(dc)) throw invalid(`dataCenters: ${dc} is not a Zoho data center`);
      served[dc] = {
        accounts: originOf(origins.accounts, `dataCenters.${dc}.accounts`),
        apiDomain: originOf(origins.apiDomain, `dataCenters.${dc}.apiDomain`),
      };
    }
    const first = served.us ?? Object.values(served)[0];
    if (!first) throw invalid('dataCenters names no data center');
    // Zoho's global sign-in is the US accounts server; it sends each user on to their own.
    accountsUrl = first.accounts;
  } else if (options.accountsUrl !== undefined) {
    accountsUrl = originOf(options.accountsUrl, 'accountsUrl');
  } else if (isDataCenter(dataCenter)) {
    accountsUrl = DATA_CENTERS[dataCenter].accounts;
  } else {
    throw invalid(`give accountsUrl, a dataCenter (${DATA_CENTER_IDS.join(', ')}) or dataCenter 'any'`);
  }

  /** A served data center's, by API origin: Zoho's `www.`, `sandbox.` and `developer.` variants, or a stand-in's exact origin. */
  const dataCenterOf = (apiDomain: string | null | undefined) => dataCenterAt(apiDomain, 'api', any ? served : DATA_CENTERS);

  function accountsServerFor(apiDomain: string | null | undefined): string {
    if (!any) return accountsUrl;
    const dc = dataCenterOf(apiDomain);
    if (!dc) throw invalid("the token's API domain is not a Zoho data center's this client serves: it is not sent anywhere");
    return served[dc]!.accounts;
  }

  function exchangeServer(accountsServer: string | undefined): string {
    if (accountsServer === undefined) {
      if (any) throw invalid("with dataCenter 'any', exchangeGrant needs the accountsServer Zoho's redirect named");
      return accountsUrl;
    }
    let origin: string;
    try {
      origin = new URL(accountsServer).origin;
    } catch {
      throw invalid('accountsServer must be an absolute URL');
    }
    const allowed = any ? Object.values(served).map((o) => o.accounts) : [accountsUrl];
    if (!allowed.includes(origin)) throw invalid('accountsServer is not the accounts server of a data center this client serves');
    return origin;
  }

  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const now = options.now ?? Date.now;

  /** The secret for one data center's accounts server (null: none, and nothing is sent). */
  function secretAt(dc: DataCenter | null): string | null {
    if (!perDataCenter) return clientSecret ?? null;
    return (dc && clientSecret[dc]) || null;
  }
  const dataCenterOfServer = (server: string): DataCenter | null => (any ? dataCenterAt(server, 'accounts', served) : null);

  async function call(url: string, init: RequestInit, doing: string): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      // Never followed: a 307 would re-send the form (client secret, refresh token) to its Location.
      response = await doFetch(url, { ...init, redirect: 'manual' });
    } catch (cause) {
      throw new TokenStoreError('ZOHO_UNAVAILABLE', `could not reach Zoho while ${doing}`, { cause, retryAfterMs: DEFAULT_OUTAGE_WAIT_MS });
    }
    if (isRedirect(response)) throw new TokenStoreError('ZOHO_BAD_RESPONSE', `Zoho's server answered with a redirect while ${doing}; it was not followed`);
    if (response.status >= 500) {
      throw new TokenStoreError('ZOHO_UNAVAILABLE', `Zoho answered HTTP ${response.status} while ${doing}`, {
        retryAfterMs: retryAfterOf(response, now()) ?? DEFAULT_OUTAGE_WAIT_MS,
      });
    }
    const text = await response.text();
    try {
      return { status: response.status, body: text === '' ? null : JSON.parse(text) };
    } catch (cause) {
      throw new TokenStoreError('ZOHO_BAD_RESPONSE', `Zoho answered HTTP ${response.status} with a body that is not JSON while ${doing}`, { cause });
    }
  }

  function tokenError(body: Record<string, unknown>, doing: string, refreshing: boolean): TokenStoreError {
    const error = String(body.error);
    const zohoError = error.slice(0, 60);
    const message = `Zoho answered "${zohoError}" while ${doing}`;
    switch (error) {
      case 'invalid_code':
        // On refresh, Zoho says invalid_code for a refresh token it no longer knows.
        return new TokenStoreError(refreshing ? 'REAUTH_REQUIRED' : 'ZOHO_INVALID_CODE', message, { zohoError });
      case 'invalid_client':
        return new TokenStoreError('ZOHO_INVALID_CLIENT', message, { zohoError });
      case 'invalid_client_secret':
        return new TokenStoreError('ZOHO_INVALID_CLIENT_SECRET', message, { zohoError });
      case 'Access Denied':
        return new TokenStoreError('ZOHO_RATE_LIMITED', `${message}: too many requests`, { retryAfterMs: DEFAULT_RATE_LIMIT_WAIT_MS, zohoError });
      default:
        return new TokenStoreError('ZOHO_BAD_RESPONSE', message, { zohoError });
    }
  }

  async function token(server: string, form: Record<string, string>, doing: string, refreshing: boolean): Promise<ZohoTokens> {
    const secret = secretAt(dataCenterOfServer(server));
    if (secret === null) throw invalid(`this client has no secret for that data center's accounts server (while ${doing})`);
    const { body } = await call(
      `${server}/oauth/v2/token`,
      { method: 'POST', body: new URLSearchParams({ client_id: clientId, client_secret: secret, ...form }) },
      doing,
    );
    return tokensFrom((typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>, doing, refreshing);
  }

  /** A token endpoint's answer as tokens, or its error as a TokenStoreError. */
  function tokensFrom(answer: Record<string, unknown>, doing: string, refreshing: boolean): ZohoTokens {
    if ('error' in answer) throw tokenError(answer, doing, refreshing);
    const { access_token, refresh_token, api_domain, expires_in, expires_in_sec } = answer;
    // Older servers send expires_in in milliseconds, with expires_in_sec beside it.
    const seconds = typeof expires_in_sec === 'number' ? expires_in_sec : expires_in;
    if (typeof access_token !== 'string' || typeof api_domain !== 'string' || typeof seconds !== 'number') {
      throw new TokenStoreError('ZOHO_BAD_RESPONSE', `Zoho's answer lacks access_token, api_domain or expires_in while ${doing}`);
    }
    return {
      accessToken: access_token,
      refreshToken: typeof refresh_token === 'string' ? refresh_token : null,
      apiDomain: api_domain,
      expiryTime: now() + seconds * 1000,
      ...(typeof answer.id_token === 'string' ? { idToken: answer.id_token } : {}),
    };
  }

  /** Revokes a refresh token at one accounts server: true when Zoho confirmed it. */
  async function revokeAt(server: string, refreshToken: string): Promise<boolean> {
    const url = `${server}/oauth/v2/token/revoke?${new URLSearchParams({ token: refreshToken })}`;
    const { status, body } = await call(url, { method: 'POST' }, 'revoking a refresh token');
    const answer = (body ?? {}) as { status?: unknown; error?: unknown };
    if (answer.status === 'success') return true;
    // Throttled, unknown to this server, or anything else: Zoho did not say the token is dead.
    if (answer.error === 'Access Denied') throw tokenError(answer as Record<string, unknown>, 'revoking a refresh token', false);
    throw new TokenStoreError('ZOHO_BAD_RESPONSE', `Zoho answered HTTP ${status} without success while revoking: the token may still be live`);
  }

  return {
    clientId,
    clientSecret: perDataCenter ? undefined : clientSecret,
    clientSecretFor: (apiDomain) => secretAt(dataCenterOf(apiDomain)),
    accountsUrl,
    redirectUrl,
    dataCenter,
    accountsServerFor,
    dataCenterOf,

    authorizationUrl({ scope, state, redirectUrl: redirect = redirectUrl, codeChallenge, nonce, responseType = 'code', signInAt }) {
      if (!redirect) throw invalid('a redirectUrl is needed for the authorization URL');
      if (nonce !== undefined && (typeof nonce !== 'string' || !NONCE.test(nonce))) throw invalid('nonce must be 16 to 128 URL-safe characters');
      if (codeChallenge !== undefined && (typeof codeChallenge !== 'string' || !PKCE_VALUE.test(codeChallenge)))
        throw invalid('codeChallenge must be an S256 PKCE challenge (see createPkce)');
      if (responseType !== 'code' && responseType !== 'token') throw invalid("responseType must be 'code' or 'token'");
      let server = accountsUrl;
      if (signInAt !== undefined) {
        const at = any ? served[signInAt] : undefined;
        if (!at) throw invalid('signInAt must be a data center this client serves (with dataCenter any)');
        server = at.accounts;
      }
      const params = new URLSearchParams({
        response_type: responseType,
        client_id: clientId,
        scope: Array.isArray(scope) ? scope.join(',') : scope,
        redirect_uri: redirect,
      });
      // A refresh token comes only with the code flow, offline, and (after the first consent) prompt=consent.
      if (responseType === 'code') (params.set('access_type', 'offline'), params.set('prompt', 'consent'));
      if (codeChallenge !== undefined) (params.set('code_challenge', codeChallenge), params.set('code_challenge_method', 'S256'));
      if (nonce !== undefined) params.set('nonce', nonce);
      params.set('state', state);
      const url = new URL('/oauth/v2/auth', server);
      url.search = params.toString();
      return url.toString();
    },

    async exchangeGrant(code, { redirectUrl: redirect = redirectUrl, accountsServer, codeVerifier, nonce } = {}) {
      if (typeof code !== 'string' || code === '') throw invalid('a grant code is required');
      if (codeVerifier !== undefined && (typeof codeVerifier !== 'string' || !PKCE_VALUE.test(codeVerifier)))
        throw invalid('codeVerifier must be a PKCE verifier (see createPkce)');
      if (nonce !== undefined && (typeof nonce !== 'string' || !NONCE.test(nonce))) throw invalid('nonce must be 16 to 128 URL-safe characters');
      const server = exchangeServer(accountsServer);
      const form: Record<string, string> = { grant_type: 'authorization_code', code };
      if (redirect) form.redirect_uri = redirect;
      if (codeVerifier !== undefined) form.code_verifier = codeVerifier;
      const answer = await token(server, form, 'exchanging a grant code', false);
      if (nonce === undefined) return answer;
      try {
        checkIdToken(answer.idToken, { issuer: server, clientId, nonce, now: now() });
      } catch (error) {
        // Not this login's tokens: they must not stay live at Zoho (best effort; the refusal stands either way).
        if (answer.refreshToken) await revokeAt(server, answer.refreshToken).catch(() => false);
        throw error;
      }
      return answer;
    },

    tokenFromRedirect(fragment, { state }) {
      const params = new URLSearchParams(String(fragment ?? '').replace(/^#/, ''));
      if (typeof state !== 'string' || state === '' || params.get('state') !== state) throw invalid('the redirect does not carry the state this login sent');
      const accessToken = params.get('access_token');
      const apiDomain = params.get('api_domain');
      const seconds = Number(params.get('expires_in'));
      if (!accessToken || !apiDomain || !(seconds > 0))
        throw new TokenStoreError('ZOHO_BAD_RESPONSE', "Zoho's redirect lacks access_token, api_domain or expires_in");
      // The token goes only to a Zoho API domain this client serves (or, for a fixed accounts URL, that origin).
      const origin = URL.canParse(apiDomain) ? new URL(apiDomain).origin : null;
      const known = origin !== null && (dataCenterOf(origin) !== null || (!any && origin === accountsUrl));
      if (!known) throw invalid("the redirect's api_domain is not a Zoho data center's this client serves");
      return { accessToken, refreshToken: null, apiDomain: origin, expiryTime: now() + seconds * 1000 };
    },

    async refresh(refreshToken, { apiDomain } = {}) {
      if (typeof refreshToken !== 'string' || refreshToken === '') throw invalid('a refresh token is required');
      return token(accountsServerFor(apiDomain), { grant_type: 'refresh_token', refresh_token: refreshToken }, 'refreshing an access token', true);
    },

    async revoke(refreshToken, { apiDomain } = {}) {
      if (typeof refreshToken !== 'string' || refreshToken === '') throw invalid('a refresh token is required');
      await revokeAt(accountsServerFor(apiDomain), refreshToken);
    },

    startDeviceLogin(deviceOptions) {
      return startDeviceLogin(
        {
          clientId,
          startServer: accountsUrl,
          serverOf: (dc) => (any ? (served[dc]?.accounts ?? null) : null),
          secretFor: (server) => secretAt(dataCenterOfServer(server)),
          call,
          tokensFrom: (answer, doing) => tokensFrom(answer, doing, false),
          errorFrom: (answer, doing) => tokenError(answer, doing, false),
          now,
          wait: options.wait ?? waitUnlessAborted,
        },
        deviceOptions,
      );
    },

    async currentUser({ accessToken, apiDomain }) {
      const headers = { authorization: `Zoho-oauthtoken ${accessToken}` };
      const get = async (path: string) => {
        let { status, body } = await call(`${apiDomain}${path}`, { headers }, 'looking up the current user');
        // 429: the org has its edition's limit of calls in flight. Retried with growing waits,
        // then retryable: the caller may try again (the token is good, only Zoho is busy).
        for (const wait of LOOKUP_RETRY_WAITS_MS) {
          if (status !== 429) break;
          await sleep(wait);
          ({ status, body } = await call(`${apiDomain}${path}`, { headers }, 'looking up the current user'));
        }
        if (status === 429)
          throw new TokenStoreError('ZOHO_RATE_LIMITED', "Zoho's concurrency limit answered 429 while looking up the current user", { retryAfterMs: 1_000 });
        if (status === 401 && (body as { code?: unknown } | null)?.code === 'OAUTH_SCOPE_MISMATCH') {
          throw new TokenStoreError(
            'ZOHO_SCOPE_MISMATCH',
            'the login lacks a scope needed to look up the current user (ZohoCRM.users.READ and ZohoCRM.org.READ)',
          );
        }
        if (status === 401) throw new TokenStoreError('REAUTH_REQUIRED', 'Zoho refused the access token while looking up the current user');
        return body as Record<string, { email?: unknown; zgid?: unknown }[] | undefined> | null;
      };
      const [users, org] = await Promise.all([get('/crm/v8/users?type=CurrentUser'), get('/crm/v8/org')]);
      const email = users?.users?.[0]?.email;
      // The SDK names users by the org's zgid (not its CRM id): the same name lets a user
      // imported from an SDK store and the same user logged in here share one record.
      const zgid = org?.org?.[0]?.zgid;
      if (typeof email !== 'string' || (typeof zgid !== 'string' && typeof zgid !== 'number')) {
        throw new TokenStoreError('ZOHO_BAD_RESPONSE', 'Zoho did not name the current user and org');
      }
      return `${email}:${zgid}`;
    },
  };
}
