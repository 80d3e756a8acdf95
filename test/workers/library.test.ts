// The Worker library's objects as a user extends them.
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { expect, it } from 'vitest';
import { createZohoHandler, getZohoSession, type ZohoEnv, type ZohoHandler, type ZohoWorkerOptions } from '../../src/worker/index.ts';
import './env.ts';
import { admin, codeOutcome, liveRefreshTokens, usageOf, ZOHO } from './local-zoho.ts';
import { APP, consent, cookieFrom, userNameOf, userStore } from './worker-client.ts';

it("a subclass's onAlarm runs after the housekeeping, and its own alarm() cannot switch the housekeeping off", async () => {
  const stub = env.HOOKED_USERS.get(env.HOOKED_USERS.idFromName(`hooked-${Date.now()}`));
  // A session that has already expired, and the alarm due: the housekeeping's sweep must delete it.
  expect((await stub.stats()).sessions).toBe(0);
  await runInDurableObject(stub, async (_object, state) => {
    state.storage.sql.exec('INSERT INTO ets_sessions (id_hash, token_id, expires_at) VALUES (?, ?, ?)', 'expired-session-hash', 'some-token', Date.now() - 1);
    await state.storage.setAlarm(Date.now());
  });
  expect(await runDurableObjectAlarm(stub)).toBe(true);
  await runInDurableObject(stub, async (_object, state) => {
    expect(state.storage.sql.exec('SELECT 1 FROM ets_sessions').toArray()).toHaveLength(0);
    expect(await state.storage.get('onAlarmRuns')).toBe(1);
    expect(await state.storage.get('ownAlarmRan')).toBeUndefined();
  });
});

it('binding names of your own: the handler and getZohoSession read the namespaces under them', async () => {
  const renamed = {
    ...env,
    MY_USERS: env.ZOHO_USERS,
    MY_LOGINS: env.ZOHO_LOGIN_STATES,
    MY_DIRECTORY: env.ZOHO_DIRECTORY,
    ZOHO_USERS: undefined,
    ZOHO_LOGIN_STATES: undefined,
    ZOHO_DIRECTORY: undefined,
  } as unknown as ZohoEnv;
  const options = { bindings: { users: 'MY_USERS', loginStates: 'MY_LOGINS', directory: 'MY_DIRECTORY' } };
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
  const post = await handler.route(
    new Request(`${APP}/crm/v8/Leads`, { method: 'POST', headers: { cookie, 'content-type': 'application/json' }, body: '{"data":[]}' }),
    env,
  );
  expect(post!.status).toBe(403);
  const session = (await getZohoSession(new Request(APP, { headers: { cookie } }), env, { authorizeCrm: ({ method }) => method === 'GET' }))!;
  expect((await session.fetch('/crm/v8/Leads', { method: 'POST', body: '{"data":[]}' })).status).toBe(403);
  expect((await usageOf(token.refreshToken!)).crmCalls).toBe(before);
  expect((await handler.route(new Request(`${APP}/crm/v8/org`, { headers: { cookie } }), env))!.status).toBe(200);
  expect((await usageOf(token.refreshToken!)).crmCalls).toBe(before + 1);
});

/** Logs `email` in through `handler`; answers the session cookie and the user's refresh token. */
async function loginThrough(handler: ZohoHandler, email: string): Promise<{ cookie: string; refreshToken: string }> {
  const start = (await handler.route(new Request(`${APP}/auth/login`), env))!;
  const back = await consent(new URL(start.headers.get('location')!), email);
  const done = (await handler.route(new Request(back, { headers: { cookie: cookieFrom(start, '__Host-ets-state') } }), env))!;
  const token = (await (await userStore(userNameOf(email))).findToken({ userName: userNameOf(email) }))!;
  return { cookie: cookieFrom(done, '__Host-ets-session'), refreshToken: token.refreshToken! };
}

