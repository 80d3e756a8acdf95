/**
 * Zoho's device flow in `zohoOAuth().startDeviceLogin()`, against the local Zoho in process: the
 * person approves (or refuses) on the verification page; the client polls at Zoho's interval,
 * backs off on `slow_down`, follows `other_dc` to the user's data center, and the tokens land
 * sealed through a token manager, which then refreshes them. The clock is the local Zoho's:
 * each wait moves it, so no test waits on the real one.
 */
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, it, vi } from 'vitest';
import { APP_SCOPE, LocalZoho, type LocalZohoClient } from 'edge-token-store/testing';
import { createSqlStore } from '../../src/backends/sql.ts';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { isTokenStoreError } from '../../src/store/errors.ts';
import { zohoOAuth, type ZohoOAuthOptions } from '../../src/zoho/oauth.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';

const DEVICE: LocalZohoClient = { clientId: '1000.DEVICECLIENT', type: 'device', clientSecret: 'device-secret' };
const ORIGINS = { us: 'http://us.zoho.local', eu: 'http://eu.zoho.local' };

/**
 * A local Zoho with a device client, and an OAuth client whose waits are the test's to end:
 * `poll()` lets the pending wait end (moving that Zoho's clock by it, less `drift` the second
 * time: a device whose clock runs fast) and returns once the poll after it has been answered.
 */
function setup(oauthOptions: Partial<ZohoOAuthOptions> = {}, drift = 0) {
  const zoho = new LocalZoho({ clients: [DEVICE], dataCenters: ORIGINS });
  let release: (() => void) | null = null;
  let waits = 0;
  const oauth = zohoOAuth({
    clientId: DEVICE.clientId,
    clientSecret: 'device-secret',
    dataCenter: 'any',
    dataCenters: { us: { accounts: ORIGINS.us, apiDomain: ORIGINS.us }, eu: { accounts: ORIGINS.eu, apiDomain: ORIGINS.eu } },
    fetch: (input, init) => zoho.fetch(new Request(input, init)),
    now: () => zoho.now(),
    wait: (ms, signal) =>
      new Promise<void>((resolve, reject) => {
        signal?.addEventListener('abort', () => reject(new Error('aborted')));
        release = () => {
          zoho.advance(ms - (++waits === 2 ? drift : 0));
          resolve();
        };
      }),
    ...oauthOptions,
  });
  /** Ends the pending wait; resolves when the poll after it is answered (the next wait is pending) or `until` settled. */
  async function poll(until?: Promise<unknown>) {
    let settled = false;
    void until?.then(
      () => (settled = true),
      () => (settled = true),
    );
    await vi.waitUntil(() => release !== null);
    const end = release!;
    release = null;
    end();
    await vi.waitUntil(() => release !== null || settled);
  }
  /** Ends waits until `promise` settles. */
  async function pollUntilSettled<T>(promise: Promise<T>): Promise<T> {
    let settled = false;
    void promise.then(
      () => (settled = true),
      () => (settled = true),
    );
    while (!settled) await poll(promise);
    return promise;
  }
  return { zoho, oauth, poll, pollUntilSettled, counts: () => zoho.countsFor(DEVICE.clientId) };
}

/** The person's decision on Zoho's verification page, as the form posts it. */
async function decide(zoho: LocalZoho, origin: string, userCode: string, email: string, decision: 'accept' | 'reject' = 'accept') {
  const page = await zoho.fetch(new Request(`${origin}/oauth/v3/device?user_code=${userCode}`));
  expect(await page.text()).toContain(`value="${userCode}"`);
  const response = await zoho.fetch(
    new Request(`${origin}/oauth/v3/device/approve`, { method: 'POST', body: new URLSearchParams({ user_code: userCode, email, decision }) }),
  );
  expect(response.status).toBe(200);
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(isTokenStoreError(error)).toBe(true);
  return (error as { code: string }).code;
}

