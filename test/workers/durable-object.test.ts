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

runConformance('durable object', () => createDurableObjectStore({ namespace: env.LIBRARY_STORE, name: freshName() }));

type Row = Record<string, string | number | null>;

function rows(name: string): Promise<Row[]> {
  const stub = env.LIBRARY_STORE.get(env.LIBRARY_STORE.idFromName(name));
  return runInDurableObject(stub, (_instance, state) => state.storage.sql.exec<Row>('SELECT * FROM tokens').toArray());
}

describe('durable object store', () => {
  it('100 concurrent saves for one user, each its own request, leave exactly one record', async () => {
    const name = freshName();
    const saves = Array.from({ length: 100 }, (_, i) =>
      // a separate store (and stub) per caller, as separate Worker requests would have
      createDurableObjectStore({ namespace: env.LIBRARY_STORE, name }).saveToken(
        sampleToken(1, { accessToken: `access-${i}`, expiryTime: i }),
      ),
    );
    const saved = await Promise.all(saves);
    expect(new Set(saved.map((t) => t.id)).size).toBe(1);
    expect(await rows(name)).toHaveLength(1);
  });

  it('keeps no token, client secret or user name in clear in any SQLite row', async () => {
    const name = freshName();
    const store = createDurableObjectStore({ namespace: env.LIBRARY_STORE, name });
    const tokens = [sampleToken(1, { grantToken: 'grant-secret-1' }), sampleToken(2)];
    for (const token of tokens) await store.saveToken(token);
    const raw = JSON.stringify(await rows(name));
    expect(raw).toContain('v2.k1.');
    expectNothingInClear(raw, tokens);
  });

  it('shards by name: objects do not see each other', async () => {
    const a = createDurableObjectStore({ namespace: env.LIBRARY_STORE, name: freshName() });
    const b = createDurableObjectStore({ namespace: env.LIBRARY_STORE, name: freshName() });
    await a.saveToken(sampleToken(1));
    expect(await b.getTokens()).toEqual([]);
  });

  it('refuses a row copied into another object', async () => {
    const from = freshName();
    const to = freshName();
    const saved = await createDurableObjectStore({ namespace: env.LIBRARY_STORE, name: from }).saveToken(sampleToken(1));
    const [row] = await rows(from);
    const target = createDurableObjectStore({ namespace: env.LIBRARY_STORE, name: to });
    await target.getTokens(); // creates the table
    await runInDurableObject(env.LIBRARY_STORE.get(env.LIBRARY_STORE.idFromName(to)), (_i, state) => {
      state.storage.sql.exec('INSERT INTO tokens (id, key_id, data) VALUES (?, ?, ?)', row!.id, row!.key_id, row!.data);
    });
    const error = await tokenErrorOf(target.findTokenById(saved.id));
    expect(error.code).toBe('DECRYPT_FAILED');
  });

  it('carries error codes across RPC', async () => {
    const store = createDurableObjectStore({ namespace: env.LIBRARY_STORE, name: freshName() });
    await store.saveToken(sampleToken(1));
    const error = await tokenErrorOf(store
      .saveToken(sampleToken(2, { refreshToken: sampleToken(1).refreshToken })));
    expect(error.code).toBe('CONFLICT');
  });

  it('reports a failed call to the object as STORAGE_FAILED with the cause', async () => {
    const broken = {
      idFromName: () => 'id',
      get: () => ({
        findTokenById: () => Promise.reject(new Error('object unreachable')),
      }),
    };
    const error = await tokenErrorOf(createDurableObjectStore({ namespace: broken as never })
      .findTokenById('x'));
    expect(error.code).toBe('STORAGE_FAILED');
    expect(error.cause).toBeInstanceOf(Error);
  });

  it('exposes the store methods, rotate and freshToken, nothing else', () => {
    const methods = Object.getOwnPropertyNames(TokenStoreObject.prototype).filter((n) => n !== 'constructor');
    expect(methods.sort()).toEqual(
      ['deleteToken', 'deleteTokens', 'findToken', 'findTokenById', 'freshToken', 'getTokens', 'rotate', 'saveToken'].sort(),
    );
  });
});

describe('durable object boundary', () => {
  it('checks input inside the object too, for callers that skip the client', async () => {
    const stub = env.LIBRARY_STORE.get(env.LIBRARY_STORE.idFromName(freshName()));
    expect(await stub.saveToken({ userName: 5 } as never)).toEqual({
      ok: false,
      code: 'INVALID_INPUT',
      message: expect.stringContaining('userName'),
    });
    expect(await stub.findTokenById('')).toMatchObject({ ok: false, code: 'INVALID_INPUT' });
    expect(await stub.getTokens()).toEqual({ ok: true, value: [] });
  });
});
