/**
 * A local stand-in for Zoho's accounts and CRM servers that follows Zoho's documented rules
 * (its OAuth docs at zoho.com/accounts/protocol/oauth and the CRM v8 API docs), taking the stricter reading where the docs are unclear: clients of
 * each type with their registered redirect URIs and JavaScript domains, PKCE, one-use grant
 * codes that expire, refresh and revoke, every token limit (per client, per refresh token, per
 * user), Zoho's error shapes (mostly HTTP 200 on the accounts server), scopes, CORS only where
 * Zoho sends it, several data centers, and the CRM v8 API in crm/.
 * Web APIs only: the same handler serves Node (node.ts), workerd (outboundService) and tests.
 * Its test controls (counters, a clock, failure switches) are methods here and /__admin/ routes
 * (admin.ts); options and limits are in options.ts. Never used in production.
 * test/node/local-zoho-*.test.ts state each documented behaviour and check it here.
 */
import { crmError, userRef, zohoTime } from './crm/answers.ts';
import { answerCrm } from './crm/index.ts';
import { modulesOf, type Module } from './crm/modules.ts';
import { OrgData, type CrmRecord } from './crm/org-data.ts';
import { unknownScopes } from './crm/scopes.ts';
import {
  ACCESS_DENIED,
  ACCESS_PER_WINDOW,
  ACCESS_TTL,
  type Access,
  CONCURRENCY,
  type Client,
  DEVICE_CODE_TTL,
  DEVICE_POLL_INTERVAL,
  type DeviceRequest,
  GRANTS_PER_WINDOW,
  GRANT_TTL,
  type Grant,
  LIVE_ACCESS_PER_REFRESH,
  LIVE_REFRESH_PER_USER,
  type LocalZohoCounts,
  type LocalZohoGrant,
  type LocalZohoUsage,
  type LocalZohoOptions,
  type LocalZohoPkceMode,
  REFRESH_TOKENS_PER_WINDOW,
  type Refresh,
  WINDOW,
  accessTypeOf,
  isHttpUrl,
  isPkceMode,
  paramsOf,
} from './options.ts';
import { answerAdmin } from './admin.ts';
import { IdTokenIssuer, wantsIdToken } from './id-token.ts';
import {
  APP_SCOPE,
  DEFAULT_CLIENT,
  DEFAULT_USERS,
  escapeHtml,
  generatedUser,
  htmlError,
  json,
  pkceChallenge,
  randomToken,
  type LocalZohoClient,
  type LocalZohoClientType,
  type LocalZohoUser,
} from './model.ts';

/**
 * A stand-in for Zoho's accounts server and CRM v8 as a `fetch` handler, following Zoho's
 * documented rules, with its test controls as methods (docs/testing.md).
 *
 * ```ts
 * const zoho = new LocalZoho();
 * const code = zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: DEFAULT_CLIENT.redirectUris[0] });
 * const answer = await zoho.fetch(new Request('http://zoho.local/oauth/v2/token', { method: 'POST', body }));
 * ```
 */
export class LocalZoho {
  readonly #clients = new Map<string, Client>();
  readonly users: LocalZohoUser[];
  #counts: LocalZohoCounts = LocalZoho.zeroCounts();
  readonly #clientCounts = new Map<string, LocalZohoCounts>();
  readonly #dataCenterCounts = new Map<string, LocalZohoCounts>();
  /** Milliseconds added to the real clock (`advance()`; admin: POST /__admin/advance?ms=). */
  #clockOffset = 0;
  /** When set, every token endpoint answers this instead (`overrideTokenEndpoint()`). */
  #tokenOverride: (() => Response) | null = null;
  /**
   * URLs (origin and path) that answer a 307 to another URL (admin: /__admin/redirect?url=&to=):
   * what an attacker who controls a hop between the client and Zoho would send. Not a thing
   * Zoho does. Keyed by origin too, so a test can use an origin of its own and leave others alone.
   */
  readonly #redirects = new Map<string, string>();
  /** How many requests reached /__sink/, where the redirects above point (`sinkHits()`). */
  #sinkHits = 0;
  /** Refresh tokens whose refreshes fail with this HTTP status (an outage for one user, in shared test runs). */
  readonly #failing = new Map<string, number>();
  /** While set, revokes are throttled: HTTP 400 with Zoho's "Access Denied" body (admin: /__admin/throttle-revokes). */
  #revokesThrottled = false;
  /** Whether PKCE verifiers of server-based clients are checked (LocalZohoOptions.pkce; `setPkce()`). */
  #pkce: LocalZohoPkceMode;
  /** The same, for one user's codes only (admin: /__admin/pkce?mode=&email=), so test files running at once keep their own mode. */
  readonly #pkceFor = new Map<string, LocalZohoPkceMode>();
  readonly #idTokens = new IdTokenIssuer();

  readonly #options: LocalZohoOptions;
  /** How long an access token lasts (ms): `accessTokenSeconds`, Zoho's hour by default. */
  readonly #accessTtl: number;
  /** The same, for one user's tokens (admin: /__admin/access-token-seconds?email=&seconds=), so test files running at once keep theirs. */
  readonly #accessTtlFor = new Map<string, number>();
  readonly #grants = new Map<string, Grant>();
  /** What became of each code presented at the token endpoint, so a test can ask about its own code (admin: counts?code=). */
  readonly #codeOutcomes = new Map<string, 'redeemed' | 'refused'>();
  readonly #grantTimes = new Map<string, number[]>();
  /** When each (client, user) got its refresh tokens, for the per-user creation limit. */
  readonly #refreshTimes = new Map<string, number[]>();
  readonly #refresh = new Map<string, Refresh>();
  readonly #access = new Map<string, Access>();
  /** Access tokens pushed out by a 16th, until they would have expired: INVALID_OAUTHTOKEN. */
  readonly #evicted = new Map<string, number>();
  readonly #devices = new Map<string, DeviceRequest>();
  /** The device flow's polling interval (ms): `devicePollSeconds`, Zoho's 30 s by default. */
  readonly #devicePollMs: number;
  readonly #modules: Map<string, Module>;
  readonly #orgs = new Map<string, OrgData>();
  /** Users each org has had sign in (its listed users are always there). */
  readonly #orgUsers = new Map<string, Map<string, LocalZohoUser>>();
  /** (client, user) pairs that consented offline once: later consents without prompt=consent get no refresh token. */
  readonly #offlineConsents = new Set<string>();
  readonly #inFlight = new Map<string, number>();
  readonly #concurrency: number;
  /** While set, CRM answers wait for it (holdCrm), so a test can have calls in flight at once. */
  #held: Promise<void> | null = null;
  /** The same, for one org's answers (holdCrm(orgId)), so test files running at once are not held by another's hold. */
  readonly #heldOrgs = new Map<string, Promise<void>>();

