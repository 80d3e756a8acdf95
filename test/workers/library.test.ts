// The Worker library's objects as a user extends them.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { expect, it } from 'vitest';
import './env.ts';

it("a subclass's onAlarm runs after the housekeeping, and its own alarm() cannot switch the housekeeping off", async () => {
  const stub = env.HOOKED_USERS.get(env.HOOKED_USERS.idFromName(`hooked-${Date.now()}`));
  // A session that has already expired: the housekeeping's sweep must delete it.
  expect(await stub.importSession('expired-session-hash', 'some-token', Date.now() - 1)).toEqual({ ok: true, value: undefined });
  expect(await runDurableObjectAlarm(stub)).toBe(true);
  await runInDurableObject(stub, async (_object, state) => {
    expect(state.storage.sql.exec('SELECT 1 FROM sessions').toArray()).toHaveLength(0);
    expect(await state.storage.get('onAlarmRuns')).toBe(1);
    expect(await state.storage.get('ownAlarmRan')).toBeUndefined();
  });
});
