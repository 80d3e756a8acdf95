// The local Zoho's options, limits and records: what local-zoho.ts keeps, and the small
// parsing rules its accounts endpoints share. Limits are Zoho's documented ones.
import type { LocalZohoModule } from './crm/modules.ts';
import type { LocalZohoClient, LocalZohoClientType, LocalZohoUser } from './model.ts';

export const isPkceMode = (value: unknown): value is LocalZohoPkceMode => value === 'check' || value === 'ignore-server';

export interface LocalZohoOptions {
  /** Clients that exist; any other client id gets `invalid_client`. */
  clients?: LocalZohoClient[];
  users?: LocalZohoUser[];
  /** The API domain tokens name (default: the origin the request came to). */
  apiDomain?: string;
  /** Data center reported in redirects (default "us"), when `dataCenters` is not set. */
  location?: string;
  /**
   * Several data centers, each at its own origin (accounts server and API in one): data center
   * -> origin. Users sign in at the US server (Zoho's global sign-in; China's users at the cn
   * server) and are sent back with their own data center's `location` and `accounts-server`;
   * their tokens work only there, as Zoho's do.
   */
  dataCenters?: Record<string, string>;
  /** Answer `expires_in` in milliseconds with `expires_in_sec`, as older servers do. */
  legacyExpiresIn?: boolean;
  /**
   * How long an access token lasts, in seconds (Zoho: 3600, the default). Shorter only so a run
   * can see tokens expire on the real clock, where the clock cannot be moved (a Worker under
   * `wrangler dev`); also `LOCAL_ZOHO_ACCESS_TOKEN_SECONDS` under `npm start`.
   */
  accessTokenSeconds?: number;
  /**
   * The device flow's polling interval, in seconds (Zoho: one poll per 30 s, the default).
   * Shorter only so a run of the command line can finish in seconds; polls faster than it still
   * get `slow_down`.
   */
  devicePollSeconds?: number;
  /**
   * Grant codes one client may get per 10 minutes, and refresh tokens one user may get from one
   * client per 10 minutes (Zoho: 10 each). Raised only where many test logins share one client
   * and user in one process; the limits themselves are tested at their defaults.
   */
  grantsPerWindow?: number;
  refreshTokensPerWindow?: number;
  /**
   * `check` (default): a code issued with a PKCE challenge is redeemed only with its verifier,
   * for every client type. `ignore-server`: server-based clients' verifiers are not checked,
   * which Zoho's docs leave open (they document PKCE for mobile and desktop clients only), so
   * tests can show what still refuses a code injection there. Also `LOCAL_ZOHO_PKCE` under
   * `npm start`, and POST /__admin/pkce?mode=.
   */
  pkce?: LocalZohoPkceMode;
  /** CRM modules beside Leads, Contacts, Accounts and Deals (a custom module, say), each with its fields. */
  modules?: LocalZohoModule[];
  /**
   * The orgs' CRM edition, which sets how many CRM calls one org may have in flight at once
   * (Zoho's concurrency limits, Kaizen #203): free 5, standard 10, professional 15, enterprise
   * 20 (the default), ultimate 25. One call more is answered 429 TOO_MANY_REQUESTS.
   */
  edition?: LocalZohoEdition;
}

export type LocalZohoEdition = 'free' | 'standard' | 'professional' | 'enterprise' | 'ultimate';
export const CONCURRENCY: Record<LocalZohoEdition, number> = { free: 5, standard: 10, professional: 15, enterprise: 20, ultimate: 25 };

export type LocalZohoPkceMode = 'check' | 'ignore-server';

/** What `issueGrant` takes: a code as if `email` had consented to `clientId` (the shared design's options). */
export interface LocalZohoGrant {
  clientId: string;
  email: string;
  /** The registered redirect URI the code is bound to; none (null) for a self client's console code. */
  redirectUri?: string | null;
  /** Default: the CRM modules, users and org (`APP_SCOPE`). */
  scope?: string;
  /** Default `offline` (a refresh token, as with `prompt=consent`). */
  accessType?: 'online' | 'offline';
  codeChallenge?: string;
  codeChallengeMethod?: 'S256' | 'plain';
  /** OpenID Connect: the nonce the exchange's ID token carries. */
  nonce?: string;
  /** Whether consent was asked again (`prompt=consent`; default true): a second consent without it gives no refresh token. */
  prompt?: boolean;
}

