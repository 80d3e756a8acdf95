// Multi-tenant load through `npm start` (wrangler dev + local Zoho, on ports of its own, from a
// fresh state): many users in many orgs, half of them in Zoho's EU data center and half in the
// US one, log in through the Worker, then proxied calls at a
// fixed concurrency are spread over them, and halfway every access token is killed at Zoho
// (its clock jumps past the tokens' hour). Counted: errors, refreshes at Zoho, calls each user
// object received (its own counter, read through /admin/objects), objects holding tokens, and
// latency against the same call made straight to the local Zoho at the same concurrency.
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnStart } from '../spawn-start.ts';
import { adminHeaders, directToken, workerSession } from './local-app.ts';
import { latencyStat, type Stat } from './measure.ts';

const PORT = 38787;
const ZOHO_PORT = 38788;
const APP = `http://127.0.0.1:${PORT}`;
const ZOHO = `http://127.0.0.1:${ZOHO_PORT}`;
const CLIENT_ID = '1000.LOCALDEV';

export interface MultiTenantOptions {
  users: number;
  orgs: number;
  calls: number;
  concurrency: number;
}

export interface MultiTenantResult extends MultiTenantOptions {
  errors: number;
  /** Refresh requests Zoho received during the load, and at each data center's accounts server. */
  refreshes: number;
  refreshesByDataCenter: { us: number; eu: number };
  /** Users called after the tokens were killed: the refreshes there should be. */
  usersCalledAfterKill: number;
  /** Calls the user objects received, per proxied call, before and after the kill. */
  objectCallsPerCall: { beforeKill: number; afterKill: number };
  objectsHoldingTokens: number;
  proxied: Stat;
  direct: Stat;
  /** Proxied calls answered per second, over the whole load. */
  callsPerSecond: number;
  loginSeconds: number;
}

interface ObjectsPage {
  objects: { id: string; calls: number; tokens: number }[];
  next: string | null;
}

/** Every user object the directory knows, with its live counters. */
async function allObjects(): Promise<ObjectsPage['objects']> {
  const all: ObjectsPage['objects'] = [];
  for (let after = ''; ;) {
    const response = await fetch(`${APP}/admin/objects?limit=500&after=${encodeURIComponent(after)}`, { headers: adminHeaders() });
    if (!response.ok) throw new Error(`/admin/objects: HTTP ${response.status}`);
    const page = (await response.json()) as ObjectsPage;
    all.push(...page.objects);
    if (!page.next) return all;
    after = page.next;
  }
}

const totalCalls = async () => (await allObjects()).reduce((sum, o) => sum + o.calls, 0);
/** The local Zoho's test controls want this token (each run of npm start here is given it). */
const ADMIN_TOKEN = randomBytes(24).toString('base64url');
const zohoAdminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };
const refreshesAtZoho = async (query = `client_id=${CLIENT_ID}`) =>
  ((await (await fetch(`${ZOHO}/__admin/counts?${query}`, { headers: zohoAdminHeaders })).json()) as { refreshes: number }).refreshes;

/** Runs `count` tasks, `concurrency` at a time; `task(i)` gets the call's number. */
async function pool(count: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) await task(next++);
    }),
  );
}

