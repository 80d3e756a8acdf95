/**
 * A local stand-in for Zoho's accounts and CRM servers, as ../shared/zoho-notes.md describes
 * them: one-use grant codes that expire, refresh and revoke, the per-token limits, Zoho's
 * error shapes (mostly HTTP 200), and a few CRM endpoints that demand a live access token.
 * Web APIs only: the same handler serves Node (node.ts), workerd (outboundService) and tests.
 * It counts what it receives so tests can assert calls. Nothing here is used in production.
 */

export interface LocalZohoClient {
  clientId: string;
  clientSecret: string;
}

export interface LocalZohoUser {
  email: string;
  orgId: string;
  name: string;
  /** The user's data center, where their grants, tokens and data live (default "us"). */
  dataCenter?: string;
}

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
   * -> origin. Users sign in anywhere and are sent back with their own data center's
   * `location` and `accounts-server`; their tokens work only there, as Zoho's do.
   */
  dataCenters?: Record<string, string>;
  /** Answer `expires_in` in milliseconds with `expires_in_sec`, as older servers do. */
  legacyExpiresIn?: boolean;
  /**
   * Grant codes one client may get per 10 minutes (Zoho: 10). Raised only where many test
   * logins share one client; the limit itself is tested at its default.
   */
  grantsPerWindow?: number;
}

export interface LocalZohoCounts {
  grantsIssued: number;
  grantExchanges: number;
  refreshes: number;
  rateLimited: number;
  revokes: number;
  crmCalls: number;
  crmRejected: number;
}

const MINUTE = 60_000;
const GRANT_TTL = 3 * MINUTE;
const ACCESS_TTL = 60 * MINUTE;
const WINDOW = 10 * MINUTE;
const GRANTS_PER_WINDOW = 10;
const ACCESS_PER_WINDOW = 10;
const LIVE_ACCESS_PER_REFRESH = 15;
const LIVE_REFRESH_PER_USER = 20;

interface Grant {
  clientId: string;
  user: LocalZohoUser;
  dataCenter: string;
  redirectUri: string;
  expiresAt: number;
  used: boolean;
}
interface Refresh {
  clientId: string;
  user: LocalZohoUser;
  dataCenter: string;
  access: string[];
  minted: number[];
  /** Refresh requests made with this token, refused ones included. */
  refreshes: number;
  /** CRM calls answered with an access token minted from this refresh token. */
  crmCalls: number;
}
interface Access {
  refresh: string;
  expiresAt: number;
}

const ACCESS_DENIED = {
  error: 'Access Denied',
  error_description: 'You have made too many requests continuously. Please try again after some time.',
  status: 'failure',
};
const INVALID_TOKEN = { code: 'INVALID_TOKEN', details: {}, message: 'invalid oauth token', status: 'error' };

/**
 * Generated users, for tests and benchmarks that log in many: `user<N>@org<M>.example` exists
 * for any N and M below 100,000, in org M (zgid `9<M padded to 5>`), so 200 users in 20 orgs are
 * `user0@org0.example` ... `user199@org19.example` however they are spread. In another data
 * center: `user<N>@org<M>.<dc>.example` (`user3@org1.eu.example`).
 */
const GENERATED_USER = /^user(\d{1,5})@org(\d{1,5})(?:\.(us|eu|in|au|jp|ca|sa|cn))?\.example$/;

export function generatedUser(email: string): LocalZohoUser | null {
  const match = GENERATED_USER.exec(email);
  if (!match) return null;
  return { email, orgId: `9${match[2]!.padStart(5, '0')}`, name: `User ${match[1]} of org ${match[2]}`, dataCenter: match[3] ?? 'us' };
}

export const DEFAULT_CLIENT: LocalZohoClient = { clientId: '1000.LOCALCLIENT', clientSecret: 'local-client-secret' };
export const DEFAULT_USERS: LocalZohoUser[] = [
  { email: 'ana@example.com', orgId: '7001', name: 'Ana Example' },
  { email: 'bo@example.com', orgId: '7002', name: 'Bo Example' },
  { email: 'eva@example.eu', orgId: '7101', name: 'Eva Example (EU)', dataCenter: 'eu' },
];

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json;charset=UTF-8' } });