describe('zohoOAuth().startDeviceLogin(): Zoho device flow', () => {
  it('shows a user code and URL, polls until the person accepts, and the token lands sealed, named, and refreshes', async () => {
    const { zoho, oauth, poll, pollUntilSettled, counts } = setup();
    const login = await oauth.startDeviceLogin({ scope: APP_SCOPE });
    expect(login.userCode).toMatch(/^[0-9A-F]{8}$/);
    expect(login.verificationUrl).toBe(`${ORIGINS.us}/oauth/v3/device`);
    expect(login.intervalMs).toBe(30_000);
    // Zoho's five minutes, from when it answered (the clock has moved on since, by however little).
    expect(login.expiresAt - zoho.now()).toBeGreaterThan(4 * 60_000);
    expect(login.expiresAt - zoho.now()).toBeLessThanOrEqual(5 * 60_000);
    const polls: string[] = [];
    const waiting = login.tokens({ onPoll: (p) => polls.push(p.reason) });
    // Two polls go by pending, then the person accepts.
    await poll();
    await poll();
    expect(polls).toEqual(['authorization_pending', 'authorization_pending']);
    await decide(zoho, ORIGINS.us, login.userCode, 'ana@example.com');
    const tokens = await pollUntilSettled(waiting);
    expect(tokens).toMatchObject({ apiDomain: ORIGINS.us, refreshToken: expect.stringMatching(/^1000\.refresh\./) });
    expect(counts()).toMatchObject({ devicePolls: 3, deviceSlowDowns: 0 });

    const db = new DatabaseSync(':memory:');
    const store = createSqlStore({ db, cipher: createCipher({ keys: { k1: generateSecret() }, current: 'k1' }) });
    const manager = createTokenManager({ store, oauth, lock: null });
    const saved = await manager.saveGrant(tokens);
    expect(saved.userName).toBe('ana@example.com:7001');
    const raw = JSON.stringify(db.prepare('SELECT * FROM ets_tokens').all());
    expect(raw).not.toContain(tokens.refreshToken!);
    expect(raw).not.toContain('ana@example.com');
    // A second login of the same user replaces the record.
    const again = await oauth.startDeviceLogin({ scope: APP_SCOPE });
    const second = again.tokens();
    await decide(zoho, ORIGINS.us, again.userCode, 'ana@example.com');
    await manager.saveGrant(await pollUntilSettled(second));
    expect((await store.getTokens()).map((t) => t.id)).toEqual([saved.id]);
    // The manager refreshes it like any other.
    await store.saveToken({ id: saved.id, expiryTime: Date.now() - 1 });
    const fresh = await manager.freshToken({ id: saved.id }, { skewMs: 5_000 });
    expect(fresh.expiryTime).toBeGreaterThan(Date.now());
    expect(counts().refreshes).toBe(1);
  });

  it('a second poll sooner than Zoho allows gets slow_down, and the client waits five seconds longer from then on', async () => {
    const { zoho, oauth, poll, pollUntilSettled, counts } = setup({}, 20_000);
    const login = await oauth.startDeviceLogin({ scope: APP_SCOPE });
    const reasons: string[] = [];
    const waiting = login.tokens({ onPoll: (p) => reasons.push(p.reason) });
    await poll();
    await poll();
    await decide(zoho, ORIGINS.us, login.userCode, 'ana@example.com');
    await pollUntilSettled(waiting);
    expect(reasons.slice(0, 2)).toEqual(['authorization_pending', 'slow_down']);
    expect(login.intervalMs).toBe(35_000);
    expect(counts()).toMatchObject({ deviceSlowDowns: 1 });
  });

  it('an EU user approved through the US accounts server: the client follows other_dc and ends with an EU token', async () => {
    const { zoho, oauth, pollUntilSettled } = setup();
    const login = await oauth.startDeviceLogin({ scope: APP_SCOPE });
    const waiting = login.tokens();
    await decide(zoho, ORIGINS.us, login.userCode, 'eva@example.eu');
    const tokens = await pollUntilSettled(waiting);
    expect(tokens.apiDomain).toBe(ORIGINS.eu);
    expect(oauth.dataCenterOf(tokens.apiDomain)).toBe('eu');
  });

  it('refused, expired and cancelled each end with their own code, and no token', async () => {
    const refused = setup();
    const denied = await refused.oauth.startDeviceLogin({ scope: APP_SCOPE });
    const deniedWait = denied.tokens();
    await decide(refused.zoho, ORIGINS.us, denied.userCode, 'ana@example.com', 'reject');
    expect(await codeOf(refused.pollUntilSettled(deniedWait))).toBe('ZOHO_ACCESS_DENIED');

    const late = setup();
    const expired = await late.oauth.startDeviceLogin({ scope: APP_SCOPE });
    expect(await codeOf(late.pollUntilSettled(expired.tokens()))).toBe('ZOHO_DEVICE_CODE_EXPIRED');

    const stopped = setup();
    const controller = new AbortController();
    const cancelled = await stopped.oauth.startDeviceLogin({ scope: APP_SCOPE, signal: controller.signal });
    const waiting = cancelled.tokens();
    controller.abort();
    expect(await codeOf(waiting)).toBe('CANCELLED');
    expect(await codeOf(stopped.oauth.startDeviceLogin({ scope: APP_SCOPE, signal: controller.signal }))).toBe('CANCELLED');
  });

  it('asks for offline access with consent, so a person who consented before still gets a refresh token', async () => {
    const { zoho, oauth, pollUntilSettled } = setup();
    for (let i = 0; i < 2; i++) {
      const login = await oauth.startDeviceLogin({ scope: APP_SCOPE });
      const waiting = login.tokens();
      await decide(zoho, ORIGINS.us, login.userCode, 'bo@example.com');
      expect((await pollUntilSettled(waiting)).refreshToken).toMatch(/^1000\.refresh\./);
    }
  });

  it('refuses bad input before calling Zoho', async () => {
    const { oauth, counts } = setup();
    expect(await codeOf(oauth.startDeviceLogin({ scope: '' }))).toBe('INVALID_INPUT');
    expect(await codeOf(oauth.startDeviceLogin(null as never))).toBe('INVALID_INPUT');
    expect(counts().devicePolls).toBe(0);
  });
});
