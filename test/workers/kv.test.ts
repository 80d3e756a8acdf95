import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { TokenStoreError } from '../../src/store/errors.ts';
import { createKVStore } from '../../src/backends/kv.ts';
import { runConformance, sampleToken } from '../conformance.ts';
import { countingKV } from './counting-kv.ts';
import './env.ts';
import { expectNothingInClear } from '../shared/in-clear.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

const cipher = createCipher({ keys: { k1: generateSecret() }, current: 'k1' });
let stores = 0;
const freshPrefix = () => `kv-test-${Date.now()}-${stores++}:`;

runConformance('workers kv', () => createKVStore({ kv: env.TOKENS_KV, cipher, prefix: freshPrefix() }));

async function rawEntries(prefix: string): Promise<[string, string][]> {
  const out: [string, string][] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await env.TOKENS_KV.list({ prefix, cursor });
    for (const { name } of page.keys) out.push([name, (await env.TOKENS_KV.get(name)) ?? '']);
    if (page.list_complete) return out;
    cursor = page.cursor;
  }
}

async function expectCode(promise: Promise<unknown>, code: TokenStoreError['code']) {
  const error = await tokenErrorOf(promise);
  expect(error.code).toBe(code);
  return error;
}

describe('workers kv: costs with 1,000 tokens stored', () => {
  const kv = countingKV(env.TOKENS_KV);
  const prefix = freshPrefix();
  const store = createKVStore({ kv, cipher, prefix });
  const n = 1000;
  const probe = sampleToken(500, { grantToken: 'grant-500' });

  beforeAll(async () => {
    for (let i = 0; i < n; i++) await store.saveToken(i === 500 ? probe : sampleToken(i));
  });

  it('findToken reads at most 2 keys on every precedence branch, and never lists', async () => {
    const queries = [
      { userName: probe.userName! },
      { accessToken: probe.accessToken! },
      { refreshToken: probe.refreshToken!, clientId: probe.clientId!, clientSecret: probe.clientSecret! },
      { grantToken: probe.grantToken!, clientId: probe.clientId!, clientSecret: probe.clientSecret! },
      { id: (await store.findToken({ userName: probe.userName! }))!.id },
    ];
    for (const query of queries) {
      kv.reset();
      expect((await store.findToken(query))?.userName).toBe(probe.userName);
      expect(kv.counts.get).toBeLessThanOrEqual(2);
      expect(kv.counts.bulkGet + kv.counts.list + kv.counts.put + kv.counts.delete).toBe(0);
    }
    kv.reset();
    expect(await store.findToken({ userName: 'nobody:1' })).toBeNull();
    // A miss reads one index entry per digest the value may be under: this key's v2 digest and
    // its v1 digest (records of the older format stay findable until rotation re-seals them).
    expect(kv.total()).toBe(2);
  });

  it('findTokenById reads exactly one key', async () => {
    const id = (await store.findToken({ userName: probe.userName! }))!.id;
    kv.reset();
    expect((await store.findTokenById(id))?.id).toBe(id);
    expect(kv.total()).toBe(1);
  });

  it('saveToken of a refresh never lists, and writes only what changed', async () => {
    const id = (await store.findToken({ userName: probe.userName! }))!.id;
    kv.reset();
    await store.saveToken({ id, accessToken: 'refreshed-access-500', expiryTime: 99 });
    expect(kv.counts.list).toBe(0);
    // record + the new access-token entry; the old entry is deleted
    expect(kv.counts.put).toBe(2);
    expect(kv.counts.delete).toBe(1);
    expect(kv.counts.get).toBeLessThanOrEqual(3);
  });

  it('getTokens pages with bulk reads and stays far under 1,000 operations', async () => {
    kv.reset();
    expect(await store.getTokens()).toHaveLength(n);
    expect(kv.counts.get).toBe(0);
    expect(kv.counts.bulkGet).toBe(n / 100);
    expect(kv.total()).toBeLessThan(50);
  });

  it('deleteTokens stops at the operation budget and finishes when called again', async () => {
    const budgeted = createKVStore({ kv, cipher, prefix, operationBudget: 900 });
    let calls = 0;
    for (;;) {
      kv.reset();
      calls++;
      const result = await budgeted.deleteTokens().then(
        () => 'done',
        (e: unknown) => e,
      );
      expect(kv.total()).toBeLessThanOrEqual(900);
      if (result === 'done') break;
      expect((result as TokenStoreError).code).toBe('LIMIT_REACHED');
      // Between calls, the store stays consistent: nothing is found that is not there.
      expect(await store.findToken({ userName: sampleToken(999).userName! }).catch((e) => e)).not.toBeInstanceOf(Error);
      expect(calls).toBeLessThan(10);
    }
    expect(calls).toBeGreaterThan(1);
    expect(await rawEntries(prefix)).toEqual([]);
  });
});