/** `users` in `orgs` (every other org in the EU data center) log in, each from its own address; then waits for the directory to list them all. */
async function logInUsers(users: number, orgs: number): Promise<{ emails: string[]; cookies: string[]; loggedInAt: number[]; loginSeconds: number }> {
  // Every other org is in the EU data center: its users sign in at the US server and are sent on.
  const emails = Array.from({ length: users }, (_, i) => `user${i}@org${i % orgs}${(i % orgs) % 2 ? '.eu' : ''}.example`);
  const loginStart = performance.now();
  const cookies: string[] = [];
  const loggedInAt: number[] = [];
  // Each user logs in from their own address, as from their own browser.
  await pool(users, 10, async (i) => {
    cookies[i] = await workerSession(APP, ZOHO, emails[i]!, `10.0.${i >> 8}.${i & 255}`);
    loggedInAt[i] = Date.now();
  });
  const loginSeconds = (performance.now() - loginStart) / 1000;
  // Each new object reports itself to the directory from its alarm, due at once.
  for (let waited = 0; (await allObjects()).length < users; waited += 200) {
    if (waited > 60_000) throw new Error('the user objects did not all reach the directory within a minute');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return { emails, cookies, loggedInAt, loginSeconds };
}

export async function multiTenantLoad(options: MultiTenantOptions): Promise<MultiTenantResult> {
  const { users, orgs, calls, concurrency } = options;
  const app = await spawnStart({
    port: PORT,
    zohoPort: ZOHO_PORT,
    stateDir: mkdtempSync(join(tmpdir(), 'ets-bench-tenants-')),
    readyWithinMs: 120_000,
    env: { LOCAL_ZOHO_GRANTS_PER_WINDOW: String(users * 2), LOCAL_ZOHO_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  try {
    const { emails, cookies, loginSeconds } = await logInUsers(users, orgs);

    // The same call straight to the local Zoho, at the same concurrency, before any token dies.
    const accessToken = await directToken(APP, ZOHO, emails[0]!);
    const direct: number[] = [];
    await pool(calls / 2, concurrency, async () => {
      const begin = performance.now();
      const response = await fetch(`${ZOHO}/crm/v8/Leads?fields=Last_Name`, { headers: { authorization: `Zoho-oauthtoken ${accessToken}` } });
      await response.arrayBuffer();
      direct.push(performance.now() - begin);
    });

    const proxied: number[] = [];
    let errors = 0;
    const run = (from: number, to: number) =>
      pool(to - from, concurrency, async (k) => {
        const i = from + k;
        const begin = performance.now();
        const response = await fetch(`${APP}/crm/v8/Leads?fields=Last_Name`, { headers: { cookie: cookies[i % users]! } });
        await response.arrayBuffer();
        proxied.push(performance.now() - begin);
        if (response.status !== 200 && response.status !== 204) errors++;
      });

    const half = calls / 2;
    const calls0 = await totalCalls();
    const refreshes0 = await refreshesAtZoho();
    const byDc0 = { us: await refreshesAtZoho('dc=us'), eu: await refreshesAtZoho('dc=eu') };
    const loadStart = performance.now();
    await run(0, half);
    const calls1 = await totalCalls();
    // Kill every access token at Zoho: its clock jumps past their hour; the stored expiries still look fresh.
    await fetch(`${ZOHO}/__admin/advance?ms=${61 * 60_000}`, { method: 'POST', headers: zohoAdminHeaders });
    await run(half, calls);
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const calls2 = await totalCalls();
    const objects = await allObjects();
    return {
      ...options,
      errors,
      refreshes: (await refreshesAtZoho()) - refreshes0,
      refreshesByDataCenter: { us: (await refreshesAtZoho('dc=us')) - byDc0.us, eu: (await refreshesAtZoho('dc=eu')) - byDc0.eu },
      usersCalledAfterKill: new Set(Array.from({ length: half }, (_, k) => (half + k) % users)).size,
      objectCallsPerCall: { beforeKill: (calls1 - calls0) / half, afterKill: (calls2 - calls1) / half },
      objectsHoldingTokens: objects.filter((o) => o.tokens > 0).length,
      proxied: latencyStat(proxied),
      direct: latencyStat(direct),
      callsPerSecond: calls / loadSeconds,
      loginSeconds,
    };
  } finally {
    await app.stop();
  }
}

/** REFRESH_AHEAD_MS of src/worker/user-object.ts (a module only workerd loads), in seconds. */
const REFRESH_AHEAD_SECONDS = 5 * 60;
/** Seconds from a token's issue to its refresh point (its expiry minus REFRESH_AHEAD_SECONDS): the calls before it are about as many as after. */
const LEAD_SECONDS = 75;
/** After the last refresh point, how long the alarms are given before calls count as "after". */
const SETTLE_MS = 5_000;
/** How long calls go on once every refresh is done: about as long as the calls before the first refresh point, so both p99s come from as many calls. */
const AFTER_MS = 30_000;

export interface NaturalExpiryResult {
  /** False for the control run: tokens that outlive it, the same windows, nothing to refresh. */
  refreshing: boolean;
  users: number;
  concurrency: number;
  calls: number;
  errors: number;
  /** What the first failed call answered, for the report. */
  firstError: string | null;
  /** Refresh requests Zoho received during the calls: one per user means the alarms did them all, once. */
  refreshes: number;
  objectCallsPerCall: number;
  /** Calls before any refresh point (each user's first call, which wakes their object, left out); while the alarms refresh (the first refresh point to SETTLE_MS past the last); after. */
  before: Stat & { calls: number };
  during: Stat & { calls: number };
  after: Stat & { calls: number };
  callsPerSecond: number;
}

/**
 * Natural expiry: the local Zoho issues tokens that live REFRESH_AHEAD_SECONDS + LEAD_SECONDS (the
 * Worker's clock is the real one and cannot be moved), so each user's refresh point passes
 * while everyone keeps calling. Calls go on for AFTER_MS once the last refresh point is
 * SETTLE_MS behind (and stop before the first user's next refresh point); each counts as
 * before any refresh point, during the refreshes, or after. `refreshing: false` is the
 * control: tokens that live an hour, the same windows, so whatever changes between before and
 * after in it is the run's own drift, not a refresh's doing.
 */
export async function naturalExpiryLoad({
  users,
  orgs,
  concurrency,
  refreshing = true,
}: {
  users: number;
  orgs: number;
  concurrency: number;
  refreshing?: boolean;
}): Promise<NaturalExpiryResult> {
  const tokenSeconds = refreshing ? REFRESH_AHEAD_SECONDS + LEAD_SECONDS : 3600;
  const app = await spawnStart({
    port: PORT,
    zohoPort: ZOHO_PORT,
    stateDir: mkdtempSync(join(tmpdir(), 'ets-bench-expiry-')),
    readyWithinMs: 120_000,
    env: { LOCAL_ZOHO_GRANTS_PER_WINDOW: String(users * 2), LOCAL_ZOHO_ACCESS_TOKEN_SECONDS: String(tokenSeconds), LOCAL_ZOHO_ADMIN_TOKEN: ADMIN_TOKEN },
  });
  try {
    const { cookies, loggedInAt } = await logInUsers(users, orgs);
    // The token was issued just before the login answered: its refresh point is no later than this.
    const refreshPoint = loggedInAt.map((t) => t + LEAD_SECONDS * 1000);
    const first = Math.min(...refreshPoint);
    const settled = Math.max(...refreshPoint) + SETTLE_MS;
    // A refreshed token's own refresh point comes LEAD_SECONDS after its refresh: the run ends first.
    const until = Math.min(settled + AFTER_MS, first + LEAD_SECONDS * 1000 - 2_000);
    const before: number[] = [];
    const during: number[] = [];
    const after: number[] = [];
    let errors = 0;
    let firstError: string | null = null;
    let calls = 0;
    const calls0 = await totalCalls();
    const refreshes0 = await refreshesAtZoho();
    const loadStart = performance.now();
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < until) {
          const i = calls++ % users;
          // Each user's first call wakes their object: not counted as before a refresh point.
          const warmUp = calls <= users;
          const at = Date.now();
          const begin = performance.now();
          const response = await fetch(`${APP}/crm/v8/Leads?fields=Last_Name`, { headers: { cookie: cookies[i]! } });
          const body = await response.text();
          if (response.status !== 200 && response.status !== 204 && errors++ === 0) firstError = `HTTP ${response.status} ${body.slice(0, 200)}`;
          if (!warmUp) (at < first - 1_000 ? before : at > settled ? after : during).push(performance.now() - begin);
        }
      }),
    );
    const loadSeconds = (performance.now() - loadStart) / 1000;
    return {
      refreshing,
      users,
      concurrency,
      calls,
      errors,
      firstError,
      refreshes: (await refreshesAtZoho()) - refreshes0,
      objectCallsPerCall: ((await totalCalls()) - calls0) / calls,
      before: { ...latencyStat(before), calls: before.length },
      during: { ...latencyStat(during), calls: during.length },
      after: { ...latencyStat(after), calls: after.length },
      callsPerSecond: calls / loadSeconds,
    };
  } finally {
    await app.stop();
  }
}