  constructor(options: LocalZohoOptions = {}) {
    this.#options = options;
    if (options.pkce !== undefined && !isPkceMode(options.pkce)) throw new TypeError("LocalZoho: pkce must be 'check' or 'ignore-server'");
    this.#pkce = options.pkce ?? 'check';
    for (const c of options.clients ?? [DEFAULT_CLIENT]) this.addClient(c);
    this.users = options.users ?? DEFAULT_USERS;
    this.#modules = modulesOf(options.modules);
    if (options.edition !== undefined && !(options.edition in CONCURRENCY))
      throw new TypeError(`LocalZoho: edition must be one of ${Object.keys(CONCURRENCY).join(', ')}`);
    this.#concurrency = CONCURRENCY[options.edition ?? 'enterprise'];
    const seconds = options.accessTokenSeconds ?? ACCESS_TTL / 1000;
    if (!Number.isInteger(seconds) || seconds < 1) throw new TypeError('LocalZoho: accessTokenSeconds must be a whole number of seconds, at least 1');
    this.#accessTtl = seconds * 1000;
    const poll = options.devicePollSeconds ?? DEVICE_POLL_INTERVAL / 1000;
    if (!Number.isInteger(poll) || poll < 1) throw new TypeError('LocalZoho: devicePollSeconds must be a whole number of seconds, at least 1');
    this.#devicePollMs = poll * 1000;
  }

  static zeroCounts(): LocalZohoCounts {
    return {
      grantsIssued: 0,
      grantExchanges: 0,
      refreshes: 0,
      rateLimited: 0,
      revokes: 0,
      crmCalls: 0,
      crmRejected: 0,
      crmThrottled: 0,
      devicePolls: 0,
      deviceSlowDowns: 0,
    };
  }