function randomToken(kind: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(20));
  return `1000.${kind}.${[...bytes].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * A record id as Zoho writes them: a 19-digit decimal string (too long for a JS number, so
 * it stays a string end to end). Seven digits derived from the org, then a per-org sequence.
 */
export function recordId(orgId: string, sequence: number): string {
  let prefix = 0;
  for (const char of orgId) prefix = (prefix * 31 + char.charCodeAt(0)) % 9_000_000;
  return `${1_000_000 + prefix}${String(sequence).padStart(12, '0')}`;
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The Leads fields this stand-in keeps, in the shape of Zoho's field metadata. */
const LEAD_FIELDS = ['Last_Name', 'First_Name', 'Company', 'Email'].map((apiName, i) => ({
  id: String(7000 + i),
  api_name: apiName,
  field_label: apiName.replace('_', ' '),
  data_type: apiName === 'Email' ? 'email' : 'text',
  json_type: 'string',
  system_mandatory: apiName === 'Last_Name',
}));

export class LocalZoho {
  readonly clients = new Map<string, string>();
  readonly users: LocalZohoUser[];
  counts: LocalZohoCounts = LocalZoho.zeroCounts();
  readonly #clientCounts = new Map<string, LocalZohoCounts>();
  readonly #dataCenterCounts = new Map<string, LocalZohoCounts>();
  /** Milliseconds added to the real clock (admin: POST /__admin/advance?ms=). */
  clockOffset = 0;
  /** When set, every token endpoint answers this instead (to test outages and odd bodies). */
  tokenOverride: (() => Response) | null = null;
  /** Refresh tokens whose refreshes fail with this HTTP status (an outage for one user, in shared test runs). */
  readonly #failing = new Map<string, number>();

  readonly #options: LocalZohoOptions;
  readonly #grants = new Map<string, Grant>();
  readonly #grantTimes = new Map<string, number[]>();
  readonly #refresh = new Map<string, Refresh>();
  readonly #access = new Map<string, Access>();
  readonly #leads = new Map<string, Record<string, unknown>[]>();

  constructor(options: LocalZohoOptions = {}) {
    this.#options = options;
    for (const c of options.clients ?? [DEFAULT_CLIENT]) this.clients.set(c.clientId, c.clientSecret);
    this.users = options.users ?? DEFAULT_USERS;
  }

  static zeroCounts(): LocalZohoCounts {
    return { grantsIssued: 0, grantExchanges: 0, refreshes: 0, rateLimited: 0, revokes: 0, crmCalls: 0, crmRejected: 0 };
  }

  /** Counts for one client (tests that share a local Zoho each use their own client). */
  countsFor(clientId: string): LocalZohoCounts {
    let counts = this.#clientCounts.get(clientId);
    if (!counts) this.#clientCounts.set(clientId, (counts = LocalZoho.zeroCounts()));
    return counts;
  }

  /** Counts at one data center's servers (with `dataCenters`; otherwise everything is "us"). */
  countsAt(dataCenter: string): LocalZohoCounts {
    let counts = this.#dataCenterCounts.get(dataCenter);
    if (!counts) this.#dataCenterCounts.set(dataCenter, (counts = LocalZoho.zeroCounts()));
    return counts;
  }

  #count(clientId: string, what: keyof LocalZohoCounts, dataCenter?: string): void {
    this.counts[what]++;
    this.countsFor(clientId)[what]++;
    if (dataCenter) this.countsAt(dataCenter)[what]++;
  }

  /** The data center a request reached, by its origin; null for an origin that is none of them. */
  #dataCenterAt(origin: string): string | null {
    const table = this.#options.dataCenters;
    if (!table) return this.#options.location ?? 'us';
    return Object.entries(table).find(([, o]) => new URL(o).origin === origin)?.[0] ?? null;
  }

  /** Where a user's data center lives (its accounts server and API), as seen from `origin`. */
  #homeOf(dataCenter: string, origin: string): string {
    const table = this.#options.dataCenters;
    return table?.[dataCenter] ? new URL(table[dataCenter]!).origin : origin;
  }

  now(): number {
    return Date.now() + this.clockOffset;
  }

  /** A listed user, or a generated one (`user<N>@org<M>.example`). */
  userByEmail(email: string): LocalZohoUser | null {
    return this.users.find((u) => u.email === email) ?? generatedUser(email);
  }

  /** Issues a grant code as if the user had consented (the consent page does the same). */
  issueGrant(clientId: string, email: string, redirectUri: string): string | null {
    const user = this.userByEmail(email);
    if (!user || !this.clients.has(clientId)) return null;
    const now = this.now();
    const times = (this.#grantTimes.get(clientId) ?? []).filter((t) => now - t < WINDOW);
    if (times.length >= (this.#options.grantsPerWindow ?? GRANTS_PER_WINDOW)) return null;
    times.push(now);
    this.#grantTimes.set(clientId, times);
    const code = randomToken('grant');
    const dataCenter = this.#options.dataCenters ? (user.dataCenter ?? 'us') : (this.#options.location ?? 'us');
    this.#grants.set(code, { clientId, user, dataCenter, redirectUri, expiresAt: now + GRANT_TTL, used: false });
    this.#count(clientId, 'grantsIssued');
    return code;
  }

  /** Refresh requests made with one refresh token (exact even when tests share a local Zoho). */
  refreshesOf(refreshToken: string): number {
    return this.#refresh.get(refreshToken)?.refreshes ?? 0;
  }

  /** Everything a restart must keep (tokens, leads, limits), as JSON-safe data. */
  snapshot(): unknown {
    return {
      clockOffset: this.clockOffset,
      grantTimes: [...this.#grantTimes],
      refresh: [...this.#refresh].map(([token, r]) => [token, { ...r, user: r.user.email }]),
      access: [...this.#access],
      leads: [...this.#leads],
    };
  }

  /** Takes back what `snapshot` gave (users are matched by email). */
  restore(data: unknown): void {
    const d = data as {
      clockOffset: number;
      grantTimes: [string, number[]][];
      refresh: [string, Omit<Refresh, 'user' | 'dataCenter'> & { user: string; dataCenter?: string }][];
      access: [string, Access][];
      leads: [string, Record<string, unknown>[]][];
    };
    this.clockOffset = d.clockOffset;
    for (const [client, times] of d.grantTimes) this.#grantTimes.set(client, times);
    for (const [token, r] of d.refresh) {
      const user = this.userByEmail(r.user);
      // Snapshots from before data centers: every token was the one data center's.
      if (user) this.#refresh.set(token, { ...r, dataCenter: r.dataCenter ?? this.#options.location ?? 'us', user });
    }
    for (const [token, a] of d.access) if (this.#refresh.has(a.refresh)) this.#access.set(token, a);
    for (const [org, leads] of d.leads) this.#leads.set(org, leads);
  }

  /** Registers a client at run time (tests that need a second client). */
  addClient(client: LocalZohoClient): void {
    this.clients.set(client.clientId, client.clientSecret);
  }

  /** Live access tokens minted from a refresh token (for tests of the 15-token limit). */
  liveAccessTokens(refreshToken: string): number {
    return this.#refresh.get(refreshToken)?.access.length ?? 0;
  }

  fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path.startsWith('/__admin/')) return this.#admin(request, url);
    if (path === '/oauth/v2/auth' && request.method === 'GET') return this.#consentPage(url);
    if (path === '/oauth/v2/auth/approve' && request.method === 'POST') return this.#approve(request, url);
    if (path === '/oauth/v2/token/revoke' && request.method === 'POST') return this.#revoke(url);
    if (path === '/oauth/v2/token' && request.method === 'POST') {
      if (this.tokenOverride) return this.tokenOverride();
      return this.#token(await request.formData(), url.origin);
    }
    if (path.startsWith('/crm/v8/')) return this.#crm(request, url);
    return json({ error: 'not_found' }, 404);
  };

  #admin(request: Request, url: URL): Response {
    const op = url.pathname.slice('/__admin/'.length);
    const clientId = url.searchParams.get('client_id');
    const refreshToken = url.searchParams.get('refresh_token');
    if (op === 'counts' && refreshToken) {
      const record = this.#refresh.get(refreshToken);
      return json({ refreshes: record?.refreshes ?? 0, crmCalls: record?.crmCalls ?? 0 });
    }
    const dataCenter = url.searchParams.get('dc');
    if (op === 'counts') return json(dataCenter ? this.countsAt(dataCenter) : clientId ? this.countsFor(clientId) : this.counts);
    if (request.method !== 'POST') return json({ error: 'method' }, 405);
    if (op === 'clients' && clientId) {
      this.clients.set(clientId, url.searchParams.get('client_secret') ?? '');
      return json({ ok: true });
    }
    if (op === 'reset') {
      if (clientId) this.#clientCounts.set(clientId, LocalZoho.zeroCounts());
      else this.counts = LocalZoho.zeroCounts();
      return json({ ok: true });
    }
    if (op === 'fail' && refreshToken) {
      this.#failing.set(refreshToken, Number(url.searchParams.get('status') ?? 503));
      return json({ ok: true });
    }
    if (op === 'recover' && refreshToken) {
      this.#failing.delete(refreshToken);
      return json({ ok: true });
    }
    if (op === 'advance') {
      this.clockOffset += Number(url.searchParams.get('ms') ?? 0);
      return json({ ok: true, now: this.now() });
    }
    if (op === 'grant') {
      const code = this.issueGrant(
        url.searchParams.get('client_id') ?? '',
        url.searchParams.get('email') ?? '',
        url.searchParams.get('redirect_uri') ?? '',
      );
      return code ? json({ code }) : json({ error: 'refused' }, 400);
    }
    return json({ error: 'not_found' }, 404);
  }

  #consentPage(url: URL): Response {
    const params = url.searchParams;
    const clientId = params.get('client_id') ?? '';
    if (params.get('response_type') !== 'code' || !this.clients.has(clientId) || !params.get('redirect_uri')) {
      return new Response('<h1>Invalid Client</h1>', { status: 400, headers: { 'content-type': 'text/html' } });
    }
    const hidden = [...params].map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
    const options = this.users.map((u) => `<option value="${escapeHtml(u.email)}">${escapeHtml(u.name)} (${escapeHtml(u.email)})</option>`).join('');
    const html = `<!doctype html><meta charset="utf-8"><title>Local Zoho: consent</title>
