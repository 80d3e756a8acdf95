// The Worker library's objects as a user extends them.
import { env, runDurableObjectAlarm, runInDurableObject, SELF } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { createZohoHandler, getZohoSession, type ZohoEnv } from '../../src/worker/index.ts';
import './env.ts';
import { codeOutcome, liveRefreshTokens, usageOf } from './local-zoho.ts';
import { APP, consent, cookieFrom, userNameOf, userStore } from './worker-client.ts';

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

it("the app's hooks: onLogin may refuse a login (its new refresh token is revoked), authorizeCrm a CRM call (no call to Zoho)", async () => {
  const seen: unknown[] = [];
  const allowed = 'user90@org9.example';
  const handler = createZohoHandler({
    onLogin: ({ userName, dataCenter, user }) => {
      seen.push({ userName, dataCenter, user });
      // The app may answer with its own page (here a redirect, whose headers are immutable).
      return userName.startsWith(`${allowed}:`) || Response.redirect(`${APP}/not-allowed`, 302);
    },
    authorizeCrm: ({ method }) => method === 'GET',
  });
  const loginAt = async (email: string) => {
    const start = (await handler.route(new Request(`${APP}/auth/login`), env))!;
    const back = await consent(new URL(start.headers.get('location')!), email);
    return { back, done: (await handler.route(new Request(back, { headers: { cookie: cookieFrom(start, '__Host-ets-state') } }), env))! };
  };
  const refusedUser = 'user89@org8.example';
  const live = await liveRefreshTokens(refusedUser);
  const refused = await loginAt(refusedUser);
  expect(refused.done.status).toBe(302);
  expect(refused.done.headers.get('location')).toBe(`${APP}/not-allowed`);
  expect(refused.done.headers.getSetCookie().some((c) => c.startsWith('__Host-ets-session=') && !c.includes('Max-Age=0'))).toBe(false);
  // Exchanged at Zoho, then the new refresh token revoked: nothing of this login stays live.
  expect(await codeOutcome(refused.back.searchParams.get('code')!)).toBe('redeemed');
  expect(await liveRefreshTokens(refusedUser)).toBe(live);
  expect(seen).toEqual([{ userName: userNameOf(refusedUser), dataCenter: 'us', user: expect.stringMatching(/^u-/) }]);

  const cookie = cookieFrom((await loginAt(allowed)).done, '__Host-ets-session');
  const token = (await (await userStore(userNameOf(allowed))).findToken({ userName: userNameOf(allowed) }))!;
  const before = (await usageOf(token.refreshToken!)).crmCalls;
  const post = await handler.route(new Request(`${APP}/crm/v8/Leads`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{"data":[]}' }), env);
  expect(post!.status).toBe(403);
  const session = (await getZohoSession(new Request(APP, { headers: { cookie } }), env, { authorizeCrm: ({ method }) => method === 'GET' }))!;
  expect((await session.fetch('/crm/v8/Leads', { method: 'POST', body: '{"data":[]}' })).status).toBe(403);
  expect((await usageOf(token.refreshToken!)).crmCalls).toBe(before);
  expect((await handler.route(new Request(`${APP}/crm/v8/org`, { headers: { cookie } }), env))!.status).toBe(200);
  expect((await usageOf(token.refreshToken!)).crmCalls).toBe(before + 1);
});

it('the upgrade on a deployment that never ran the single-object layout has nothing to move, and says done', async () => {
  const answer = await SELF.fetch(`${APP}/admin/upgrade?after=`, { method: 'POST', headers: { authorization: `Bearer ${env.TEST_ADMIN_KEY}` } });
  expect(answer.status).toBe(200);
  expect(await answer.json()).toEqual({ tokensMoved: 0, tokensLeft: 0, sessionsMoved: 0, done: true, next: null });
});
