// The Worker library's objects as a user extends them.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { createZohoHandler, getZohoSession, type ZohoEnv } from '../../src/worker/index.ts';
import './env.ts';
import { APP, consent, cookieFrom } from './worker-client.ts';

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

it('binding names of your own: the handler and getZohoSession read the namespaces under them', async () => {
  const renamed = {
    ...env,
    ZOHO_USERS: env.TOKEN_STORE,
    ZOHO_LOGINS: env.SESSIONS,
    ZOHO_DIRECTORY: env.DIRECTORY,
    TOKEN_STORE: undefined,
    SESSIONS: undefined,
    DIRECTORY: undefined,
  } as unknown as ZohoEnv;
  const options = { bindings: { users: 'ZOHO_USERS', loginStates: 'ZOHO_LOGINS', directory: 'ZOHO_DIRECTORY' } };
  const handler = createZohoHandler(options);
  const start = (await handler.route(new Request(`${APP}/auth/login`), renamed))!;
  const stateCookie = cookieFrom(start, '__Host-ets-state');
  const back = await consent(new URL(start.headers.get('location')!), 'ana@example.com');
  const done = (await handler.route(new Request(back, { headers: { cookie: stateCookie } }), renamed))!;
  expect(done.status).toBe(302);
  const cookie = cookieFrom(done, '__Host-ets-session');
  const request = new Request(`${APP}/app`, { headers: { cookie } });
  const session = (await getZohoSession(request, renamed, options))!;
  expect((await session.fetch('/crm/v8/org')).status).toBe(200);
  // Without the option, the library looks for the default names, which this env does not have.
  expect((await createZohoHandler().route(new Request(`${APP}/auth/me`, { headers: { cookie } }), renamed))!.status).toBe(500);
  // A name that is not bound is a configuration error, said at the first request.
  const missing = createZohoHandler({ bindings: { users: 'NOT_BOUND' } });
  expect(await (await missing.route(new Request(`${APP}/auth/me`, { headers: { cookie } }), renamed))!.json()).toMatchObject({ error: 'misconfigured' });
});