  /** Registers a client (tests that need a second client; `npm start` its demo clients). */
  addClient(client: LocalZohoClient): void {
    const type = client.type ?? 'server';
    this.#clients.set(client.clientId, {
      id: client.clientId,
      type,
      secret: type === 'client' ? undefined : client.clientSecret,
      redirectUris: (client.redirectUris ?? []).filter(isHttpUrl),
      jsDomains: type === 'client' ? (client.jsDomains ?? []).map((d) => new URL(d).origin) : [],
    });
  }

  /** What this Zoho received, every client and data center together (a copy). */
  counts(): LocalZohoCounts {
    return { ...this.#counts };
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
    this.#counts[what]++;
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

  #userDataCenter(user: LocalZohoUser): string {
    return this.#options.dataCenters ? (user.dataCenter ?? 'us') : (this.#options.location ?? 'us');
  }

  /** Zoho's clock: the real one, moved on by `advance()`. */
  now(): number {
    return Date.now() + this.#clockOffset;
  }

  /** Moves Zoho's clock on by `ms` (token and code expiry, the limits' windows); answers the new time. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new TypeError('LocalZoho: advance takes a number of milliseconds, at least 0');
    this.#clockOffset += ms;
    return this.now();
  }

  /** A listed user, or a generated one (`user<N>@org<M>.example`). */
  userByEmail(email: string): LocalZohoUser | null {
    return this.users.find((u) => u.email === email) ?? generatedUser(email);
  }

  #withinLimit(times: Map<string, number[]>, key: string, limit: number): boolean {
    const now = this.now();
    const recent = (times.get(key) ?? []).filter((t) => now - t < WINDOW);
    if (recent.length >= limit) return false;
    recent.push(now);
    times.set(key, recent);
    return true;
  }

  /**
   * Issues a grant code as if the user had consented (the consent page does the same), or, for
   * a self client, as its API console does (no redirect URI). Null when Zoho would refuse: an
   * unknown user or client, a redirect URI not registered, a mobile client without PKCE, or the
   * client's 10 codes per 10 minutes used up.
   */
  issueGrant(grant: LocalZohoGrant): string | null {
    const { clientId, email, redirectUri = null, ...options } = grant;
    const user = this.userByEmail(email);
    const client = this.#clients.get(clientId);
    if (!user || !client || !['server', 'mobile', 'self'].includes(client.type)) return null;
    if (client.type === 'self' ? redirectUri !== null : redirectUri === null || !client.redirectUris.includes(redirectUri)) return null;
    const method = options.codeChallengeMethod ?? 'plain';
    if (options.codeChallenge !== undefined && method !== 'S256' && method !== 'plain') return null;
    if (client.type === 'mobile' && !options.codeChallenge) return null;
    if (!this.#withinLimit(this.#grantTimes, clientId, this.#options.grantsPerWindow ?? GRANTS_PER_WINDOW)) return null;
    const code = randomToken('grant');
    this.#grants.set(code, {
      clientId,
      user,
      dataCenter: this.#userDataCenter(user),
      redirectUri,
      scope: options.scope ?? APP_SCOPE,
      expiresAt: this.now() + GRANT_TTL,
      used: false,
      ...(options.codeChallenge ? { challenge: { value: options.codeChallenge, method } } : {}),
      ...(options.nonce ? { nonce: options.nonce } : {}),
      // Without a browser, a grant is what an app asking offline access with prompt=consent gets.
      accessType: options.accessType ?? 'offline',
      prompt: options.prompt ?? true,
    });
    this.#count(clientId, 'grantsIssued');
    this.#signedIn(user);
    return code;
  }

  /** Everything a restart must keep (tokens, leads, limits), as JSON-safe data. */
  snapshot(): unknown {
    return {
      clockOffset: this.#clockOffset,
      grantTimes: [...this.#grantTimes],
      refreshTimes: [...this.#refreshTimes],
      refresh: [...this.#refresh].map(([token, r]) => [token, { ...r, user: r.user.email }]),
      access: [...this.#access].map(([token, a]) => [token, { ...a, user: a.user.email }]),
      records: [...this.#orgs].map(([org, data]) => [org, [...data.records]]),
      offlineConsents: [...this.#offlineConsents],
    };
  }

  /** Takes back what `snapshot` gave (users are matched by email; older snapshots lack scopes and owners on access tokens). */
  restore(data: unknown): void {
    type Saved<T> = Omit<T, 'user' | 'dataCenter' | 'scope' | 'clientId'> & { user?: string; dataCenter?: string; scope?: string; clientId?: string };
    const d = data as {
      clockOffset: number;
      grantTimes: [string, number[]][];
      refreshTimes?: [string, number[]][];
      refresh: [string, Saved<Refresh> & { user: string; clientId: string }][];
      access: [string, Saved<Access>][];
      /** Before modules: each org's Leads. */
      leads?: [string, CrmRecord[]][];
      records?: [string, [string, CrmRecord[]][]][];
      offlineConsents?: string[];
    };
    this.#clockOffset = d.clockOffset;
    for (const [client, times] of d.grantTimes) this.#grantTimes.set(client, times);
    for (const [key, times] of d.refreshTimes ?? []) this.#refreshTimes.set(key, times);
    for (const [token, r] of d.refresh) {
      const user = this.userByEmail(r.user);
      // Snapshots from before data centers and scopes: the one data center's, with the app's scope.
      if (user) this.#refresh.set(token, { ...r, user, dataCenter: r.dataCenter ?? this.#options.location ?? 'us', scope: r.scope ?? APP_SCOPE });
    }
    for (const [token, a] of d.access) {
      const parent = a.refresh ? this.#refresh.get(a.refresh) : undefined;
      const user = a.user ? this.userByEmail(a.user) : parent?.user;
      if (!user || (a.refresh && !parent)) continue;
      this.#access.set(token, {
        refresh: a.refresh,
        expiresAt: a.expiresAt,
        user,
        clientId: a.clientId ?? parent!.clientId,
        dataCenter: a.dataCenter ?? parent!.dataCenter,
        scope: a.scope ?? parent!.scope,
      });
    }
    for (const [org, leads] of d.leads ?? []) this.#org(org).restore('Leads', leads);
    for (const [org, modules] of d.records ?? []) for (const [module, records] of modules) this.#org(org).restore(module, records);
    for (const key of d.offlineConsents ?? []) this.#offlineConsents.add(key);
    // Whoever holds a refresh token has signed in to their org.
    for (const { user } of this.#refresh.values()) this.#signedIn(user);
  }

  fetch = async (request: Request): Promise<Response> => {
    const url = new URL(request.url);
    const path = url.pathname;
    if (path.startsWith('/__admin/')) return answerAdmin(this, request, url);
    if (path.startsWith('/__sink/')) {
      this.#sinkHits++;
      // Answers as a token endpoint would, so a client that followed the redirect would carry on as if nothing happened.
      return json({ access_token: randomToken('sink'), refresh_token: randomToken('sink'), api_domain: url.origin, expires_in: 3600, token_type: 'Bearer' });
    }
    const redirect = this.#redirects.get(`${url.origin}${path}`);
    if (redirect) return new Response(null, { status: 307, headers: { location: redirect } });
    // The CRM answers cross-origin calls from client-based apps' JavaScript domains; the accounts
    // server sends no CORS headers at all (nothing documents them on its token endpoints).
    if (path.startsWith('/crm/v8/') || /^\/crm\/(bulk|email)\/v8\//.test(path)) return this.#crm(request, url);
    if (path === '/oauth/v2/auth' && request.method === 'GET') return this.#consentPage(url);
    if (path === '/.well-known/openid-configuration' && request.method === 'GET') return json(IdTokenIssuer.discovery(url.origin));
    if (path === '/oauth/v2/keys' && request.method === 'GET') return json(await this.#idTokens.keys());
    if (path === '/oauth/v2/auth/approve' && request.method === 'POST') return this.#approve(request, url);
    if (path === '/oauth/v2/token/revoke' && request.method === 'POST') return this.#revoke(await paramsOf(request, url), url.origin);
    if (path === '/oauth/v2/token' && request.method === 'POST') {
      if (this.#tokenOverride) return this.#tokenOverride();
      return this.#token(await paramsOf(request, url), url.origin);
    }
    if (path === '/oauth/v3/device/code' && request.method === 'POST') return this.#deviceCode(await paramsOf(request, url), url.origin);
    if (path === '/oauth/v3/device/token' && request.method === 'POST') return this.#deviceToken(await paramsOf(request, url), url.origin);
    if (path === '/oauth/v3/device' && request.method === 'GET') return this.#devicePage(url);
    if (path === '/oauth/v3/device/approve' && request.method === 'POST') return this.#deviceDecision(request);
    return json({ error: 'not_found' }, 404);
  };

  // Test controls: typed methods here, the same as /__admin/ routes in admin.ts.

  /**
   * What Zoho knows of one refresh token (exact even when tests share a local Zoho): its
   * refresh requests, the CRM calls made with its access tokens, whether it is live (revoked,
   * or deleted by the 21st: false), and its live access tokens (Zoho keeps 15).
   */
  usageOf(refreshToken: string): LocalZohoUsage {
    const record = this.#refresh.get(refreshToken);
    return { refreshes: record?.refreshes ?? 0, crmCalls: record?.crmCalls ?? 0, live: !!record, liveAccessTokens: record?.access.length ?? 0 };
  }

  /** What became of a grant code at the token endpoint (null: never presented). */
  codeOutcome(code: string): 'redeemed' | 'refused' | null {
    return this.#codeOutcomes.get(code) ?? null;
  }

  /** How many refresh tokens of this user (any client) Zoho knows. */
  liveRefreshTokensOf(email: string): number {
    return [...this.#refresh.values()].filter((r) => r.user.email === email).length;
  }

  /** Zeroes the counts (of one client, or the totals). */
  resetCounts(clientId?: string): void {
    if (clientId) this.#clientCounts.set(clientId, LocalZoho.zeroCounts());
    else this.#counts = LocalZoho.zeroCounts();
  }

  /** How many requests reached `/__sink/`, where `redirectPath()` can point a hop. */
  sinkHits(): number {
    return this.#sinkHits;
  }

  /** Whether server-based clients' PKCE verifiers are checked, for every user or for one user's codes (`setPkce`). */
  pkceMode(email?: string): LocalZohoPkceMode {
    return (email && this.#pkceFor.get(email)) || this.#pkce;
  }

  /** Every token endpoint answers `answer()` instead, until called with null (outages, odd bodies). */
  overrideTokenEndpoint(answer: (() => Response) | null): void {
    this.#tokenOverride = answer;
  }

  /** Refreshes with this token answer this HTTP status (an outage for one user) until `recoverRefreshes`. */
  failRefreshes(refreshToken: string, status = 503): void {
    this.#failing.set(refreshToken, status);
  }

  recoverRefreshes(refreshToken: string): void {
    this.#failing.delete(refreshToken);
  }

  /** While on, revokes answer HTTP 400 with Zoho's "Access Denied" body. */
  throttleRevokes(on: boolean): void {
    this.#revokesThrottled = on;
  }

  /** How long the access tokens refreshed for one user last from now on, in seconds (Zoho's hour unless set). */
  setAccessTokenSeconds(email: string, seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 1) throw new TypeError('LocalZoho: an access token lasts a whole number of seconds, at least 1');
    this.#accessTtlFor.set(email, seconds * 1000);
  }

  /** Whether server-based clients' PKCE verifiers are checked, for every user or for one user's codes. */
  setPkce(mode: LocalZohoPkceMode, email?: string): void {
    if (!isPkceMode(mode)) throw new TypeError("LocalZoho: pkce must be 'check' or 'ignore-server'");
    if (email) this.#pkceFor.set(email, mode);
    else this.#pkce = mode;
  }

  /**
   * `url` (origin and path) answers a 307 to `to` (none: stops): what an attacker who controls a
   * hop between the client and Zoho would send. Not a thing Zoho does.
   */
  redirectPath(url: string, to: string | null): void {
    const from = new URL(url);
    if (to) this.#redirects.set(`${from.origin}${from.pathname}`, to);
    else this.#redirects.delete(`${from.origin}${from.pathname}`);
  }

  /** A person approving (or, with `reject`, refusing) a device's user code on Zoho's verification page; false when there is no such code. */
  decideDevice(userCode: string, email: string, reject = false): boolean {
    const request = [...this.#devices.values()].find((d) => d.userCode === userCode);
    const user = this.userByEmail(email);
    if (!request || !user || request.expiresAt < this.now()) return false;
    if (reject) request.refused = true;
    else request.user = user;
    return true;
  }

  /**
   * The authorization request, checked as Zoho checks it before showing consent: a known
   * client, a response type its type allows, a registered http(s) redirect URI, a scope, PKCE
   * for mobile clients, and a sign-in at a server that serves the user (checked on approval).
   */
  #authorization(params: URLSearchParams): { client: Client; redirectUri: string; scope: string } | Response {
    const client = this.#clients.get(params.get('client_id') ?? '');
    if (!client) return htmlError('Invalid Client', 'No client is registered with this id.');
    const redirectUri = params.get('redirect_uri') ?? '';
    if (!isHttpUrl(redirectUri) || !client.redirectUris.includes(redirectUri)) {
      return htmlError('Invalid Redirect Uri', 'The redirect URI is not one registered for this client.');
    }
    const expected = client.type === 'client' ? 'token' : 'code';
    if (params.get('response_type') !== expected || client.type === 'device' || client.type === 'self') {
      return htmlError('Invalid Response Type', `This client's type takes response_type=${expected}.`);
    }
    const scope = params.get('scope') ?? '';
    if (scope.trim() === '') return htmlError('Invalid Scope', 'A scope is required.');
    const unknown = unknownScopes(scope, [...this.#modules.keys()]);
    if (unknown.length > 0) return htmlError('Invalid OAuth Scope', `No such scope: ${unknown.join(', ')}.`);
    if (accessTypeOf(params.get('access_type')) === null) return htmlError('Invalid Request', 'access_type must be online or offline.');
    const prompt = params.get('prompt');
    if (prompt !== null && prompt !== 'consent' && prompt !== 'none') return htmlError('Invalid Request', 'prompt must be consent.');
    const challenge = params.get('code_challenge');
    const method = params.get('code_challenge_method') ?? 'plain';
    if (client.type === 'mobile' && !challenge) return htmlError('Invalid Request', 'Mobile and desktop clients must use PKCE (code_challenge).');
    if (challenge !== null && method !== 'S256' && method !== 'plain') return htmlError('Invalid Request', 'code_challenge_method must be S256 or plain.');
    return { client, redirectUri, scope };
  }

  /** Whether a user may sign in at the server of `here`: China's at the cn server only, others at theirs or the global (US) one. */
  #signsInHere(user: LocalZohoUser, here: string | null): boolean {
    if (!this.#options.dataCenters) return true;
    const home = user.dataCenter ?? 'us';
    if (home === 'cn' || here === 'cn') return home === here;
    return here === 'us' || here === home;
  }

  #consentPage(url: URL): Response {
    const params = url.searchParams;
    const checked = this.#authorization(params);
    if (checked instanceof Response) return checked;
    const hidden = [...params].map(([k, v]) => `<input type="hidden" name="${escapeHtml(k)}" value="${escapeHtml(v)}">`).join('');
    const options = this.users.map((u) => `<option value="${escapeHtml(u.email)}">${escapeHtml(u.name)} (${escapeHtml(u.email)})</option>`).join('');
    const html = `<!doctype html><meta charset="utf-8"><title>Local Zoho: consent</title>
<style>body{font:16px system-ui;max-width:32rem;margin:4rem auto}button{font-size:1rem;padding:.5rem 1.5rem}</style>
<h1>Local Zoho accounts</h1>
<p>An application (<code>${escapeHtml(checked.client.id)}</code>) asks for access to: <code>${escapeHtml(checked.scope)}</code></p>
<form method="post" action="/oauth/v2/auth/approve">${hidden}
<label>Sign in as <select name="email">${options}</select></label>
<p><label>or as any generated user <input name="generated" placeholder="user7@org3.example" pattern="user\\d{1,5}@org\\d{1,5}(\\.[a-z]{2})?\\.example"></label></p>
<p><button type="submit" id="accept" name="decision" value="accept">Accept</button> <button type="submit" id="reject" name="decision" value="reject">Reject</button></p></form>`;
    return new Response(html, { headers: { 'content-type': 'text/html;charset=utf-8' } });
  }

  async #approve(request: Request, url: URL): Promise<Response> {
    const form = await request.formData();
    const params = new URLSearchParams();
    for (const [k, v] of form) if (typeof v === 'string' && k !== 'email' && k !== 'generated' && k !== 'decision') params.set(k, v);
    return this.#decide(params, String(form.get('generated') || form.get('email') || ''), form.get('decision') === 'reject', url.origin);
  }

  /**
   * What the consent page does when `email` accepts (or, with `reject`, refuses) the
   * authorization request at `authorizationUrl`: the redirect Zoho would send the browser
   * (`?code=` or `?error=access_denied`, with `state`). Throws where Zoho would show an error
   * page instead (an unknown client, a redirect URI not registered, an unknown scope...).
   */
  async consent(authorizationUrl: string | URL, { email, reject = false }: { email: string; reject?: boolean }): Promise<string> {
    const url = new URL(authorizationUrl);
    const answer = await this.#decide(url.searchParams, email, reject, url.origin);
    const location = answer.headers.get('location');
    if (location) return location;
    const page = await answer.text();
    throw new Error(`local Zoho refused the authorization request: ${(/<h1>(.*?)<\/h1><p>(.*?)<\/p>/.exec(page) ?? []).slice(1).join(': ')}`);
  }

  async #decide(params: URLSearchParams, email: string, reject: boolean, origin: string): Promise<Response> {
    const url = new URL(origin);
    const checked = this.#authorization(params);
    if (checked instanceof Response) return checked;
    const { client, redirectUri, scope } = checked;
    const state = params.get('state');
    if (reject) {
      // The person said no: back to the app with OAuth's access_denied (in the fragment for the implicit flow).
      const target = new URL(redirectUri);
      const error = new URLSearchParams({ error: 'access_denied', ...(state !== null ? { state } : {}) });
      if (client.type === 'client') target.hash = error.toString();
      else for (const [k, v] of error) target.searchParams.set(k, v);
      return Response.redirect(target.toString(), 302);
    }
    const user = this.userByEmail(email);
    const here = this.#dataCenterAt(url.origin);
    if (!user) return htmlError('Access Denied', 'No such user.');
    if (!this.#signsInHere(user, here)) {
      const cn = user.dataCenter === 'cn';
      return htmlError(
        'Access Denied',
        cn ? "This account is in Zoho's China data center: sign in at accounts.zoho.com.cn." : 'This account does not sign in here.',
      );
    }
    const dataCenter = this.#userDataCenter(user);
    const home = this.#homeOf(dataCenter, url.origin);
    const target = new URL(redirectUri);
    if (client.type === 'client') {
      // The implicit flow: an access token (no refresh token) in the redirect's fragment.
      const accessToken = randomToken('access');
      this.#access.set(accessToken, { refresh: null, clientId: client.id, user, dataCenter, scope, expiresAt: this.now() + this.#accessTtl });
      this.#count(client.id, 'grantsIssued');
      const fragment = new URLSearchParams({
        access_token: accessToken,
        token_type: 'Bearer',
        expires_in: String(this.#accessTtl / 1000),
        api_domain: this.#apiDomain(dataCenter, url.origin),
        location: dataCenter,
      });
      if (state !== null) fragment.set('state', state);
      target.hash = fragment.toString();
      return Response.redirect(target.toString(), 302);
    }
    const code = this.issueGrant({
      clientId: client.id,
      email: user.email,
      redirectUri,
      scope,
      codeChallenge: params.get('code_challenge') ?? undefined,
      // Checked by issueGrant: anything but S256 or plain gets no code.
      codeChallengeMethod: (params.get('code_challenge_method') ?? undefined) as LocalZohoGrant['codeChallengeMethod'],
      nonce: params.get('nonce') ?? undefined,
      accessType: accessTypeOf(params.get('access_type')) ?? 'online',
      prompt: params.get('prompt') === 'consent',
    });
    if (!code) return htmlError('Access Denied', 'Too many requests: try again later.');
    target.searchParams.set('code', code);
    // Signed in at the global server, sent back to their own data center.
    target.searchParams.set('location', dataCenter);
    target.searchParams.set('accounts-server', home);
    if (state !== null) target.searchParams.set('state', state);
    return Response.redirect(target.toString(), 302);
  }

  #apiDomain(dataCenter: string, origin: string): string {
    return this.#options.dataCenters ? this.#homeOf(dataCenter, origin) : (this.#options.apiDomain ?? origin);
  }

  /** The client a token request names, if its secret is right for the data center it reached. */
  #client(form: URLSearchParams, here: string | null): Client | Response {
    const client = this.#clients.get(String(form.get('client_id') ?? ''));
    // Client-based apps have no secret and never reach the token endpoint.
    if (!client || client.type === 'client' || here === null) return json({ error: 'invalid_client' });
    const secret = typeof client.secret === 'object' ? client.secret[here] : client.secret;
    if (secret === undefined) return json({ error: 'invalid_client' });
    if (form.get('client_secret') !== secret) return json({ error: 'invalid_client_secret' });
    return client;
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
    const { clientId, user, dataCenter, scope } = record;
    const ttl = this.#accessTtlFor.get(user.email) ?? this.#accessTtl;
    this.#access.set(accessToken, { refresh: refreshToken, clientId, user, dataCenter, scope, expiresAt: now + ttl });
    record.access.push(accessToken);
    // The 16th live access token invalidates the oldest, which then answers INVALID_OAUTHTOKEN.
    while (record.access.length > LIVE_ACCESS_PER_REFRESH) {
      const oldest = record.access.shift()!;
      this.#evicted.set(oldest, this.#access.get(oldest)?.expiresAt ?? now);
      this.#access.delete(oldest);
    }
    const expires = this.#options.legacyExpiresIn ? { expires_in: ttl, expires_in_sec: ttl / 1000 } : { expires_in: ttl / 1000 };
    return json({ access_token: accessToken, api_domain: apiDomain, token_type: 'Bearer', ...expires });
  }

  /**
   * A new refresh token for a user, as a grant exchange or an approved device makes one: at most
   * 10 per user and client per 10 minutes ("Access Denied"), and the 21st live one deletes the
   * first, with its access tokens. Users are the same user by email, however they were looked up.
   */
  async #newRefreshToken(client: Client, user: LocalZohoUser, dataCenter: string, scope: string, origin: string): Promise<Response> {
    const limit = this.#options.refreshTokensPerWindow ?? REFRESH_TOKENS_PER_WINDOW;
    if (!this.#withinLimit(this.#refreshTimes, `${client.id}\u0000${user.email}`, limit)) {
      this.#count(client.id, 'rateLimited');
      return json(ACCESS_DENIED);
    }
    const refreshToken = randomToken('refresh');
    const record: Refresh = { clientId: client.id, user, dataCenter, scope, access: [], minted: [], refreshes: 0, crmCalls: 0 };
    this.#refresh.set(refreshToken, record);
    const mine = [...this.#refresh].filter(([, r]) => r.clientId === client.id && r.user.email === user.email);
    if (mine.length > LIVE_REFRESH_PER_USER) this.#dropRefresh(mine[0]![0]);
    const minted = this.#mint(refreshToken, record, this.#apiDomain(dataCenter, origin), false);
    return json({ ...((await minted.json()) as object), refresh_token: refreshToken });
  }

  /**
   * What a consent is worth at the token endpoint: with `access_type=offline`, a refresh token
   * on the first consent of this user to this client, and on any with `prompt=consent`;
   * otherwise an access token alone, which nothing can refresh.
   */
  async #tokensFor(
    client: Client,
    user: LocalZohoUser,
    dataCenter: string,
    scope: string,
    origin: string,
    consent: { accessType: 'online' | 'offline'; prompt: boolean },
  ): Promise<Response> {
    const key = `${client.id}\u0000${user.email}`;
    if (consent.accessType === 'offline' && (consent.prompt || !this.#offlineConsents.has(key))) {
      const answer = await this.#newRefreshToken(client, user, dataCenter, scope, origin);
      this.#offlineConsents.add(key);
      return answer;
    }
    const accessToken = randomToken('access');
    this.#access.set(accessToken, { refresh: null, clientId: client.id, user, dataCenter, scope, expiresAt: this.now() + this.#accessTtl });
    return json({ access_token: accessToken, api_domain: this.#apiDomain(dataCenter, origin), token_type: 'Bearer', expires_in: this.#accessTtl / 1000 });
  }

  async #token(form: URLSearchParams, origin: string): Promise<Response> {
    const here = this.#dataCenterAt(origin);
    const client = this.#client(form, here);
    if (client instanceof Response) return client;
    const grantType = form.get('grant_type');
    if (grantType === 'authorization_code') {
      this.#count(client.id, 'grantExchanges', here!);
      const presented = String(form.get('code') ?? '');
      const refused = (error: string) => (this.#codeOutcomes.set(presented, 'refused'), json({ error }));
      const grant = this.#grants.get(presented);
      // A grant is redeemable once, in time, by its client, at its own data center's accounts server.
      if (!grant || grant.used || grant.expiresAt < this.now() || grant.clientId !== client.id || grant.dataCenter !== here) return refused('invalid_code');
      if (grant.redirectUri !== null && form.get('redirect_uri') !== grant.redirectUri) return refused('invalid_redirect_uri');
      grant.used = true;
      // PKCE: a code issued with a challenge is redeemed only with its verifier (and a wrong one burns it),
      // unless this stand-in plays a Zoho that ignores PKCE for server-based clients.
      const pkce = this.#pkceFor.get(grant.user.email) ?? this.#pkce;
      if (grant.challenge && !(pkce === 'ignore-server' && client.type === 'server')) {
        const verifier = form.get('code_verifier');
        if (
          typeof verifier !== 'string' ||
          !/^[A-Za-z0-9\-._~]{43,128}$/.test(verifier) ||
          (await pkceChallenge(verifier, grant.challenge.method)) !== grant.challenge.value
        ) {
          return refused('invalid_code');
        }
      }
      this.#codeOutcomes.set(presented, 'redeemed');
      const answer = await this.#tokensFor(client, grant.user, here!, grant.scope, origin, grant);
      return wantsIdToken(grant.scope) ? this.#withIdToken(answer, client, grant, origin) : answer;
    }
    if (grantType === 'refresh_token') {
      this.#count(client.id, 'refreshes', here!);
      const refreshToken = String(form.get('refresh_token') ?? '');
      const record = this.#refresh.get(refreshToken);
      if (!record || record.clientId !== client.id) return json({ error: 'invalid_code' });
      // Another data center's server does not know this client's token there.
      if (record.dataCenter !== here) return json({ error: 'invalid_client' });
      record.refreshes++;
      const failing = this.#failing.get(refreshToken);
      if (failing) return new Response('Service Unavailable', { status: failing });
      return this.#mint(refreshToken, record, this.#apiDomain(here, origin), true);
    }
    return json({ error: 'unsupported_grant_type' });
  }

  /** A successful exchange's answer with its ID token (issued by the accounts server that answered). */
  async #withIdToken(answer: Response, client: Client, grant: Grant, origin: string): Promise<Response> {
    const body = (await answer.json()) as Record<string, unknown>;
    if (typeof body.access_token !== 'string') return json(body);
    const idToken = await this.#idTokens.issue({
      issuer: origin,
      clientId: client.id,
      user: grant.user,
      nonce: grant.nonce,
      accessToken: body.access_token,
      now: this.now(),
    });
    return json({ ...body, id_token: idToken });
  }

  /**
   * Zoho's verification page, where the person enters the device's user code (prefilled from
   * `?user_code=`), signs in and accepts or rejects.
   */
  #devicePage(url: URL): Response {
    const code = escapeHtml(url.searchParams.get('user_code') ?? '');
    const options = this.users.map((u) => `<option value="${escapeHtml(u.email)}">${escapeHtml(u.name)} (${escapeHtml(u.email)})</option>`).join('');
    const html = `<!doctype html><meta charset="utf-8"><title>Local Zoho: connect a device</title>
<style>body{font:16px system-ui;max-width:32rem;margin:4rem auto}button{font-size:1rem;padding:.5rem 1.5rem}input{font-size:1rem}</style>
<h1>Local Zoho accounts: connect a device</h1>
<p>Enter the code the device shows.</p>
<form method="post" action="/oauth/v3/device/approve">
<p><label>Code <input name="user_code" id="user-code" value="${code}" required autocomplete="off"></label></p>
<label>Sign in as <select name="email">${options}</select></label>
<p><label>or as any generated user <input name="generated" placeholder="user7@org3.example" pattern="user\\d{1,5}@org\\d{1,5}(\\.[a-z]{2})?\\.example"></label></p>
<p><button type="submit" id="accept" name="decision" value="accept">Accept</button> <button type="submit" id="reject" name="decision" value="reject">Reject</button></p></form>`;
    return new Response(html, { headers: { 'content-type': 'text/html;charset=utf-8' } });
  }

  /** The verification page's form: the person's decision on a user code, then a page saying what happened. */
  async #deviceDecision(request: Request): Promise<Response> {
    const form = await request.formData();
    const userCode = String(form.get('user_code') ?? '')
      .trim()
      .toUpperCase();
    const email = String(form.get('generated') || form.get('email') || '');
    const reject = form.get('decision') === 'reject';
    if (!this.decideDevice(userCode, email, reject)) return htmlError('Invalid code', 'No device is waiting for this code, or it expired.');
    const done = reject ? 'You refused access. The device will be told.' : 'Access granted. You can go back to the device.';
    return new Response(`<!doctype html><meta charset="utf-8"><title>Local Zoho: device</title><h1 id="done">${escapeHtml(done)}</h1>`, {
      headers: { 'content-type': 'text/html;charset=utf-8' },
    });
  }

  /** The device flow's first step: a user code for the person, a device code for the device. */
  #deviceCode(form: URLSearchParams, origin: string): Response {
    const client = this.#clients.get(String(form.get('client_id') ?? ''));
    if (!client || client.type !== 'device') return json({ error: 'invalid_client' });
    const scope = String(form.get('scope') ?? '');
    const accessType = accessTypeOf(form.get('access_type'));
    if (form.get('grant_type') !== 'device_request' || scope.trim() === '' || accessType === null) return json({ error: 'invalid_request' });
    if (unknownScopes(scope, [...this.#modules.keys()]).length > 0) return json({ error: 'invalid_scope' });
    const deviceCode = randomToken('device');
    const userCode = [...crypto.getRandomValues(new Uint8Array(4))]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('')
      .toUpperCase();
    const prompt = form.get('prompt') === 'consent';
    this.#devices.set(deviceCode, {
      clientId: client.id,
      scope,
      userCode,
      expiresAt: this.now() + DEVICE_CODE_TTL,
      lastPoll: 0,
      user: null,
      refused: false,
      accessType,
      prompt,
    });
    return json({
      user_code: userCode,
      device_code: deviceCode,
      interval: this.#devicePollMs / 1000,
      expires_in: DEVICE_CODE_TTL / 1000,
      verification_url: `${origin}/oauth/v3/device`,
    });
  }

  /** Polling: pending until approved, `slow_down` faster than every 30 s, `other_dc` at the wrong server. */
  async #deviceToken(form: URLSearchParams, origin: string): Promise<Response> {
    const here = this.#dataCenterAt(origin);
    const client = this.#client(form, here);
    if (client instanceof Response) return client;
    const code = String(form.get('code') ?? '');
    const request = this.#devices.get(code);
    if (form.get('grant_type') !== 'device_token' || !request || request.clientId !== client.id) return json({ error: 'invalid_code' });
    this.#count(client.id, 'devicePolls');
    if (request.expiresAt < this.now()) return json({ error: 'expired' });
    const now = this.now();
    const tooSoon = now - request.lastPoll < this.#devicePollMs;
    request.lastPoll = now;
    if (tooSoon) {
      this.#count(client.id, 'deviceSlowDowns');
      return json({ error: 'slow_down' });
    }
    if (request.refused) return (this.#devices.delete(code), json({ error: 'access_denied' }));
    if (!request.user) return json({ error: 'authorization_pending' });
    const dataCenter = this.#userDataCenter(request.user);
    // The docs' polling feedback: the user's data center as `user_location`, where the device polls next.
    if (dataCenter !== here) return json({ error: 'other_dc', user_location: dataCenter });
    this.#devices.delete(code);
    return this.#tokensFor(client, request.user, dataCenter, request.scope, origin, request);
  }

  #dropRefresh(refreshToken: string): void {
    for (const access of this.#refresh.get(refreshToken)?.access ?? []) this.#access.delete(access);
    this.#refresh.delete(refreshToken);
  }

  /** Revokes a refresh token (and the access tokens minted from it) or one access token; 400 with no body for a token this server does not know. */
  #revoke(params: URLSearchParams, origin: string): Response {
    const token = params.get('token') ?? '';
    const here = this.#dataCenterAt(origin);
    // Another data center's server does not know the token.
    const found = this.#refresh.get(token) ?? this.#access.get(token);
    const record = found && found.dataCenter === here ? found : undefined;
    if (record) this.#count(record.clientId, 'revokes');
    else this.#counts.revokes++;
    if (this.#revokesThrottled) return json(ACCESS_DENIED, 400);
    if (!record) return new Response(null, { status: 400 });
    if (this.#refresh.has(token)) this.#dropRefresh(token);
    else this.#dropAccess(token);
    return json({ status: 'success' });
  }

  #dropAccess(accessToken: string): void {
    const access = this.#access.get(accessToken);
    this.#access.delete(accessToken);
    const parent = access?.refresh ? this.#refresh.get(access.refresh) : undefined;
    if (parent) parent.access = parent.access.filter((t) => t !== accessToken);
  }

  /**
   * What a person does on Zoho's "Connected Apps" page: remove an app's access. Every refresh
   * and access token of this user for this client is revoked; returns how many refresh tokens.
   */
  revokeUserAccess(email: string, clientId: string): number {
    const mine = [...this.#refresh].filter(([, r]) => r.clientId === clientId && r.user.email === email);
    for (const [token] of mine) this.#dropRefresh(token);
    for (const [token, a] of [...this.#access]) if (a.clientId === clientId && a.user.email === email) this.#access.delete(token);
    this.#offlineConsents.delete(`${clientId}\u0000${email}`);
    return mine.length;
  }

  /** CORS for a client-based app's page: only its registered JavaScript domains, only on the CRM API. */
  #corsOrigin(request: Request, access: Access | undefined): string | null {
    const origin = request.headers.get('origin');
    if (!origin) return null;
    const clients = access ? [this.#clients.get(access.clientId)] : [...this.#clients.values()];
    return clients.some((c) => c?.jsDomains.includes(origin)) ? origin : null;
  }

  async #crm(request: Request, url: URL): Promise<Response> {
    if (request.method === 'OPTIONS') {
      const origin = this.#corsOrigin(request, undefined);
      if (!origin) return new Response(null, { status: 204 });
      return new Response(null, {
        status: 204,
        headers: {
          'access-control-allow-origin': origin,
          'access-control-allow-headers': 'authorization, content-type',
          'access-control-allow-methods': 'GET, POST, PUT, DELETE',
          vary: 'origin',
        },
      });
    }
    const accessToken = this.#accessTokenOf(request);
    const access = accessToken === null ? undefined : this.#access.get(accessToken);
    const answer = await this.#crmAnswer(request, url, accessToken, access);
    const origin = this.#corsOrigin(request, access);
    if (!origin) return answer;
    const headers = new Headers(answer.headers);
    headers.set('access-control-allow-origin', origin);
    headers.set('vary', 'origin');
    return new Response(answer.body, { status: answer.status, headers });
  }

  #accessTokenOf(request: Request): string | null {
    const match = /^Zoho-oauthtoken (\S+)$/.exec(request.headers.get('authorization') ?? '');
    return match ? match[1]! : null;
  }

  async #crmAnswer(request: Request, url: URL, accessToken: string | null, access: Access | undefined): Promise<Response> {
    const rejected = (code: string, message: string) => {
      this.#counts.crmCalls++;
      this.#counts.crmRejected++;
      return crmError(401, code, message);
    };
    if (accessToken === null) return rejected('AUTHENTICATION_FAILURE', 'Authentication failed');
    if (!access) {
      const evicted = this.#evicted.get(accessToken);
      if (evicted !== undefined && evicted > this.now()) return rejected('INVALID_OAUTHTOKEN', 'invalid oauth token');
      return rejected('INVALID_TOKEN', 'invalid oauth token');
    }
    if (access.expiresAt <= this.now() || access.dataCenter !== this.#dataCenterAt(url.origin)) return rejected('INVALID_TOKEN', 'invalid oauth token');
    const { user } = access;
    // Zoho's concurrency limit: calls of one org in flight at once, by edition. This stand-in
    // answers at once, so calls overlap only while held (holdCrm): the limit never depends on
    // how fast the machine running the tests is.
    const held = this.#held ?? this.#heldOrgs.get(user.orgId);
    if (held) {
      const inFlight = this.#inFlight.get(user.orgId) ?? 0;
      if (inFlight >= this.#concurrency) {
        this.#count(access.clientId, 'crmThrottled');
        return crmError(429, 'TOO_MANY_REQUESTS', 'The concurrency limit of the org has been exceeded', { limit: this.#concurrency });
      }
      this.#inFlight.set(user.orgId, inFlight + 1);
      await held.finally(() => this.#inFlight.set(user.orgId, (this.#inFlight.get(user.orgId) ?? 1) - 1));
    }
    // The bulk and email APIs: tokens checked as for every CRM call, then Zoho's 404 (not served here).
    const answer = !url.pathname.startsWith('/crm/v8/')
      ? crmError(404, 'INVALID_URL_PATTERN', 'Please check if the URL trying to access is a correct one')
      : await answerCrm(request, url, url.pathname.slice('/crm/v8/'.length), {
          user,
          orgUsers: this.#usersOf(user.orgId),
          org: this.#org(user.orgId),
          modules: this.#modules,
          scope: access.scope,
          now: this.now(),
        });
    // A refresh cannot cure a missing scope (401 OAUTH_SCOPE_MISMATCH): the login must ask for it.
    if (answer.status === 401) {
      this.#counts.crmCalls++;
      this.#counts.crmRejected++;
      return answer;
    }
    this.#count(access.clientId, 'crmCalls');
    if (access.refresh) this.#refresh.get(access.refresh)!.crmCalls++;
    return answer;
  }

  #org(orgId: string): OrgData {
    let org = this.#orgs.get(orgId);
    if (!org) this.#orgs.set(orgId, (org = new OrgData(orgId)));
    return org;
  }

  #signedIn(user: LocalZohoUser): void {
    let users = this.#orgUsers.get(user.orgId);
    if (!users) this.#orgUsers.set(user.orgId, (users = new Map()));
    if (!users.has(user.email)) users.set(user.email, user);
  }

  /** An org's users: its listed ones first (the first is its administrator), then those who signed in. */
  #usersOf(orgId: string): LocalZohoUser[] {
    const listed = this.users.filter((u) => u.orgId === orgId);
    const others = [...(this.#orgUsers.get(orgId)?.values() ?? [])].filter((u) => !listed.some((l) => l.email === u.email));
    return [...listed, ...others];
  }

  /** CRM calls of one org in flight now (held by holdCrm), toward its edition's concurrency limit. */
  inFlightOf(orgId: string): number {
    return this.#inFlight.get(orgId) ?? 0;
  }

  /**
   * Holds every CRM answer (or only those of org `orgId`) until the returned function is called:
   * the calls stay in flight, counting toward their org's concurrency limit, so a test can reach
   * it without timing.
   */
  holdCrm(orgId?: string): () => void {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    if (orgId === undefined) this.#held = held;
    else this.#heldOrgs.set(orgId, held);
    return () => {
      if (this.#held === held) this.#held = null;
      if (orgId !== undefined && this.#heldOrgs.get(orgId) === held) this.#heldOrgs.delete(orgId);
      release();
    };
  }

  /** Adds records to the org of `email` as if its user had created them (test data); returns their ids. */
  addRecords(email: string, module: string, records: Record<string, unknown>[]): string[] {
    const user = this.userByEmail(email);
    const definition = this.#modules.get(module);
    if (!user || !definition) throw new TypeError(`LocalZoho.addRecords: no user ${email} or no module ${module}`);
    const org = this.#org(user.orgId);
    const time = zohoTime(this.now());
    const by = { name: user.name, id: userRef(user).id };
    this.#signedIn(user);
    return records.map((fields) => {
      const id = org.newId();
      org
        .of(definition)
        .push({ ...fields, id, Owner: userRef(user), Created_Time: time, Modified_Time: time, Created_By: by, Modified_By: by, $approved: true });
      return id;
    });
  }
}