/** What Zoho knows of one refresh token (`usageOf`). */
export interface LocalZohoUsage {
  refreshes: number;
  crmCalls: number;
  live: boolean;
  liveAccessTokens: number;
}

export interface LocalZohoCounts {
  grantsIssued: number;
  grantExchanges: number;
  refreshes: number;
  rateLimited: number;
  revokes: number;
  crmCalls: number;
  crmRejected: number;
  /** CRM calls answered 429 because their org had its edition's limit of calls in flight. */
  crmThrottled: number;
  /** Device-flow polls (`/oauth/v3/device/token`), and those answered `slow_down` (under the interval). */
  devicePolls: number;
  deviceSlowDowns: number;
}

const MINUTE = 60_000;
/** Grant codes live 2 minutes (the accounts docs; CRM's page says 3: the stricter wins). */
export const GRANT_TTL = 2 * MINUTE;
export const ACCESS_TTL = 60 * MINUTE;
export const WINDOW = 10 * MINUTE;
export const GRANTS_PER_WINDOW = 10;
export const ACCESS_PER_WINDOW = 10;
export const REFRESH_TOKENS_PER_WINDOW = 10;
export const LIVE_ACCESS_PER_REFRESH = 15;
export const LIVE_REFRESH_PER_USER = 20;
export const DEVICE_CODE_TTL = 5 * MINUTE;
export const DEVICE_POLL_INTERVAL = 30_000;

export interface Client {
  id: string;
  type: LocalZohoClientType;
  secret: string | Record<string, string> | undefined;
  redirectUris: string[];
  jsDomains: string[];
}
export interface Grant {
  clientId: string;
  user: LocalZohoUser;
  dataCenter: string;
  /** Null for a self client's code, made in the console. */
  redirectUri: string | null;
  scope: string;
  expiresAt: number;
  used: boolean;
  challenge?: { value: string; method: string };
  /** The authorization request's OpenID Connect nonce, for the ID token. */
  nonce?: string;
  /** `offline` gets a refresh token on the first consent, and on every one with `prompt=consent`; `online` (Zoho's default) never. */
  accessType: 'online' | 'offline';
  prompt: boolean;
}
export interface Refresh {
  clientId: string;
  user: LocalZohoUser;
  dataCenter: string;
  scope: string;
  access: string[];
  minted: number[];
  /** Refresh requests made with this token, refused ones included. */
  refreshes: number;
  /** CRM calls answered with an access token minted from this refresh token. */
  crmCalls: number;
}
export interface Access {
  /** Null for a client-based app's token (the implicit flow has no refresh token). */
  refresh: string | null;
  clientId: string;
  user: LocalZohoUser;
  dataCenter: string;
  scope: string;
  expiresAt: number;
}
export interface DeviceRequest {
  clientId: string;
  scope: string;
  userCode: string;
  expiresAt: number;
  lastPoll: number;
  user: LocalZohoUser | null;
  refused: boolean;
  accessType: 'online' | 'offline';
  prompt: boolean;
}

export const ACCESS_DENIED = {
  error: 'Access Denied',
  error_description: 'You have made too many requests continuously. Please try again after some time.',
  status: 'failure',
};

export function isHttpUrl(value: string): boolean {
  try {
    const { protocol } = new URL(value);
    return protocol === 'http:' || protocol === 'https:';
  } catch {
    return false;
  }
}

/**
 * A token request's parameters: the query string (where Zoho's pages put them) and a form body
 * (which Zoho takes too), the body winning. A body that is no form reads as none.
 */
export async function paramsOf(request: Request, url: URL): Promise<URLSearchParams> {
  const params = new URLSearchParams(url.search);
  const form = await request.formData().catch(() => new FormData());
  for (const [key, value] of form) if (typeof value === 'string') params.set(key, value);
  return params;
}

export const accessTypeOf = (value: string | null): 'online' | 'offline' | null =>
  value === null || value === 'online' ? 'online' : value === 'offline' ? 'offline' : null;
