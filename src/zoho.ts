/**
 * Zoho OAuth client: authorization URL, grant exchange, refresh, revoke and the current
 * user, for one data center, an explicit accounts URL (tests, the local Zoho), or every data
 * center at once (`'any'`): then each token is refreshed and revoked at its own data center's
 * accounts server, read from its API domain, and a token of any other domain goes nowhere.
 * Secrets travel in POST bodies, except the refresh token on revoke, where Zoho requires
 * the query string. Every Zoho answer maps to a `TokenStoreError` code; messages carry
 * Zoho's error name, never a request value.
 */
import { TokenStoreError } from './errors.ts';

export const DATA_CENTERS = {
  us: { accounts: 'https://accounts.zoho.com', apiDomain: 'https://www.zohoapis.com' },
  eu: { accounts: 'https://accounts.zoho.eu', apiDomain: 'https://www.zohoapis.eu' },
  in: { accounts: 'https://accounts.zoho.in', apiDomain: 'https://www.zohoapis.in' },
  au: { accounts: 'https://accounts.zoho.com.au', apiDomain: 'https://www.zohoapis.com.au' },
  jp: { accounts: 'https://accounts.zoho.jp', apiDomain: 'https://www.zohoapis.jp' },
  ca: { accounts: 'https://accounts.zohocloud.ca', apiDomain: 'https://www.zohoapis.ca' },
  sa: { accounts: 'https://accounts.zoho.sa', apiDomain: 'https://www.zohoapis.sa' },
  cn: { accounts: 'https://accounts.zoho.com.cn', apiDomain: 'https://www.zohoapis.com.cn' },
} as const;
export type DataCenter = keyof typeof DATA_CENTERS;

/** Every Zoho CRM API origin: each data center's, and its sandbox and developer variants. */
export const ZOHO_API_DOMAINS: readonly string[] = Object.values(DATA_CENTERS).flatMap(({ apiDomain }) => [
  apiDomain,
  apiDomain.replace('://www.', '://sandbox.'),
  apiDomain.replace('://www.', '://developer.'),
]);

/** The Zoho data center an API domain belongs to (`www.`, `sandbox.` or `developer.`), or null. */
export function dataCenterOfApiDomain(apiDomain: string | null | undefined): DataCenter | null {
  if (typeof apiDomain !== 'string') return null;
  let origin: string;
  try {
    origin = new URL(apiDomain).origin;
  } catch {
    return null;
  }
  return (Object.keys(DATA_CENTERS) as DataCenter[]).find((dc) => ['www.', 'sandbox.', 'developer.'].some((prefix) => DATA_CENTERS[dc].apiDomain.replace('://www.', `://${prefix}`) === origin)) ?? null;
}

/** Zoho gives no wait time with "Access Denied"; its windows are 10 minutes long. */
export const DEFAULT_RATE_LIMIT_WAIT_MS = 60_000;
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

/** Where one data center's accounts server and CRM API live. */
export interface DataCenterOrigins {
  accounts: string;
  apiDomain: string;
}

export interface ZohoOAuthOptions {
  /**
   * One data center, or `'any'`: users of every data center, each exchanged, refreshed and
   * revoked at their own data center's accounts server (Zoho's multi-DC clients).
   */
  dataCenter?: DataCenter | 'any';
  /**
   * With `dataCenter: 'any'`: the data centers served and where they are (default: all eight,
   * Zoho's own servers). Development points them at a local stand-in; leaving one out refuses it.
   */
  dataCenters?: Partial<Record<DataCenter, DataCenterOrigins>>;
  /** Overrides a fixed `dataCenter`: the accounts server's origin, e.g. the local Zoho in tests. */
  accountsUrl?: string;
  clientId: string;
  clientSecret: string;
  redirectUrl?: string;
  fetch?: typeof fetch;
  now?: () => number;
}

/** What a token endpoint answered, in the store's terms. */
export interface ZohoTokens {
  accessToken: string;
  /** Absent on refresh answers: keep the stored one. */
  refreshToken: string | null;
  apiDomain: string;
  /** Epoch ms at which the access token expires. */
  expiryTime: number;
}

