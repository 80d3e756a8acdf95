/**
 * The bad days: a failing Zoho is backed off; a user is erased on request; idle tokens are
 * purged; audit events say what happened without a secret. Clocks here are the tests' own.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT, LocalZoho } from 'edge-token-store/testing';
import { TokenStoreError } from '../../src/store/errors.ts';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createTokenManager, type TokenEvent, type TokenManagerOptions } from '../../src/zoho/token-manager.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import { REDIRECT, ZOHO_ORIGIN } from '../shared/local-zoho.ts';

const DAY = 86_400_000;

/** A local Zoho that can go down, a clock the test moves, and a count of token-endpoint calls. */
function setup(extra: Partial<TokenManagerOptions> = {}) {
  const zoho = new LocalZoho({ grantsPerWindow: 1000 });
  const calls = { token: 0, revoke: 0 };
  let down: null | (() => Response) = null;
  const zohoFetch: typeof fetch = async (input, init) => {
    const request = new Request(input, init);
    const path = new URL(request.url).pathname;
    if (path === '/oauth/v2/token') calls.token++;
    if (path === '/oauth/v2/token/revoke') calls.revoke++;
    if (down && path.startsWith('/oauth/')) return down();
    return zoho.fetch(request);
  };
  const clock = { now: Date.now() };
  const oauth = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, ...DEFAULT_CLIENT, redirectUrl: REDIRECT, fetch: zohoFetch, now: () => clock.now });
  const store = createMemoryStore();
  const events: TokenEvent[] = [];
  const manager = createTokenManager({ store, oauth, fetch: zohoFetch, lock: null, now: () => clock.now, onEvent: (e) => events.push(e), ...extra });
  const login = async (email = 'ana@example.com') =>
    manager.exchangeGrant(zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: email, redirectUri: REDIRECT })!);
  return {
    zoho,
    calls,
    clock,
    store,
    manager,
    events,
    login,
    goDown: (answer: () => Response) => void (down = answer),
    comeBack: () => void (down = null),
  };
}

const unavailable = () => new Response('Service Unavailable', { status: 503 });
const accessDenied = () =>
  Response.json({
    error: 'Access Denied',
    error_description: 'You have made too many requests continuously. Please try again after some time.',
    status: 'failure',
  });

/** 100 callers in 10 waves of 10, 100 ms apart: every outcome. */
async function waves(t: ReturnType<typeof setup>, id: string) {
  const outcomes: PromiseSettledResult<unknown>[] = [];
  for (let wave = 0; wave < 10; wave++) {
    outcomes.push(...(await Promise.allSettled(Array.from({ length: 10 }, () => t.manager.getAccessToken({ id })))));
    t.clock.now += 100;
  }
  return outcomes;
}

function expectAllWaiting(outcomes: PromiseSettledResult<unknown>[], code: TokenStoreError['code']) {
  for (const outcome of outcomes) {
    expect(outcome.status).toBe('rejected');
    const error = (outcome as PromiseRejectedResult).reason as TokenStoreError;
    expect(error).toBeInstanceOf(TokenStoreError);
    expect([error.code, error.retryable]).toEqual([code, true]);
    expect(error.retryAfterMs).toBeGreaterThan(0);
  }
}

describe('back-off from a failing Zoho', () => {
  it('an outage: 100 callers over a second reach Zoho at most 3 times, then one refresh serves all', async () => {
    const t = setup();
    const saved = await t.login();
    await t.store.saveToken({ id: saved.id, expiryTime: t.clock.now - 1 });
    const stored = await t.store.findTokenById(saved.id);
    t.goDown(unavailable);
    const before = t.calls.token;
    expectAllWaiting(await waves(t, saved.id), 'ZOHO_UNAVAILABLE');
    expect(t.calls.token - before).toBeLessThanOrEqual(3);
    expect(t.calls.token - before).toBeGreaterThanOrEqual(1);
    expect(await t.store.findTokenById(saved.id)).toEqual(stored);

    t.comeBack();
    t.clock.now += 5 * 60_000; // past any wait so far
    const served = await Promise.all(Array.from({ length: 100 }, () => t.manager.getAccessToken({ id: saved.id })));
    expect(new Set(served.map((s) => s.accessToken)).size).toBe(1);
    expect(t.zoho.usageOf(saved.refreshToken!).refreshes).toBe(1);
  });

  it("Zoho's rate limit: one refused call, then the token waits Zoho's minute without calling again", async () => {
    const t = setup();
    const saved = await t.login();
    await t.store.saveToken({ id: saved.id, expiryTime: t.clock.now - 1 });
    t.goDown(accessDenied);
    const before = t.calls.token;
    expectAllWaiting(await waves(t, saved.id), 'ZOHO_RATE_LIMITED');
    expect(t.calls.token - before).toBe(1);
  });

  it('a failing accounts server backs off every token on it, with waits that grow to a cap', async () => {
    const t = setup({ backoff: { baseMs: 1_000, capMs: 8_000, random: () => 0 } });
    const ana = await t.login('ana@example.com');
    const bo = await t.login('bo@example.com');
    for (const { id } of [ana, bo]) await t.store.saveToken({ id, expiryTime: t.clock.now - 1 });
    t.goDown(unavailable);
    const waits: number[] = [];
    for (let i = 0; i < 6; i++) {
      const before = t.calls.token;
      const error = await t.manager.getAccessToken({ id: ana.id }).catch((e: TokenStoreError) => e);
      expect(t.calls.token - before).toBe(1);
      waits.push((error as TokenStoreError).retryAfterMs!);
      // Bo's token is on the same server: turned away without a call.
      const boError = (await t.manager.getAccessToken({ id: bo.id }).catch((e: TokenStoreError) => e)) as TokenStoreError;
      expect([boError.code, t.calls.token - before]).toEqual(['ZOHO_UNAVAILABLE', 1]);
      t.clock.now += waits.at(-1)!;
    }
    // random() = 0: half of 1, 2, 4, 8 s, then the cap.
    expect(waits).toEqual([500, 1_000, 2_000, 4_000, 4_000, 4_000]);
    t.comeBack();
    await t.manager.getAccessToken({ id: ana.id });
    t.goDown(unavailable);
    await t.store.saveToken({ id: ana.id, expiryTime: t.clock.now - 1 });
    // A success ended the run of failures: the next wait starts small again.
    expect(((await t.manager.getAccessToken({ id: ana.id }).catch((e: TokenStoreError) => e)) as TokenStoreError).retryAfterMs).toBe(500);
  });

  it('honours a Retry-After that Zoho sends with a 503', async () => {
    const t = setup({ backoff: { random: () => 0 } });
    const saved = await t.login();
    await t.store.saveToken({ id: saved.id, expiryTime: t.clock.now - 1 });
    t.goDown(() => new Response('busy', { status: 503, headers: { 'retry-after': '30' } }));
    const error = (await t.manager.getAccessToken({ id: saved.id }).catch((e: TokenStoreError) => e)) as TokenStoreError;
    expect(error.retryAfterMs).toBe(30_000);
  });
});

