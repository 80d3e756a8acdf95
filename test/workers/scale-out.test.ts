/**
 * The Worker's layout: one object per user, reached once per proxied call; faults of object
 * calls; housekeeping by alarm; re-sealing across objects.
 */
import { env, evictDurableObject, listDurableObjectIds, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCipher } from '../../src/store/cipher.ts';
import { cipherCodec, type StoredRecord } from '../../src/store/codec.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import type { Env } from '../../src/worker/env.ts';
import worker from '../../worker/index.ts';
import { shardOf } from '../../src/worker/directory.ts';
import { userObjectName } from '../../src/worker/objects.ts';
import { sealV1 } from '../shared/sealed-v1.ts';
import './env.ts';
import { client, grant, usageOf } from './local-zoho.ts';
import { APP, call, consent, cookieFrom, expectNothingLeaked, loginAs, recordLogs, userStore, userStub, userNameOf, type LoggedIn } from './worker-client.ts';

const logSpy = recordLogs();
const adminHeaders = { authorization: `Bearer ${env.TEST_ADMIN_KEY}` };
const seenTokens: LoggedIn['token'][] = [];

async function login(email: string): Promise<LoggedIn> {
  const user = await loginAs(email);
  seenTokens.push(user.token);
  return user;
}

const callsOf = async (email: string) => (await (await userStub(userNameOf(email))).stats()).calls;

let ana: LoggedIn;
let bo: LoggedIn;

beforeAll(async () => {
  ana = await login('ana@example.com');
  bo = await login('bo@example.com');
});

