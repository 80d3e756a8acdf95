/**
 * Refresh ahead of time: a user who made a call within the window (REFRESH_AHEAD_ACTIVE_MINUTES,
 * default 15) has their token refreshed by their object's alarm REFRESH_AHEAD_MS before it
 * expires, so the next request finds it fresh and makes no refresh; an idle user's token is
 * left for their next request (Zoho's limits on access tokens per refresh token stand).
 */
import { runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { REFRESH_AHEAD_MS } from '../../src/worker/user-object.ts';
import { admin, refreshesOf } from './local-zoho.ts';
import { call, loginAs, storeInside, userNameOf, userStub } from './worker-client.ts';

/** A logged-in user whose token has `msLeft` before it expires, as their object holds it. */
async function userNearExpiry(email: string, msLeft: number) {
  const user = await loginAs(email);
  const stub = await userStub(userNameOf(email));
  const store = storeInside(stub);
  await store.saveToken({ id: user.token.id, expiryTime: Date.now() + msLeft });
  return { ...user, stub, store };
}

describe('refresh ahead of time', () => {
  it("an active user's token is refreshed by the alarm before it expires; the next request makes no refresh", async () => {
    const { cookie, token, stub, store } = await userNearExpiry('user1@org51.example', REFRESH_AHEAD_MS - 60_000);
    const before = await refreshesOf(token.refreshToken!);
    // A call (the token still has more than the request's own skew left, so the call does not refresh):
    // the user is active, and the refresh point, already passed, is the object's next alarm.
    expect((await call('/crm/v8/org', { cookie })).status).toBe(200);
    // The runtime runs an alarm that is due by itself; this runs it now if it has not yet.
    await runDurableObjectAlarm(stub);
    await expect.poll(() => refreshesOf(token.refreshToken!)).toBe(before + 1);
    expect((await store.findTokenById(token.id))!.expiryTime! - Date.now()).toBeGreaterThan(50 * 60_000);
    expect((await call('/crm/v8/org', { cookie })).status).toBe(200);
    expect((await refreshesOf(token.refreshToken!)) - before).toBe(1);
  });

  it('a call after the alarm refreshed costs what a call before it did: the same reads, no write, no alarm set', async () => {
    const { cookie, token } = await loginAs('user3@org51.example');
    const stub = await userStub(userNameOf('user3@org51.example'));
    // The first call notes the activity and the refresh point (writes); the calls measured come after it.
    expect((await call('/crm/v8/org', { cookie })).status).toBe(200);
    const storageCallsOfOneRequest = async () => {
      const seen: string[] = [];
      const restore = await runInDurableObject(stub, (_o, state) => {
        const { sql } = state.storage;
        const exec = sql.exec;
        const setAlarm = state.storage.setAlarm;
        sql.exec = ((query: string, ...bindings: unknown[]) => (seen.push(query), exec.call(sql, query, ...bindings))) as typeof sql.exec;
        state.storage.setAlarm = ((...args: Parameters<typeof setAlarm>) => (seen.push('setAlarm'), setAlarm.apply(state.storage, args))) as typeof setAlarm;
        return () => ((sql.exec = exec), (state.storage.setAlarm = setAlarm));
      });
      expect((await call('/crm/v8/org', { cookie })).status).toBe(200);
      await runInDurableObject(stub, () => restore());
      return seen;
    };
    const before = await storageCallsOfOneRequest();
    // Now near expiry: the next call moves the refresh point to now, and the alarm refreshes.
    const refreshes = await refreshesOf(token.refreshToken!);
    await storeInside(stub).saveToken({ id: token.id, expiryTime: Date.now() + REFRESH_AHEAD_MS - 60_000 });
    expect((await call('/crm/v8/org', { cookie })).status).toBe(200);
    await runDurableObjectAlarm(stub);
    await expect.poll(() => refreshesOf(token.refreshToken!)).toBe(refreshes + 1);
    // The alarm's work ends by setting the next alarm at the new refresh point (after it has told
    // the directory of the refresh); only then is a request measured alone. The runtime may run
    // the alarm that was due beside the one this test ran.
    await expect.poll(() => runInDurableObject(stub, (_o, state) => state.storage.getAlarm())).toBeGreaterThan(Date.now() + 60_000);
    const after = await storageCallsOfOneRequest();
    expect(before.length).toBeGreaterThan(0);
    expect(before.every((query) => /^\s*SELECT/i.test(query))).toBe(true);
    expect(after).toEqual(before);
  });

  it("an idle user's token is not refreshed ahead: their next request refreshes it when it must", async () => {
    const { token, stub } = await userNearExpiry('user2@org51.example', REFRESH_AHEAD_MS - 60_000);
    const before = await refreshesOf(token.refreshToken!);
    // Their last call was 20 minutes ago (past the default window of 15), and the refresh point has come.
    await runInDurableObject(stub, async (_o, state) => {
      state.storage.sql.exec(
        "INSERT OR REPLACE INTO ets_meta (key, value) VALUES ('active_at', ?), ('refresh_at', ?)",
        String(Date.now() - 20 * 60_000),
        String(Date.now() - 1),
      );
      await state.storage.setAlarm(Date.now());
    });
    await runDurableObjectAlarm(stub);
    // The alarm ran (it clears the refresh point) and refreshed nothing.
    await expect
      .poll(() => runInDurableObject(stub, (_o, state) => state.storage.sql.exec("SELECT count(*) AS n FROM ets_meta WHERE key = 'refresh_at'").one().n))
      .toBe(0);
    expect((await refreshesOf(token.refreshToken!)) - before).toBe(0);
  });

  it('tokens that live under 5 minutes are refreshed at half their life, once each, never in a loop of alarms', async () => {
    const email = 'user9@org51.example';
    // Zoho issues this user 4-minute access tokens from now on (their login's too).
    await admin('access-token-seconds', { email, seconds: '240' });
    const { cookie, token } = await loginAs(email);
    const stub = await userStub(userNameOf(email));
    const store = storeInside(stub);
    const before = await refreshesOf(token.refreshToken!);
    // A minute left, under the 2-minute lead: the call makes the refresh point due now.
    await store.saveToken({ id: token.id, expiryTime: Date.now() + 60_000 });
    expect((await call('/crm/v8/org', { cookie })).status).toBe(200);
    await runDurableObjectAlarm(stub);
    await expect.poll(() => refreshesOf(token.refreshToken!)).toBe(before + 1);
    // The new token lives 4 minutes: its refresh point is 2 minutes away, so alarms now refresh nothing.
    for (let i = 0; i < 3; i++) await runDurableObjectAlarm(stub);
    expect((await call('/crm/v8/org', { cookie })).status).toBe(200);
    await runDurableObjectAlarm(stub);
    expect((await refreshesOf(token.refreshToken!)) - before).toBe(1);
    const refreshAt = await runInDurableObject(stub, (_o, state) =>
      Number(state.storage.sql.exec("SELECT value FROM ets_meta WHERE key = 'refresh_at'").one().value),
    );
    expect(refreshAt).toBeGreaterThan(Date.now() + 60_000);
  });
});