describe('erase a user on request', () => {
  it('revokes at Zoho and deletes; erasing someone not stored is not an error', async () => {
    const t = setup();
    const saved = await t.login();
    expect(await t.manager.erase({ userName: saved.userName! })).toEqual({ found: true, revokedAtZoho: true, deleted: 1 });
    expect(await t.store.getTokens()).toEqual([]);
    expect(t.zoho.usageOf(saved.refreshToken!).liveAccessTokens).toBe(0);
    expect(await t.manager.erase({ userName: saved.userName! })).toEqual({ found: false, revokedAtZoho: false, deleted: 0 });
  });

  it('a revoke that fails at Zoho still deletes here, and says so', async () => {
    const t = setup();
    const saved = await t.login();
    t.goDown(unavailable);
    expect(await t.manager.erase({ id: saved.id })).toEqual({ found: true, revokedAtZoho: false, deleted: 1 });
    expect(await t.store.getTokens()).toEqual([]);
  });
});

describe('purge idle tokens', () => {
  it('revokes then deletes tokens idle longer than the period; keeps the others', async () => {
    const t = setup();
    const idle = await t.login('ana@example.com');
    const active = await t.login('bo@example.com');
    t.clock.now += 91 * DAY;
    await t.manager.getAccessToken({ id: active.id }); // used today: refreshed
    const revokesBefore = t.calls.revoke;
    expect(await t.manager.purgeIdle({ idleMs: 90 * DAY })).toEqual({ purged: 1, revokeFailed: 0 });
    expect((await t.store.getTokens()).map((token) => token.id)).toEqual([active.id]);
    expect(t.calls.revoke - revokesBefore).toBe(1);
    expect(t.zoho.usageOf(idle.refreshToken!).liveAccessTokens).toBe(0);
    expect((await t.manager.purgeIdle({ idleMs: 90 * DAY })).purged).toBe(0);
  });

  it('stops at max, so a bounded run (a Worker invocation) purges the rest next time', async () => {
    const t = setup();
    for (const email of ['ana@example.com', 'bo@example.com', 'user1@org1.example']) await t.login(email);
    t.clock.now += 91 * DAY;
    expect(await t.manager.purgeIdle({ idleMs: 90 * DAY, max: 2 })).toEqual({ purged: 2, revokeFailed: 0 });
    expect(await t.store.getTokens()).toHaveLength(1);
    expect(await t.manager.purgeIdle({ idleMs: 90 * DAY, max: 2 })).toEqual({ purged: 1, revokeFailed: 0 });
  });

  it('refuses a period that is not a positive number', async () => {
    const t = setup();
    for (const idleMs of [0, -1, Number.NaN, '90' as never]) {
      await expect(t.manager.purgeIdle({ idleMs })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    }
  });
});

describe('audit events', () => {
  it('say what happened to which token, for login, refresh, failed refresh, back-off, revoke, erase and purge', async () => {
    const t = setup();
    const a = await t.login('ana@example.com');
    await t.store.saveToken({ id: a.id, expiryTime: t.clock.now - 1 });
    await t.manager.getAccessToken({ id: a.id });
    await t.store.saveToken({ id: a.id, expiryTime: t.clock.now - 1 });
    t.goDown(unavailable);
    await t.manager.getAccessToken({ id: a.id }).catch(() => undefined);
    t.comeBack();
    const b = await t.login('bo@example.com');
    await t.manager.revoke({ id: b.id });
    const c = await t.login('bo@example.com');
    await t.manager.erase({ id: c.id });
    t.clock.now += 100 * DAY;
    await t.manager.purgeIdle({ idleMs: 90 * DAY });
    expect(t.events.map((e) => e.type)).toEqual(['login', 'refresh', 'refresh_failed', 'backoff', 'login', 'revoke', 'login', 'erase', 'purge']);
    expect(t.events.find((e) => e.type === 'backoff')).toMatchObject({ code: 'ZOHO_UNAVAILABLE', retryAfterMs: expect.any(Number) });
    // Only ids, codes, waits and the user name (for the caller to hash): never a token or secret.
    const text = JSON.stringify(t.events);
    for (const secret of [a.accessToken, a.refreshToken, b.refreshToken, c.refreshToken, DEFAULT_CLIENT.clientSecret]) expect(text).not.toContain(secret);
  });
});