describe('one object per user', () => {
  it("keeps two users' tokens in two objects, named by a keyed hash, never by the name", async () => {
    const names = await Promise.all(['ana@example.com:7001', 'bo@example.com:7002'].map((u) => userObjectName(env.USER_OBJECT_SECRET, u)));
    expect(names[0]).not.toBe(names[1]);
    for (const name of names) expect(name).toMatch(/^u-[A-Za-z0-9_-]{43}$/);
    const ids = (await listDurableObjectIds(env.ZOHO_USERS)).map((id) => id.toString());
    const holding = [];
    for (const id of ids) {
      const stats = await env.ZOHO_USERS.get(env.ZOHO_USERS.idFromString(id)).stats();
      if (stats.tokens > 0) holding.push(stats.tokens);
    }
    expect(holding).toEqual([1, 1]);
    // The session cookie names the user's object, and the session lives there.
    expect(ana.cookie).toContain(`=us.${names[0]}.`);
    expect((await (await userStub('ana@example.com:7001')).stats()).sessions).toBe(1);
  });

  it('a proxied call is one call to one object: the caller’s', async () => {
    const before = { ana: await callsOf('ana@example.com'), bo: await callsOf('bo@example.com') };
    expect((await call('/crm/v8/org', { cookie: ana.cookie })).status).toBe(200);
    expect(await callsOf('ana@example.com')).toBe(before.ana + 1);
    expect(await callsOf('bo@example.com')).toBe(before.bo);
    // A server API key: one call too (it names bo's object and a token there).
    await (
      await userStore('bo@example.com:7002')
    ).saveToken({
      id: 'api-key-token',
      ...client,
      ...(await zohoOAuth({ accountsUrl: 'http://zoho.local', ...client, redirectUrl: `${APP}/auth/callback` }).exchangeGrant(
        await grant(client.clientId, `${APP}/auth/callback`, 'bo@example.com'),
      )),
    });
    const boBefore = await callsOf('bo@example.com');
    expect((await call('/crm/v8/org', { headers: { authorization: `Bearer ${env.TEST_API_KEY}` } })).status).toBe(200);
    expect(await callsOf('bo@example.com')).toBe(boBefore + 1);
  });

  it('a second call to the same object only when Zoho rejects the access token: the refresh', async () => {
    await (await userStore('ana@example.com:7001')).saveToken({ id: ana.token.id, accessToken: '1000.access.dead' });
    const before = await callsOf('ana@example.com');
    const refreshes = (await usageOf(ana.token.refreshToken!)).refreshes;
    expect((await call('/crm/v8/org', { cookie: ana.cookie })).status).toBe(200);
    expect(await callsOf('ana@example.com')).toBe(before + 2);
    expect((await usageOf(ana.token.refreshToken!)).refreshes).toBe(refreshes + 1);
  });

  it('20 isolates’ worth of concurrent calls with an expired token: one refresh, in the object', async () => {
    const user = await login('user20@org2.example');
    await (await userStore(userNameOf('user20@org2.example'))).saveToken({ id: user.token.id, expiryTime: Date.now() - 1 });
    const before = (await usageOf(user.token.refreshToken!)).refreshes;
    // Each call enters the Worker with its own env object, as separate isolates would: no
    // in-memory state is shared between them; only the user's object is.
    const responses = await Promise.all(
      Array.from({ length: 20 }, () => worker.fetch(new Request(`${APP}/crm/v8/org`, { headers: { cookie: user.cookie } }), { ...env } as Env)),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect((await usageOf(user.token.refreshToken!)).refreshes).toBe(before + 1);
  });

  it('login states go to the bucket named in the signed state, as hashes', async () => {
    const start = await call('/auth/login');
    const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
    const [nonce, , bucket] = state.split('.');
    expect(Number(bucket)).toBeGreaterThanOrEqual(0);
    expect(Number(bucket)).toBeLessThan(16);
    expect(env.LOGIN_STATE_BUCKETS).toBe('16');
    const stub = env.ZOHO_LOGIN_STATES.get(env.ZOHO_LOGIN_STATES.idFromName(`states-${bucket}`));
    expect(await stub.consumeState(nonce!, Date.now() + 60_000, 'claim-a')).toBe(true);
    expect(await stub.consumeState(nonce!, Date.now() + 60_000, 'claim-a')).toBe(true); // the same callback, retried
    expect(await stub.consumeState(nonce!, Date.now() + 60_000, 'claim-b')).toBe(false); // a replay
    await runInDurableObject(stub, (_o, s) => {
      const rows = s.storage.sql.exec<{ binding_hash: string }>('SELECT binding_hash FROM ets_login_states').toArray();
      expect(rows.map((r) => r.binding_hash)).not.toContain(nonce);
    });
  });
});

/** env with the user objects' namespace wrapped: `session` and `apiKeyToken` calls fail with `errors` first. */
function faultyEnv(errors: Error[]) {
  const seen = { attempts: 0 };
  const namespace = env.ZOHO_USERS;
  const wrapped = {
    idFromName: (name: string) => namespace.idFromName(name),
    idFromString: (id: string) => namespace.idFromString(id),
    get(id: DurableObjectId) {
      const stub = namespace.get(id);
      return new Proxy(stub, {
        get(target, prop) {
          if (prop !== 'session' && prop !== 'apiKeyToken') return Reflect.get(target, prop);
          return async (...args: unknown[]) => {
            if (seen.attempts++ < errors.length) throw errors[seen.attempts - 1];
            return (target[prop] as (...a: unknown[]) => unknown)(...args);
          };
        },
      });
    },
  };
  return { seen, env: { ...env, ZOHO_USERS: wrapped } as unknown as Env };
}

const platformError = (flags: { retryable?: boolean; overloaded?: boolean }) => Object.assign(new Error('Network connection lost.'), flags);
const proxied = (faulty: { env: Env }) => worker.fetch(new Request(`${APP}/crm/v8/org`, { headers: { cookie: ana.cookie } }), faulty.env);

describe('faults of object calls, injected', () => {
  it('a retryable fault is retried (fresh stub, backoff) and the call succeeds', async () => {
    const faulty = faultyEnv([platformError({ retryable: true }), platformError({ retryable: true })]);
    expect((await proxied(faulty)).status).toBe(200);
    expect(faulty.seen.attempts).toBe(3);
  });

  it('an overloaded object is not retried: 503 with Retry-After', async () => {
    const faulty = faultyEnv([platformError({ retryable: true, overloaded: true })]);
    const response = await proxied(faulty);
    expect(response.status).toBe(503);
    expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(faulty.seen.attempts).toBe(1);
  });

  it('a fault that stays: 3 attempts, then 503 with Retry-After', async () => {
    const faulty = faultyEnv(Array.from({ length: 5 }, () => platformError({ retryable: true })));
    const response = await proxied(faulty);
    expect(response.status).toBe(503);
    expect(response.headers.get('retry-after')).not.toBeNull();
    expect(faulty.seen.attempts).toBe(3);
  });

  it('an overloaded login-state bucket: the callback answers 503 with Retry-After, not a 500', async () => {
    const sessions = env.ZOHO_LOGIN_STATES;
    const overloaded = {
      idFromName: (name: string) => sessions.idFromName(name),
      get: () => ({ consumeState: async () => Promise.reject(platformError({ retryable: true, overloaded: true })) }),
    };
    const busy = { ...env, ZOHO_LOGIN_STATES: overloaded } as unknown as Env;
    const start = await worker.fetch(new Request(`${APP}/auth/login`), busy);
    const back = await consent(new URL(start.headers.get('location')!), 'ana@example.com');
    const answer = await worker.fetch(new Request(back.toString(), { headers: { cookie: cookieFrom(start, '__Host-ets-state') } }), busy);
    expect(answer.status).toBe(503);
    expect(Number(answer.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('any other failure: one attempt, 502, no Retry-After', async () => {
    const faulty = faultyEnv([new Error('internal error')]);
    const response = await proxied(faulty);
    expect(response.status).toBe(502);
    expect(response.headers.get('retry-after')).toBeNull();
    expect(faulty.seen.attempts).toBe(1);
  });
});

/** Re-seals one object's records under `keyId` (a key of the ring), as a deployment before a key change would have. */
async function sealUnder(userName: string, keyId: string) {
  await runInDurableObject(await userStub(userName), async (_o, state) => {
    const keys = JSON.parse(env.TOKEN_STORE_KEYS) as Record<string, string>;
    const storeId = `do:${state.id.toString()}`;
    const now = cipherCodec(createCipher({ keys, current: env.TOKEN_STORE_CURRENT_KEY }), storeId);
    const old = cipherCodec(createCipher({ keys, current: keyId }), storeId);
    const { sql } = state.storage;
    for (const row of sql.exec<{ id: string; key_id: string; data: string }>('SELECT id, key_id, data FROM ets_tokens').toArray()) {
      const sealed: StoredRecord = await old.seal(await now.open({ id: row.id, keyId: row.key_id, data: row.data, index: {} }));
      sql.exec(
        'UPDATE ets_tokens SET key_id = ?, data = ?, ix_userName = ?, ix_accessToken = ?, ix_refreshToken = ? WHERE id = ?',
        sealed.keyId,
        sealed.data,
        sealed.index.userName ?? null,
        sealed.index.accessToken ?? null,
        sealed.index.refreshToken ?? null,
        row.id,
      );
    }
  });
}

/** Rewrites one object's records in the older sealed format (v1) under the current key, blind indexes included, as a deployment before format v2 stored them. */
async function sealAsV1(userName: string) {
  await runInDurableObject(await userStub(userName), async (_o, state) => {
    const keys = JSON.parse(env.TOKEN_STORE_KEYS) as Record<string, string>;
    const current = env.TOKEN_STORE_CURRENT_KEY;
    const storeId = `do:${state.id.toString()}`;
    const cipher = createCipher({ keys, current });
    const now = cipherCodec(cipher, storeId);
    const { sql } = state.storage;
    for (const row of sql.exec<{ id: string; key_id: string; data: string }>('SELECT id, key_id, data FROM ets_tokens').toArray()) {
      const { id, ...body } = await now.open({ id: row.id, keyId: row.key_id, data: row.data, index: {} });
      const v1 = await sealV1(keys[current]!, current, JSON.stringify(body), [storeId, 'record', id]);
      const digest = (field: 'userName' | 'accessToken' | 'refreshToken') =>
        body[field] ? cipher.blindIndex(body[field], [storeId, 'index', field], current, 1) : null;
      sql.exec(
        'UPDATE ets_tokens SET data = ?, ix_userName = ?, ix_accessToken = ?, ix_refreshToken = ? WHERE id = ?',
        v1,
        await digest('userName'),
        await digest('accessToken'),
        await digest('refreshToken'),
        id,
      );
    }
  });
}

const keyIdsIn = async (userName: string) =>
  runInDurableObject(await userStub(userName), (_o, state) =>
    state.storage.sql
      .exec<{ key_id: string }>('SELECT key_id FROM ets_tokens')
      .toArray()
      .map((r) => r.key_id),
  );

describe('objects keep themselves clean', () => {
  it('expired sessions go in the alarm, by their expiry index', async () => {
    const user = await login('user30@org3.example');
    const stub = await userStub(userNameOf('user30@org3.example'));
    await runInDurableObject(stub, (_o, state) => {
      state.storage.sql.exec('UPDATE ets_sessions SET expires_at = ?', Date.now() - 1);
      const plan = state.storage.sql.exec<{ detail: string }>('EXPLAIN QUERY PLAN DELETE FROM ets_sessions WHERE expires_at <= 1').toArray();
      expect(plan.map((p) => p.detail).join(' ')).toContain('sessions_expiry');
    });
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect((await stub.stats()).sessions).toBe(0);
    await runInDurableObject(stub, (_o, state) => {
      expect(state.storage.sql.exec('SELECT 1 FROM ets_sessions').toArray()).toHaveLength(0);
    });
    expect((await call('/crm/v8/org', { cookie: user.cookie })).status).toBe(401);
  });

  it('an object that wakes with records under an old key re-seals them in its alarm', async () => {
    const userName = userNameOf('user31@org3.example');
    const user = await login('user31@org3.example');
    await sealUnder(userName, 'k0');
    expect(await keyIdsIn(userName)).toEqual(['k0']);
    const stub = await userStub(userName);
    await runDurableObjectAlarm(stub); // whatever was due from the login
    await evictDurableObject(stub);
    expect((await call('/auth/me', { cookie: user.cookie })).status).toBe(200); // wakes it, and still opens k0
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await keyIdsIn(userName)).toEqual(['k1']);
    expect((await call('/crm/v8/org', { cookie: user.cookie })).status).toBe(200);
  });

  it('records sealed in the older format (v1) still open and are still found; the alarm re-seals them as v2', async () => {
    const email = 'user33@org3.example';
    const userName = userNameOf(email);
    const user = await login(email);
    await sealAsV1(userName);
    const dataIn = async () =>
      runInDurableObject(await userStub(userName), (_o, state) => state.storage.sql.exec<{ data: string }>('SELECT data FROM ets_tokens').one().data);
    expect(await dataIn()).toMatch(/^v1\.k1\./);
    const stub = await userStub(userName);
    await runDurableObjectAlarm(stub);
    await evictDurableObject(stub);
    // Opens (a CRM call with the session) and is found by user name through its v1 blind index.
    expect((await call('/crm/v8/org', { cookie: user.cookie })).status).toBe(200);
    expect((await (await userStore(userName)).findToken({ userName }))?.id).toBe(user.token.id);
    // The object woke with a v1 record: its alarm re-seals it in the current format, under the same key.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    expect(await dataIn()).toMatch(/^v2\.k1\./);
    expect((await (await userStore(userName)).findToken({ userName }))?.id).toBe(user.token.id);
    expect((await call('/crm/v8/org', { cookie: user.cookie })).status).toBe(200);
  });

  it('operators see each object and which keys seal what, and can wake the ones still on an old key', async () => {
    const userName = userNameOf('user32@org3.example');
    await login('user32@org3.example');
    const stub = await userStub(userName);
    expect(await runDurableObjectAlarm(stub)).toBe(true); // the new object reports itself
    const listed = (await (await call('/admin/objects?limit=500', { headers: adminHeaders })).json()) as {
      objects: { id: string; keyIds: string[]; tokens: number }[];
    };
    const id = (await userStub(userName)).id.toString();
    expect(listed.objects.find((o) => o.id === id)).toMatchObject({ keyIds: ['k1'], tokens: 1 });
    expect(JSON.stringify(listed)).not.toContain('@');
    const keysNow = await (await call('/admin/keys', { headers: adminHeaders })).json();
    expect(keysNow, JSON.stringify(keysNow)).toMatchObject({ current: 'k1', done: true });

    // As after a key change: the object's records (and what the directory last heard) are under k0.
    await sealUnder(userName, 'k0');
    const shard = env.ZOHO_DIRECTORY.get(env.ZOHO_DIRECTORY.idFromName(await shardOf(id)));
    await shard.report({ id, keyIds: ['k0'], tokens: 1, sessions: 1, connection: null, lastError: null });
    expect(await (await call('/admin/keys', { headers: adminHeaders })).json()).toMatchObject({ done: false, objectsByKey: { k0: 1 } });
    const woken = (await (await call('/admin/reseal', { method: 'POST', headers: adminHeaders })).json()) as { objectsWoken: number; recordsResealed: number };
    expect(woken).toMatchObject({ objectsWoken: 1, recordsResealed: 1 });
    expect(await runDurableObjectAlarm(stub)).toBe(true); // reports the change
    expect(await (await call('/admin/keys', { headers: adminHeaders })).json()).toMatchObject({ done: true });
  });

  it('admin routes need the admin key', async () => {
    expect((await call('/admin/keys')).status).toBe(401);
    expect((await call('/admin/keys', { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    // The single-object layout's upgrade is gone (0.2.0): no such route, for GET or POST.
    for (const method of ['GET', 'POST']) expect((await call('/admin/upgrade', { method, headers: adminHeaders })).status).toBe(404);
  });
});

afterAll(async () => {
  logSpy.mockRestore();
  expectNothingLeaked([ana.token, bo.token, ...seenTokens], ['ana@example', 'bo@example', '.example:']);
});

describe('a deployment of the Worker from before it became a library keeps working', () => {
  it('its objects (records sealed v1, with the client secret), session cookies and server API keys', async () => {
    // State as the previous version left it: a user's object whose record is sealed in format v1
    // and still carries the client secret, with none of this version's bookkeeping...
    const email = 'user60@org6.example';
    const userName = userNameOf(email);
    const user = await login(email);
    const store = await userStore(userName);
    await store.saveToken({ id: user.token.id, clientSecret: client.clientSecret });
    await sealAsV1(userName);
    const stub = await userStub(userName);
    await runInDurableObject(stub, (_o, state) => void state.storage.sql.exec('DELETE FROM ets_meta'));
    // ...bo's token under the id a server API key names (vitest.config.ts), also from then...
    const boTokens = await zohoOAuth({ accountsUrl: 'http://zoho.local', ...client, redirectUrl: `${APP}/auth/callback` }).exchangeGrant(
      await grant(client.clientId, `${APP}/auth/callback`, 'bo@example.com'),
    );
    await (await userStore('bo@example.com:7002')).saveToken({ id: 'api-key-token', ...client, ...boTokens });
    await evictDurableObject(stub);

    // This version, started on that state. (Logins under way then are not carried over: their
    // states named the login's secret in clear, which is what a leaked callback URL exploited.)
    expect((await call('/crm/v8/org', { cookie: user.cookie })).status).toBe(200);
    expect(await (await call('/auth/me', { cookie: user.cookie })).json()).toMatchObject({ loggedIn: true, user: userName });
    expect((await call('/crm/v8/org', { headers: { authorization: `Bearer ${env.TEST_API_KEY}` } })).status).toBe(200);
    // The object's alarm brings its record up to date: format v2, no client secret.
    expect(await runDurableObjectAlarm(stub)).toBe(true);
    await runInDurableObject(stub, (_o, state) => expect(state.storage.sql.exec<{ data: string }>('SELECT data FROM ets_tokens').one().data).toMatch(/^v2\./));
    expect((await store.findTokenById(user.token.id))?.clientSecret).toBeNull();
    expect((await call('/crm/v8/org', { cookie: user.cookie })).status).toBe(200);
  });
});
