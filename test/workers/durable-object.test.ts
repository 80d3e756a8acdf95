import { env } from 'cloudflare:workers';
import { runInDurableObject } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createDurableObjectStore, TokenStoreObject } from '../../src/backends/durable-object.ts';
import { runConformance, sampleToken } from '../conformance.ts';
import './env.ts';
import { expectNothingInClear } from '../shared/in-clear.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

let objects = 0;
const freshName = () => `do-test-${Date.now()}-${objects++}`;

runConformance('durable object', () => createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name: freshName() }));

type Row = Record<string, string | number | null>;

function rows(name: string): Promise<Row[]> {
  const stub = env.TOKEN_STORE_OBJECTS.get(env.TOKEN_STORE_OBJECTS.idFromName(name));
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<Row>('SELECT * FROM ets_tokens').toArray());
}

describe('durable object store', () => {
  it('100 concurrent saves for one user, each its own request, leave exactly one record', async () => {
    const name = freshName();
    const saves = Array.from({ length: 100 }, (_, i) =>
      // a separate store (and stub) per caller, as separate Worker requests would have
      createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name }).saveToken(sampleToken(1, { accessToken: `access-${i}`, expiryTime: i })),
    );
    const saved = await Promise.all(saves);
    expect(new Set(saved.map((t) => t.id)).size).toBe(1);
    expect(await rows(name)).toHaveLength(1);
  });

  it('keeps no token, client secret or user name in clear in any SQLite row', async () => {
    const name = freshName();
    const store = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name });
    const tokens = [sampleToken(1, { grantToken: 'grant-secret-1' }), sampleToken(2)];
    for (const token of tokens) await store.saveToken(token);
    const raw = JSON.stringify(await rows(name));
    expect(raw).toContain('v2.k1.');
    expectNothingInClear(raw, tokens);
  });

  it('shards by name: objects do not see each other', async () => {
    const a = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name: freshName() });
    const b = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name: freshName() });
    await a.saveToken(sampleToken(1));
    expect(await b.getTokens()).toEqual([]);
  });

  it('refuses a row copied into another object', async () => {
    const from = freshName();
    const to = freshName();
    const saved = await createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name: from }).saveToken(sampleToken(1));
    const [row] = await rows(from);
    const target = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name: to });
    await target.getTokens(); // creates the table
    await runInDurableObject(env.TOKEN_STORE_OBJECTS.get(env.TOKEN_STORE_OBJECTS.idFromName(to)), (_i, state) => {
      state.storage.sql.exec('INSERT INTO ets_tokens (id, key_id, data) VALUES (?, ?, ?)', row!.id, row!.key_id, row!.data);
    });
    const error = await tokenErrorOf(target.findTokenById(saved.id));
    expect(error.code).toBe('DECRYPT_FAILED');
  });

  it('opens a record it has read before again once its bytes change: a foreign row put under its id fails', async () => {
    const name = freshName();
    const store = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name });
    const saved = await store.saveToken(sampleToken(1));
    // Read, so the object has opened it (and keeps what it opened).
    expect((await store.findTokenById(saved.id))?.accessToken).toBe(saved.accessToken);
    const other = freshName();
    await createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name: other }).saveToken({
      ...sampleToken(1, { accessToken: 'another' }),
      id: saved.id,
    });
    const [row] = await rows(other);
    await runInDurableObject(env.TOKEN_STORE_OBJECTS.get(env.TOKEN_STORE_OBJECTS.idFromName(name)), (_i, state) => {
      state.storage.sql.exec('UPDATE ets_tokens SET data = ? WHERE id = ?', row!.data, saved.id);
    });
    expect((await tokenErrorOf(store.findTokenById(saved.id))).code).toBe('DECRYPT_FAILED');
  });

  it('carries error codes across RPC', async () => {
    const store = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name: freshName() });
    await store.saveToken(sampleToken(1));
    const error = await tokenErrorOf(store.saveToken(sampleToken(2, { refreshToken: sampleToken(1).refreshToken })));
    expect(error.code).toBe('CONFLICT');
  });

  it('reports a failed call to the object as STORAGE_FAILED with the cause', async () => {
    const broken = {
      idFromName: () => 'id',
      get: () => ({
        findTokenById: () => Promise.reject(new Error('object unreachable')),
      }),
    };
    const error = await tokenErrorOf(createDurableObjectStore({ namespace: broken as never }).findTokenById('x'));
    expect(error.code).toBe('STORAGE_FAILED');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('exposes the store methods, rotate and a lease, nothing else (and nothing about Zoho)', () => {
    const methods = Object.getOwnPropertyNames(TokenStoreObject.prototype).filter((n) => n !== 'constructor');
    expect(methods.sort()).toEqual(
      ['acquireLease', 'deleteToken', 'deleteTokens', 'findToken', 'findTokenById', 'getTokens', 'releaseLease', 'rotate', 'saveToken'].sort(),
    );
  });
});

