/**
 * Operating the Worker: riding out a Zoho outage, erasing a user on request, purging idle
 * tokens in each user's object, and audit lines that name users only by a keyed hash.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterAll, describe, expect, it } from 'vitest';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import { userObjectName } from '../../src/worker/objects.ts';
import './env.ts';
import { admin, client, usageOf } from './local-zoho.ts';
import { call, expectNothingLeaked, loginAs, recordLogs, userNameOf, userStore, userStub, type LoggedIn } from './worker-client.ts';

const logs: string[] = [];
const spy = recordLogs();
const original = spy.getMockImplementation()!;
spy.mockImplementation((...args: unknown[]) => {
  logs.push(args.map(String).join(' '));
  return original(...args);
});
const adminHeaders = { authorization: `Bearer ${env.TEST_ADMIN_KEY}` };
const seen: LoggedIn['token'][] = [];
const DAY = 86_400_000;

async function login(email: string) {
  const user = await loginAs(email);
  seen.push(user.token);
  return user;
}

/** Audit lines of one user (named by their object's keyed hash), as parsed JSON. */
async function auditOf(email: string): Promise<{ audit: string; code?: string; retryAfterMs?: number; revokedAtZoho?: boolean }[]> {
  const user = await userObjectName(env.USER_OBJECT_SECRET, userNameOf(email));
  // Audit lines are written as their hash resolves: let them land.
  await new Promise((resolve) => setTimeout(resolve, 10));
  return logs.map((line) => JSON.parse(line)).filter((entry) => entry.audit && entry.user === user);
}

const oauth = () => zohoOAuth({ accountsUrl: 'http://zoho.local', ...client });

describe('a Zoho outage, through the Worker', () => {
  it('answers 503 with Retry-After, leaves Zoho alone while the wait runs, and one refresh serves after', async () => {
    const email = 'user60@org6.example';
    const user = await login(email);
    const refreshToken = user.token.refreshToken!;
    await (await userStore(userNameOf(email))).saveToken({ id: user.token.id, expiryTime: Date.now() - 1 });
    await admin('fail', { refresh_token: refreshToken, status: '503' });
    const before = (await usageOf(refreshToken)).refreshes;
    const answers = [];
    for (let i = 0; i < 10; i++) answers.push(await call('/crm/v8/org', { cookie: user.cookie }));
    for (const answer of answers) {
      expect(answer.status).toBe(503);
      expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    }
    // Ten calls, each told to wait: Zoho saw a refresh only when a wait had ended (the first
    // lasts 0.5 to 1 s, the next 1 to 2 s, then 2 to 4 s), not one per call.
    const failed = (await usageOf(refreshToken)).refreshes - before;
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(failed).toBeLessThanOrEqual(3);

    await admin('recover', { refresh_token: refreshToken });
    const wait = Number(answers.at(-1)!.headers.get('retry-after')) * 1000;
    await new Promise((resolve) => setTimeout(resolve, wait + 50));
    const back = await Promise.all(Array.from({ length: 10 }, () => call('/crm/v8/org', { cookie: user.cookie })));
    expect(back.map((r) => r.status)).toEqual(Array(10).fill(200));
    expect((await usageOf(refreshToken)).refreshes - before).toBe(failed + 1);
    const events = (await auditOf(email)).map((e) => e.audit);
    expect(events).toEqual(expect.arrayContaining(['login', 'refresh_failed', 'backoff', 'refresh']));
    expect((await auditOf(email)).find((e) => e.audit === 'backoff')).toMatchObject({ code: 'ZOHO_UNAVAILABLE', retryAfterMs: expect.any(Number) });
  });
});

describe('erase a user on request', () => {
  it('revokes at Zoho, deletes the token, ends every session; erasing again finds nothing', async () => {
    const email = 'user61@org6.example';
    const first = await login(email);
    const second = await login(email); // a second browser: a second session on the same token
    const erased = await call('/admin/erase', { method: 'POST', headers: adminHeaders, body: JSON.stringify({ userName: userNameOf(email) }) });
    expect(await erased.json()).toMatchObject({ found: true, revokedAtZoho: true, tokensDeleted: 1, sessionsEnded: 2 });
    for (const cookie of [first.cookie, second.cookie]) expect((await call('/crm/v8/org', { cookie })).status).toBe(401);
    await expect(oauth().refresh(second.token.refreshToken!)).rejects.toMatchObject({ code: 'REAUTH_REQUIRED' });
    expect((await (await userStub(userNameOf(email))).stats()).tokens).toBe(0);
    expect((await auditOf(email)).map((e) => e.audit)).toContain('erase');

    const again = await call('/admin/erase', { method: 'POST', headers: adminHeaders, body: JSON.stringify({ userName: userNameOf(email) }) });
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({ found: false, tokensDeleted: 0, sessionsEnded: 0 });
  });

  it('needs the admin key and a user name', async () => {
    const body = JSON.stringify({ userName: 'ana@example.com:7001' });
    expect((await call('/admin/erase', { method: 'POST', body })).status).toBe(401);
    for (const bad of ['', '{}', '{"userName":7}', 'not json']) {
      expect((await call('/admin/erase', { method: 'POST', headers: adminHeaders, body: bad })).status).toBe(400);
    }
  });
});