describe('workers kv: storage', () => {
  it('keeps no token, client secret or user name in clear in any key or value', async () => {
    const prefix = freshPrefix();
    const store = createKVStore({ kv: env.TOKENS_KV, cipher, prefix });
    const tokens = [sampleToken(1, { grantToken: 'grant-secret-1' }), sampleToken(2)];
    for (const token of tokens) await store.saveToken(token);
    expectNothingInClear(JSON.stringify(await rawEntries(prefix)), tokens);
  });

  it('keeps stores with different prefixes apart in one namespace', async () => {
    const a = createKVStore({ kv: env.TOKENS_KV, cipher, prefix: freshPrefix() });
    const b = createKVStore({ kv: env.TOKENS_KV, cipher, prefix: freshPrefix() });
    await a.saveToken(sampleToken(1));
    await b.saveToken(sampleToken(1));
    await b.deleteTokens();
    expect(await a.getTokens()).toHaveLength(1);
    expect(await b.findToken({ userName: sampleToken(1).userName! })).toBeNull();
  });

  it('never returns a wrong token through a stale index entry', async () => {
    const prefix = freshPrefix();
    const store = createKVStore({ kv: env.TOKENS_KV, cipher, prefix });
    const one = await store.saveToken(sampleToken(1));
    const two = await store.saveToken(sampleToken(2));
    // Point user 1's index entry at user 2's record, as a lost race could.
    const entries = await rawEntries(`${prefix}i:userName:`);
    const entryForOne = entries.find(([, id]) => id === one.id)!;
    await env.TOKENS_KV.put(entryForOne[0], two.id);
    expect(await store.findToken({ userName: one.userName! })).toBeNull();
    // And at a record that is gone.
    await env.TOKENS_KV.put(entryForOne[0], 'deleted-id');
    expect(await store.findToken({ userName: one.userName! })).toBeNull();
  });

  it('surfaces a failing put as STORAGE_FAILED and leaves no index entry pointing at nothing', async () => {
    for (const nth of [1, 2, 3]) {
      const prefix = freshPrefix();
      const kv = countingKV(env.TOKENS_KV);
      const store = createKVStore({ kv, cipher, prefix });
      await store.saveToken(sampleToken(1));
      kv.failPut(nth);
      const error = await expectCode(store.saveToken(sampleToken(2)), 'STORAGE_FAILED');
      expect(error.cause).toBeInstanceOf(Error);
      const entries = await rawEntries(prefix);
      const recordIds = new Set(entries.filter(([k]) => k.startsWith(`${prefix}t:`)).map(([k]) => k.slice(prefix.length + 2)));
      for (const [key, id] of entries) if (key.startsWith(`${prefix}i:`)) expect(recordIds.has(id)).toBe(true);
      // The store still works, and the failed user can be saved once storage recovers.
      const saved = await store.saveToken(sampleToken(2));
      expect(await store.findToken({ userName: sampleToken(2).userName! })).toEqual(saved);
      expect(await store.getTokens()).toHaveLength(2);
    }
  });

  it('retries a write KV refuses with 429 (one write per second per key), with growing waits', async () => {
    const kv = countingKV(env.TOKENS_KV);
    const waits: number[] = [];
    const store = createKVStore({ kv, cipher, prefix: freshPrefix(), writeRetry: { sleep: async (ms) => void waits.push(ms) } });
    const saved = await store.saveToken(sampleToken(1));
    kv.reset();
    kv.tooManyWrites(2);
    await store.saveToken({ id: saved.id, accessToken: 'after-429', expiryTime: 7 });
    expect(waits).toHaveLength(2);
    expect(waits[0]).toBeGreaterThanOrEqual(500);
    expect(waits[0]).toBeLessThanOrEqual(1_000);
    expect(waits[1]).toBeGreaterThanOrEqual(1_000);
    expect(waits[1]).toBeLessThanOrEqual(2_000);
    expect(kv.counts.put).toBe(2 + 2); // the record (refused twice, then written) and the new access-token entry
    expect((await store.findTokenById(saved.id))?.accessToken).toBe('after-429');
  });

  it('after the last attempt, a 429 is a retryable STORAGE_FAILED, and the stored token is as it was', async () => {
    const kv = countingKV(env.TOKENS_KV);
    const store = createKVStore({ kv, cipher, prefix: freshPrefix(), writeRetry: { attempts: 3, sleep: async () => {} } });
    const saved = await store.saveToken(sampleToken(1));
    kv.reset();
    kv.tooManyWrites(10);
    const error = await expectCode(store.saveToken({ id: saved.id, accessToken: 'never-written' }), 'STORAGE_FAILED');
    expect([error.retryable, error.retryAfterMs! > 0]).toEqual([true, true]);
    expect(kv.counts.put).toBe(3);
    expect(await store.findTokenById(saved.id)).toEqual(saved);
    // Any other failure is not retried.
    kv.reset();
    kv.tooManyWrites(0);
    kv.failPut(1);
    const other = await expectCode(store.saveToken({ id: saved.id, accessToken: 'x' }), 'STORAGE_FAILED');
    expect([other.retryable, kv.counts.put]).toEqual([false, 1]);
  });

  it('rejects a missing binding, a missing cipher and a bad prefix', () => {
    expect(() => createKVStore({ kv: undefined as never, cipher })).toThrow(TokenStoreError);
    expect(() => createKVStore({ kv: env.TOKENS_KV, cipher: undefined as never })).toThrow(TokenStoreError);
    expect(() => createKVStore({ kv: env.TOKENS_KV, cipher, prefix: 'p'.repeat(500) })).toThrow(TokenStoreError);
  });
});