export interface ZohoOAuth {
  readonly clientId: string;
  readonly clientSecret: string;
  /** Where users sign in: the one accounts server, or with `'any'` Zoho's global sign-in. */
  readonly accountsUrl: string;
  readonly redirectUrl: string | undefined;
  /** `'any'` when users of several data centers are served. */
  readonly dataCenter: DataCenter | 'any' | undefined;
  authorizationUrl(options: { scope: string | string[]; state: string; redirectUrl?: string }): string;
  /**
   * `accountsServer`: the `accounts-server` of Zoho's redirect. With `'any'` it is required and
   * must be a served data center's; otherwise, if given, it must be this client's server.
   */
  exchangeGrant(code: string, options?: { redirectUrl?: string; accountsServer?: string }): Promise<ZohoTokens>;
  /** `apiDomain`: the token's; with `'any'` it picks the data center and is required. */
  refresh(refreshToken: string, options?: { apiDomain?: string | null }): Promise<ZohoTokens>;
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
  return dataCenterOfAccountsServer(origin) !== null;
}

/** The Zoho data center whose accounts server `accountsServer` is, or null. */
export function dataCenterOfAccountsServer(accountsServer: string): DataCenter | null {
  try {
    const origin = new URL(accountsServer).origin;
    return (Object.keys(DATA_CENTERS) as DataCenter[]).find((dc) => DATA_CENTERS[dc].accounts === origin) ?? null;
  } catch {
    return null;
  }
}

const invalid = (message: string) => new TokenStoreError('INVALID_INPUT', `zohoOAuth: ${message}`);