describe('purge idle tokens (IDLE_PURGE_DAYS = 90)', () => {
  it("the object's alarm revokes and deletes a token idle for 90 days, and ends its sessions", async () => {
    const email = 'user62@org6.example';
    const user = await login(email);
    const stub = await userStub(userNameOf(email));
    // As if the token had last been refreshed 91 days ago: the purge is due.
    await (await userStore(userNameOf(email))).saveToken({ id: user.token.id, expiryTime: Date.now() - 91 * DAY });
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec("INSERT OR REPLACE INTO ets_meta (key, value) VALUES ('purge_at', ?)", String(Date.now() - 1));
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.stats()).toMatchObject({ tokens: 0, sessions: 0 });
    await expect(oauth().refresh(user.token.refreshToken!)).rejects.toMatchObject({ code: 'REAUTH_REQUIRED' });
    expect((await auditOf(email)).find((e) => e.audit === 'purge')).toMatchObject({ revokedAtZoho: true });
  });

  it('a token in use is kept, and the next look is planned for when it could be idle', async () => {
    const email = 'user63@org6.example';
    const user = await login(email);
    const stub = await userStub(userNameOf(email));
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec("INSERT OR REPLACE INTO ets_meta (key, value) VALUES ('purge_at', ?)", String(Date.now() - 1));
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.stats()).tokens).toBe(1);
    expect((await call('/crm/v8/org', { cookie: user.cookie })).status).toBe(200);
    const planned = await runInDurableObject(stub, (_o, state) =>
      Number(state.storage.sql.exec<{ value: string }>("SELECT value FROM ets_meta WHERE key = 'purge_at'").one().value),
    );
    expect(planned).toBeGreaterThan(Date.now() + 89 * DAY);
  });

  it("a token stored before IDLE_PURGE_DAYS was set is purged too: the operators' sweep wakes its object, which plans the purge", async () => {
    const email = 'user64@org6.example';
    const user = await login(email);
    const stub = await userStub(userNameOf(email));
    // Reported to the directory (its first alarm), then as if stored before the setting existed: no purge planned, idle 91 days.
    await runDurableObjectAlarm(stub);
    await (await userStore(userNameOf(email))).saveToken({ id: user.token.id, expiryTime: Date.now() - 91 * DAY });
    await runInDurableObject(stub, (_o, state) => void state.storage.sql.exec("DELETE FROM ets_meta WHERE key = 'purge_at'"));
    let after = '';
    let planned = 0;
    for (;;) {
      const page = (await (await call(`/admin/purge-idle?limit=50${after ? `&after=${after}` : ''}`, { method: 'POST', headers: adminHeaders })).json()) as {
        purgesPlanned: number;
        next: string | null;
      };
      planned += page.purgesPlanned;
      if (!page.next) break;
      after = page.next;
    }
    expect(planned).toBeGreaterThan(0);
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await stub.stats()).toMatchObject({ tokens: 0, sessions: 0 });
    expect((await auditOf(email)).find((e) => e.audit === 'purge')).toMatchObject({ revokedAtZoho: true });
  });

  it('an alarm of an object with no purge planned plans it, and purges what is already idle', async () => {
    const email = 'user65@org6.example';
    const user = await login(email);
    const stub = await userStub(userNameOf(email));
    await (await userStore(userNameOf(email))).saveToken({ id: user.token.id, expiryTime: Date.now() - 91 * DAY });
    await runInDurableObject(stub, async (_o, state) => {
      state.storage.sql.exec("DELETE FROM ets_meta WHERE key = 'purge_at'");
      await state.storage.setAlarm(Date.now());
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.stats()).tokens).toBe(0);
  });
});

afterAll(() => {
  spy.mockRestore();
  expectNothingLeaked(seen, ['@org6.example', '.example:']);
  // Audit lines name users by keyed hash only.
  for (const line of logs.filter((l) => l.includes('"audit"'))) expect(JSON.parse(line).user).toMatch(/^u-[A-Za-z0-9_-]{43}$/);
});