describe("durable object store's lock (a lease in its object)", () => {
  it('runs tasks of one name one at a time across store clients, and others side by side', async () => {
    const name = freshName();
    const clients = Array.from({ length: 5 }, () => createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name }));
    let inside = 0;
    let most = 0;
    const task = async () => {
      inside++;
      most = Math.max(most, inside);
      await new Promise((resolve) => setTimeout(resolve, 5));
      inside--;
      return 'done';
    };
    expect(await Promise.all(clients.flatMap((c) => [c.lock('refresh:a', task), c.lock('refresh:a', task)]))).toEqual(Array(10).fill('done'));
    expect(most).toBe(1);
    // Another name is not held up by the first: each of these two tasks waits for the other to
    // start, which only happens if both hold their leases at once (else the test times out).
    let startB!: () => void;
    let startC!: () => void;
    const startedB = new Promise<void>((resolve) => (startB = resolve));
    const startedC = new Promise<void>((resolve) => (startC = resolve));
    const results = await Promise.all([
      clients[0]!.lock('refresh:b', async () => (startB(), await startedC, 'b')),
      clients[1]!.lock('refresh:c', async () => (startC(), await startedB, 'c')),
    ]);
    expect(results).toEqual(['b', 'c']);
  });

  it('is released when the task fails, and the failure reaches its caller', async () => {
    const store = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name: freshName() });
    await expect(store.lock('refresh:x', async () => Promise.reject(new Error('zoho down')))).rejects.toThrow('zoho down');
    expect(await store.lock('refresh:x', async () => 'free again')).toBe('free again');
  });

  it('a lease whose holder never releases it (an isolate that died) frees itself when it runs out', async () => {
    const name = freshName();
    const stub = env.TOKEN_STORE_OBJECTS.get(env.TOKEN_STORE_OBJECTS.idFromName(name));
    expect(await stub.acquireLease('refresh:gone', 50)).toMatchObject({ ok: true });
    const store = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name });
    expect(await store.lock('refresh:gone', async () => 'taken over')).toBe('taken over');
  });

  it('refuses a name or lease length it cannot hold', async () => {
    const stub = env.TOKEN_STORE_OBJECTS.get(env.TOKEN_STORE_OBJECTS.idFromName(freshName()));
    expect(await stub.acquireLease('', 1000)).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await stub.acquireLease('x', 0)).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    // Releasing with another holder's id does nothing.
    const held = (await stub.acquireLease('y', 60_000)) as { ok: true; value: string };
    expect(await stub.releaseLease('y', 'someone-else')).toEqual({ ok: true, value: undefined });
    expect(await stub.releaseLease('y', held.value)).toEqual({ ok: true, value: undefined });
    expect(await stub.acquireLease('y', 1000)).toMatchObject({ ok: true });
  });
});

describe('durable object boundary', () => {
  it('checks input inside the object too, for callers that skip the client', async () => {
    const stub = env.TOKEN_STORE_OBJECTS.get(env.TOKEN_STORE_OBJECTS.idFromName(freshName()));
    expect(await stub.saveToken({ userName: 5 } as never)).toEqual({
      ok: false,
      code: 'INVALID_INPUT',
      message: expect.stringContaining('userName'),
    });
    expect(await stub.findTokenById('')).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await stub.getTokens()).toEqual({ ok: true, value: [] });
  });
});