<style>body{font:16px system-ui;max-width:32rem;margin:4rem auto}button{font-size:1rem;padding:.5rem 1.5rem}</style>
<h1>Local Zoho accounts</h1>
<p>An application (<code>${escapeHtml(clientId)}</code>) asks for access to: <code>${escapeHtml(params.get('scope') ?? '')}</code></p>
<form method="post" action="/oauth/v2/auth/approve">${hidden}
<label>Sign in as <select name="email">${options}</select></label>
<p><label>or as any generated user <input name="generated" placeholder="user7@org3.example" pattern="user\\d{1,5}@org\\d{1,5}\\.example"></label></p>
<p><button type="submit" id="accept">Accept</button></p></form>`;
    return new Response(html, { headers: { 'content-type': 'text/html;charset=utf-8' } });
  }

  async #approve(request: Request, url: URL): Promise<Response> {
    const form = await request.formData();
    const redirectUri = String(form.get('redirect_uri') ?? '');
    const email = String(form.get('generated') || form.get('email') || '');
    const code = this.issueGrant(String(form.get('client_id') ?? ''), email, redirectUri);
    if (!code) return new Response('<h1>Access Denied</h1>', { status: 400, headers: { 'content-type': 'text/html' } });
    const grant = this.#grants.get(code)!;
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    // Signed in anywhere (Zoho's global sign-in), sent back to their own data center.
    target.searchParams.set('location', grant.dataCenter);
    target.searchParams.set('accounts-server', this.#homeOf(grant.dataCenter, url.origin));
    const state = form.get('state');
    if (state !== null) target.searchParams.set('state', String(state));
    return Response.redirect(target.toString(), 302);
  }

  #client(form: FormData): Response | string {
    const clientId = String(form.get('client_id') ?? '');
    const secret = this.clients.get(clientId);
    if (secret === undefined) return json({ error: 'invalid_client' });
    if (form.get('client_secret') !== secret) return json({ error: 'invalid_client_secret' });
    return clientId;
  }

  /** Mints an access token; refreshes count toward the 10-per-10-minutes limit, the grant's first does not. */
  #mint(refreshToken: string, record: Refresh, apiDomain: string, byRefresh: boolean): Response {
    const now = this.now();
    if (byRefresh) {
      record.minted = record.minted.filter((t) => now - t < WINDOW);
      if (record.minted.length >= ACCESS_PER_WINDOW) {
        this.#count(record.clientId, 'rateLimited');
        return json(ACCESS_DENIED);
      }
      record.minted.push(now);
    }
    const accessToken = randomToken('access');
    this.#access.set(accessToken, { refresh: refreshToken, expiresAt: now + ACCESS_TTL });
    record.access.push(accessToken);
    // The 16th live access token invalidates the oldest.
    while (record.access.length > LIVE_ACCESS_PER_REFRESH) this.#access.delete(record.access.shift()!);
    const expires = this.#options.legacyExpiresIn
      ? { expires_in: ACCESS_TTL, expires_in_sec: ACCESS_TTL / 1000 }
      : { expires_in: ACCESS_TTL / 1000 };
    return json({ access_token: accessToken, api_domain: apiDomain, token_type: 'Bearer', ...expires });
  }

  async #token(form: FormData, origin: string): Promise<Response> {
    const client = this.#client(form);
    if (client instanceof Response) return client;
    const here = this.#dataCenterAt(origin);
    if (here === null) return json({ error: 'invalid_client' });
    const apiDomain = (dc: string) => (this.#options.dataCenters ? this.#homeOf(dc, origin) : (this.#options.apiDomain ?? origin));
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code') {
      this.#count(client, 'grantExchanges', here);
      const grant = this.#grants.get(String(form.get('code') ?? ''));
      // A grant is redeemable only at its own data center's accounts server.
      if (!grant || grant.used || grant.expiresAt < this.now() || grant.clientId !== client || grant.dataCenter !== here) return json({ error: 'invalid_code' });
      if (form.get('redirect_uri') !== grant.redirectUri) return json({ error: 'invalid_redirect_uri' });
      grant.used = true;
      const refreshToken = randomToken('refresh');
      const record: Refresh = { clientId: client, user: grant.user, dataCenter: here, access: [], minted: [], refreshes: 0, crmCalls: 0 };
      this.#refresh.set(refreshToken, record);
      // The 21st refresh token of a user and client deletes the first, with its access tokens.
      const mine = [...this.#refresh].filter(([, r]) => r.clientId === client && r.user === grant.user);
      if (mine.length > LIVE_REFRESH_PER_USER) this.#dropRefresh(mine[0]![0]);
      const minted = this.#mint(refreshToken, record, apiDomain(here), false);
      const body = await minted.json();
      return json({ ...(body as object), refresh_token: refreshToken });
    }
    if (grantType === 'refresh_token') {
      this.#count(client, 'refreshes', here);
      const refreshToken = String(form.get('refresh_token') ?? '');
      const record = this.#refresh.get(refreshToken);
      if (!record || record.clientId !== client) return json({ error: 'invalid_code' });
      // Another data center's server does not know this client's token there.
      if (record.dataCenter !== here) return json({ error: 'invalid_client' });
      record.refreshes++;
      const failing = this.#failing.get(refreshToken);
      if (failing) return new Response('Service Unavailable', { status: failing });
      return this.#mint(refreshToken, record, apiDomain(here), true);
    }
    return json({ error: 'unsupported_grant_type' });
  }

  #dropRefresh(refreshToken: string): void {
    for (const access of this.#refresh.get(refreshToken)?.access ?? []) this.#access.delete(access);
    this.#refresh.delete(refreshToken);
  }

  #revoke(url: URL): Response {
    const token = url.searchParams.get('token') ?? '';
    const found = this.#refresh.get(token);
    // Another data center's server does not know the token.
    const record = found && found.dataCenter === this.#dataCenterAt(url.origin) ? found : undefined;
    if (record) this.#count(record.clientId, 'revokes');
    else this.counts.revokes++;
    if (!record) return json({ error: 'invalid_token', status: 'failure' }, 400);
    this.#dropRefresh(token);
    return json({ status: 'success' });
  }

  async #crm(request: Request, url: URL): Promise<Response> {
    const header = request.headers.get('authorization') ?? '';
    const accessToken = header.startsWith('Zoho-oauthtoken ') ? header.slice('Zoho-oauthtoken '.length) : '';
    const access = this.#access.get(accessToken);
    const refresh = access && this.#refresh.get(access.refresh);
    if (!access || !refresh || access.expiresAt <= this.now() || refresh.dataCenter !== this.#dataCenterAt(url.origin)) {
      this.counts.crmCalls++;
      this.counts.crmRejected++;
      return json(INVALID_TOKEN, 401);
    }
    this.#count(refresh.clientId, 'crmCalls');
    refresh.crmCalls++;
    const { user } = refresh;
    const route = url.pathname.slice('/crm/v8/'.length);
    if (route === 'users' && url.searchParams.get('type') === 'CurrentUser') {
      return json({ users: [{ id: `${user.orgId}000001`, email: user.email, full_name: user.name, status: 'active' }] });
    }
    if (route === 'org') return json({ org: [{ id: `${user.orgId}000`, zgid: user.orgId, company_name: `Org ${user.orgId}` }] });
    // The official SDK reads a module's field metadata before its first record call.
    if (route === 'settings/fields' && url.searchParams.get('module') === 'Leads') return json({ fields: LEAD_FIELDS });
    const leads = this.#leads.get(user.orgId) ?? [];
    this.#leads.set(user.orgId, leads);
    if (route === 'Leads' && request.method === 'GET') {
      const perPage = Math.min(Number(url.searchParams.get('per_page') ?? 200) || 200, 200);
      return leads.length === 0
        ? new Response(null, { status: 204 })
        : json({ data: leads.slice(0, perPage), info: { per_page: perPage, count: Math.min(leads.length, perPage), page: 1, more_records: leads.length > perPage } });
    }
    if (route === 'Leads' && request.method === 'POST') {
      let body: { data?: Record<string, unknown>[] };
      try {
        body = (await request.json()) as typeof body;
      } catch {
        return json({ code: 'INVALID_DATA', details: {}, message: 'body is not JSON', status: 'error' }, 400);
      }
      if (!Array.isArray(body.data) || body.data.length === 0) {
        return json({ code: 'INVALID_DATA', details: {}, message: 'data is required', status: 'error' }, 400);
      }
      const results = body.data.map((lead) => {
        const id = recordId(user.orgId, leads.length + 1);
        leads.push({ ...lead, id, Created_Time: new Date(this.now()).toISOString() });
        return { code: 'SUCCESS', details: { id }, message: 'record added', status: 'success' };
      });
      return json({ data: results }, 201);
    }
    const one = /^Leads\/(\d+)$/.exec(route);
    if (one && request.method === 'GET') {
      const lead = leads.find((l) => l.id === one[1]);
      return lead ? json({ data: [lead] }) : json({ code: 'INVALID_URL_PATTERN', details: {}, message: 'record not found', status: 'error' }, 404);
    }
    return json({ code: 'INVALID_URL_PATTERN', details: {}, message: 'Please check if the URL trying to access is a correct one', status: 'error' }, 404);
  }
}
