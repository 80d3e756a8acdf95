// The local Zoho's users, clients and small helpers, shared by its accounts and CRM halves.

/**
 * Zoho's client types (Zoho's OAuth docs, zoho.com/accounts/protocol/oauth, by client type): `server` (code flow, secret on
 * a server), `client` (a JavaScript app: implicit flow, no secret, no refresh token, CRM calls
 * from its JavaScript domains), `mobile` (mobile and desktop apps: code flow with PKCE, which
 * Zoho requires of them), `device` (non-browser apps: the device flow) and `self` (codes made
 * in the API console, for scripts).
 */
export type LocalZohoClientType = 'server' | 'client' | 'mobile' | 'device' | 'self';

export interface LocalZohoClient {
  clientId: string;
  /**
   * A multi-DC client's secret: one for every data center, or one per data center (as chosen in
   * Zoho's API console). Client-based clients have none.
   */
  clientSecret?: string | Record<string, string>;
  /** Default `server`. */
  type?: LocalZohoClientType;
  /** Registered redirect URIs: http(s) only, matched exactly. None registered: every redirect is refused. */
  redirectUris?: string[];
  /** Client-based clients: the origins whose pages may call the CRM API with this client's tokens. */
  jsDomains?: string[];
}

export interface LocalZohoUser {
  email: string;
  orgId: string;
  name: string;
  /** The user's data center, where their grants, tokens and data live (default "us"). */
  dataCenter?: string;
}

/** The scopes this project's Worker and demos ask for (Zoho names them; the stand-in enforces them). */
export const APP_SCOPE = 'ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ';
/** What the official SDK needs on top: it reads field metadata before a record call. */
export const SDK_SCOPE = `${APP_SCOPE},ZohoCRM.settings.fields.READ`;

/**
 * The client a `LocalZoho` knows when given none: a server-based client with a secret and two
 * redirect URIs, for tests that need one.
 *
 * ```ts
 * const oauth = zohoOAuth({ accountsUrl: url, ...DEFAULT_CLIENT, redirectUrl: DEFAULT_CLIENT.redirectUris[0] });
 * ```
 */
export const DEFAULT_CLIENT = {
  clientId: '1000.LOCALCLIENT',
  clientSecret: 'local-client-secret',
  redirectUris: ['https://app.example.com/callback', 'https://app.example.com/cb'],
} satisfies LocalZohoClient;

/**
 * The users a `LocalZoho` knows when given none (`ana@example.com`, `bo@example.com`,
 * `eva@example.eu`); any `user<N>@org<M>.example` signs in too.
 *
 * ```ts
 * const code = zoho.issueGrant({ clientId, email: DEFAULT_USERS[0].email, redirectUri });
 * ```
 */
export const DEFAULT_USERS: LocalZohoUser[] = [
  { email: 'ana@example.com', orgId: '7001', name: 'Ana Example' },
  { email: 'bo@example.com', orgId: '7002', name: 'Bo Example' },
  { email: 'eva@example.eu', orgId: '7101', name: 'Eva Example (EU)', dataCenter: 'eu' },
];

/**
 * Generated users, for tests and benchmarks that log in many: `user<N>@org<M>.example` exists
 * for any N and M below 100,000, in org M (zgid `9<M padded to 5>`), so 200 users in 20 orgs are
 * `user0@org0.example` ... `user199@org19.example` however they are spread. In another data
 * center: `user<N>@org<M>.<dc>.example` (`user3@org1.eu.example`).
 */
const GENERATED_USER = /^user(\d{1,5})@org(\d{1,5})(?:\.(us|eu|in|au|jp|ca|sa|cn|uk))?\.example$/;

export function generatedUser(email: string): LocalZohoUser | null {
  const match = GENERATED_USER.exec(email);
  if (!match) return null;
  return { email, orgId: `9${match[2]!.padStart(5, '0')}`, name: `User ${match[1]} of org ${match[2]}`, dataCenter: match[3] ?? 'us' };
}

export const json = (body: unknown, status = 200, headers: Record<string, string> = {}) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json;charset=UTF-8', ...headers } });

export function randomToken(kind: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return `1000.${kind}.${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * The seven digits that begin every id of one org, as Zoho's ids do: derived from the org,
 * never starting with 0 (ids are decimal strings; clients that read them as numbers must get
 * the same id back).
 */
export function orgIdPrefix(orgId: string): string {
  let prefix = 0;
  for (const char of orgId) prefix = (prefix * 31 + char.charCodeAt(0)) % 9_000_000;
  return String(1_000_000 + prefix);
}

/**
 * A record id as Zoho writes them: a 19-digit decimal string (too long for a JS number, so
 * it stays a string end to end): the org's seven digits, then a per-org sequence.
 */
export function recordId(orgId: string, sequence: number): string {
  return `${orgIdPrefix(orgId)}${String(sequence).padStart(12, '0')}`;
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export const htmlError = (title: string, text = '') =>
  new Response(`<!doctype html><meta charset="utf-8"><title>${escapeHtml(title)}</title><h1>${escapeHtml(title)}</h1><p>${escapeHtml(text)}</p>`, {
    status: 400,
    headers: { 'content-type': 'text/html;charset=utf-8' },
  });

/** Bytes as unpadded base64url (PKCE challenges, JWT parts). */
export const base64url = (bytes: Uint8Array) =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');

/** S256 (or plain) of a PKCE verifier, as RFC 7636 defines it. */
export async function pkceChallenge(verifier: string, method: string): Promise<string> {
  if (method === 'plain') return verifier;
  return base64url(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))));
}