it('authorizeCrm allows only on exactly true: a Response, a truthy value, a rejected promise or a throw refuses with 403 before Zoho', async () => {
  let answer: () => unknown = () => true;
  const handler = createZohoHandler({ authorizeCrm: (() => answer()) as unknown as ZohoWorkerOptions['authorizeCrm'] });
  const { cookie, refreshToken } = await loginThrough(handler, 'user91@org9.example');
  const before = (await usageOf(refreshToken)).crmCalls;
  const refusals: (() => unknown)[] = [
    () => new Response('refused', { status: 403 }),
    () => 'yes',
    () => 1,
    () => undefined,
    () => Promise.resolve(new Response(null)),
    () => Promise.reject(new Error('the allowlist is down')),
    () => {
      throw new Error('the allowlist is down');
    },
  ];
  for (const refusal of refusals) {
    answer = refusal;
    expect((await handler.route(new Request(`${APP}/crm/v8/org`, { headers: { cookie } }), env))!.status).toBe(403);
    const request = new Request(`${APP}/app`, { headers: { cookie } });
    expect(await handler.route(request, env)).toBeNull();
    expect((await (await handler.session(request, env))!.fetch('/crm/v8/org')).status).toBe(403);
  }
  expect((await usageOf(refreshToken)).crmCalls).toBe(before);
  answer = () => Promise.resolve(true);
  expect((await handler.route(new Request(`${APP}/crm/v8/org`, { headers: { cookie } }), env))!.status).toBe(200);
  expect((await usageOf(refreshToken)).crmCalls).toBe(before + 1);
});

it("a handler's session() follows its own hooks, whatever other handlers the Worker made; getZohoSession() follows the options it is given and no others", async () => {
  const readOnly = createZohoHandler({ authorizeCrm: ({ method }) => method === 'GET' });
  const permissive = createZohoHandler({ authorizeCrm: () => true });
  const { cookie, refreshToken } = await loginThrough(readOnly, 'user92@org9.example');
  const request = () => new Request(`${APP}/app/leads`, { headers: { cookie } });
  const before = (await usageOf(refreshToken)).crmCalls;
  const post = { method: 'POST', body: '{"data":[]}' };
  expect((await (await readOnly.session(request(), env))!.fetch('/crm/v8/Leads', post)).status).toBe(403);
  expect((await (await getZohoSession(request(), env, { authorizeCrm: ({ method }) => method === 'GET' }))!.fetch('/crm/v8/Leads', post)).status).toBe(403);
  expect((await usageOf(refreshToken)).crmCalls).toBe(before);
  // Another handler's hooks are its own: they never leak into readOnly's sessions, nor the other way.
  expect((await (await permissive.session(request(), env))!.fetch('/crm/v8/Leads', post)).status).not.toBe(403);
  expect((await (await readOnly.session(request(), env))!.fetch('/crm/v8/Leads', post)).status).toBe(403);
});

it('session.fetch never follows a redirect, whatever init asks: the access token goes nowhere', async () => {
  const handler = createZohoHandler();
  const { cookie } = await loginThrough(handler, 'user93@org9.example');
  await admin('redirect', { url: `${ZOHO}/crm/v8/Vendors`, to: `${ZOHO}/__sink/stolen` });
  try {
    const before = ((await admin('sink', {})) as { hits: number }).hits;
    const request = new Request(`${APP}/app`, { headers: { cookie } });
    expect(await handler.route(request, env)).toBeNull();
    const session = (await handler.session(request, env))!;
    for (const fetchCrm of [session.fetch, session.fetchRaw]) {
      const answer = await fetchCrm('/crm/v8/Vendors?fields=Vendor_Name', { redirect: 'follow' });
      expect(answer.status).toBe(502);
    }
    expect(((await admin('sink', {})) as { hits: number }).hits).toBe(before);
  } finally {
    await admin('redirect', { url: `${ZOHO}/crm/v8/Vendors` });
  }
});