export function zohoOAuth(options: ZohoOAuthOptions): ZohoOAuth {
  if (typeof options !== 'object' || options === null) throw invalid('options must be an object');
  const { clientId, clientSecret, redirectUrl, dataCenter } = options;
  if (typeof clientId !== 'string' || clientId === '') throw invalid('clientId is required');
  if (typeof clientSecret !== 'string' || clientSecret === '') throw invalid('clientSecret is required');
  const originOf = (value: string, what: string) => {
    try {
      return new URL(value).origin;
    } catch {
      throw invalid(`${what} must be an absolute URL`);
    }
  };
  const any = dataCenter === 'any';
  // The data centers this client serves, and where (only with 'any'; a fixed client has one server).
  const served = new Map<DataCenter, DataCenterOrigins>();
  let accountsUrl: string;
  if (any) {
    const table = options.dataCenters ?? DATA_CENTERS;
    for (const [dc, origins] of Object.entries(table) as [DataCenter, DataCenterOrigins][]) {
      if (!Object.hasOwn(DATA_CENTERS, dc)) throw invalid(`dataCenters: ${dc} is not a Zoho data center`);
      served.set(dc, { accounts: originOf(origins.accounts, `dataCenters.${dc}.accounts`), apiDomain: originOf(origins.apiDomain, `dataCenters.${dc}.apiDomain`) });
    }
    if (served.size === 0) throw invalid('dataCenters names no data center');
    // Zoho's global sign-in is the US accounts server; it sends each user on to their own.
    accountsUrl = (served.get('us') ?? [...served.values()][0]!).accounts;
  } else if (options.accountsUrl !== undefined) {
    accountsUrl = originOf(options.accountsUrl, 'accountsUrl');
  } else if (dataCenter !== undefined && Object.hasOwn(DATA_CENTERS, dataCenter)) {
    accountsUrl = DATA_CENTERS[dataCenter].accounts;
  } else {
    throw invalid(`give accountsUrl, a dataCenter (${Object.keys(DATA_CENTERS).join(', ')}) or dataCenter 'any'`);
  }

  /** A served data center's, by API origin: Zoho's `www.`, `sandbox.` and `developer.` variants, or a stand-in's exact origin. */
  function dataCenterOf(apiDomain: string | null | undefined): DataCenter | null {
    if (!any) return dataCenterOfApiDomain(apiDomain);
    let origin: string;
    try {
      origin = new URL(apiDomain ?? '').origin;
    } catch {
      return null;
    }
    for (const [dc, origins] of served) {
      if (origins.apiDomain === origin || (origins.apiDomain === DATA_CENTERS[dc].apiDomain && dataCenterOfApiDomain(origin) === dc)) return dc;
    }
    return null;
  }

  function accountsServerFor(apiDomain: string | null | undefined): string {
    if (!any) return accountsUrl;
    const dc = dataCenterOf(apiDomain);
    if (!dc) throw invalid("the token's API domain is not a Zoho data center's this client serves: it is not sent anywhere");
    return served.get(dc)!.accounts;
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
    const allowed = any ? [...served.values()].map((o) => o.accounts) : [accountsUrl];
    if (!allowed.includes(origin)) throw invalid('accountsServer is not the accounts server of a data center this client serves');
    return origin;
  }

  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const now = options.now ?? Date.now;

  async function call(url: string, init: RequestInit, doing: string): Promise<{ status: number; body: unknown }> {
    let response: Response;
    try {
      response = await doFetch(url, init);
    } catch (cause) {
      throw new TokenStoreError('ZOHO_UNAVAILABLE', `could not reach Zoho while ${doing}`, { cause, retryAfterMs: DEFAULT_OUTAGE_WAIT_MS });
    }
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
    const message = `Zoho answered "${error.slice(0, 60)}" while ${doing}`;
    switch (error) {
      case 'invalid_code':
        // On refresh, Zoho says invalid_code for a refresh token it no longer knows.
        return new TokenStoreError(refreshing ? 'REAUTH_REQUIRED' : 'ZOHO_INVALID_CODE', message);
      case 'invalid_client':
        return new TokenStoreError('ZOHO_INVALID_CLIENT', message);
      case 'invalid_client_secret':
        return new TokenStoreError('ZOHO_INVALID_CLIENT_SECRET', message);
      case 'Access Denied':
        return new TokenStoreError('ZOHO_RATE_LIMITED', `${message}: too many requests`, { retryAfterMs: DEFAULT_RATE_LIMIT_WAIT_MS });
      default:
        return new TokenStoreError('ZOHO_BAD_RESPONSE', message);
    }
  }

  async function token(server: string, form: Record<string, string>, doing: string, refreshing: boolean): Promise<ZohoTokens> {
    const { body } = await call(
      `${server}/oauth/v2/token`,
      { method: 'POST', body: new URLSearchParams({ client_id: clientId, client_secret: clientSecret, ...form }) },
      doing,
    );
    const answer = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
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
    };
  }

  return {
    clientId,
    clientSecret,
    accountsUrl,
    redirectUrl,
    dataCenter,
    accountsServerFor,
    dataCenterOf,

    authorizationUrl({ scope, state, redirectUrl: redirect = redirectUrl }) {
      if (!redirect) throw invalid('a redirectUrl is needed for the authorization URL');
      const url = new URL('/oauth/v2/auth', accountsUrl);
      url.search = new URLSearchParams({
        response_type: 'code',
        client_id: clientId,
        scope: Array.isArray(scope) ? scope.join(',') : scope,
        redirect_uri: redirect,
        access_type: 'offline',
        prompt: 'consent',
        state,
      }).toString();
      return url.toString();
    },

    async exchangeGrant(code, { redirectUrl: redirect = redirectUrl, accountsServer } = {}) {
      if (typeof code !== 'string' || code === '') throw invalid('a grant code is required');
      const server = exchangeServer(accountsServer);
      const form: Record<string, string> = { grant_type: 'authorization_code', code };
      if (redirect) form.redirect_uri = redirect;
      return token(server, form, 'exchanging a grant code', false);
    },

    async refresh(refreshToken, { apiDomain } = {}) {
      if (typeof refreshToken !== 'string' || refreshToken === '') throw invalid('a refresh token is required');
      return token(accountsServerFor(apiDomain), { grant_type: 'refresh_token', refresh_token: refreshToken }, 'refreshing an access token', true);
    },

    async revoke(refreshToken, { apiDomain } = {}) {
      if (typeof refreshToken !== 'string' || refreshToken === '') throw invalid('a refresh token is required');
      const url = `${accountsServerFor(apiDomain)}/oauth/v2/token/revoke?${new URLSearchParams({ token: refreshToken })}`;
      const { status, body } = await call(url, { method: 'POST' }, 'revoking a refresh token');
      // HTTP 400 means Zoho does not know the token: it is as revoked as it can be.
      if (status === 400) return;
      if ((body as { status?: unknown } | null)?.status !== 'success') {
        throw new TokenStoreError('ZOHO_BAD_RESPONSE', `Zoho answered HTTP ${status} without success while revoking`);
      }
    },

    async currentUser({ accessToken, apiDomain }) {
      const headers = { authorization: `Zoho-oauthtoken ${accessToken}` };
      const get = async (path: string) => {
        const { status, body } = await call(`${apiDomain}${path}`, { headers }, 'looking up the current user');
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
