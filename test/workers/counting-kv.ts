// A KV binding wrapper that counts operations by kind and can be told to fail, so tests can
// assert costs (reads per find) and failure handling against real local KV.
import type { KVStoreOptions } from '../../src/backends/kv.ts';

type KVNamespaceLike = KVStoreOptions['kv'];

export interface CountingKV extends KVNamespaceLike {
  counts: { get: number; bulkGet: number; put: number; delete: number; list: number };
  reset(): void;
  /** Makes the nth put from now (1 = the next one) throw. */
  failPut(nth: number): void;
  /** Makes the next `n` puts throw as KV does past one write per second to a key (429). */
  tooManyWrites(n: number): void;
  total(): number;
}

export function countingKV(kv: KVNamespace): CountingKV {
  const counts = { get: 0, bulkGet: 0, put: 0, delete: 0, list: 0 };
  let putsUntilFailure = 0;
  let refusedPuts = 0;
  const wrapper: CountingKV = {
    counts,
    reset() {
      for (const k of Object.keys(counts) as (keyof typeof counts)[]) counts[k] = 0;
    },
    failPut(nth) {
      putsUntilFailure = nth;
    },
    tooManyWrites(n) {
      refusedPuts = n;
    },
    total: () => counts.get + counts.bulkGet + counts.put + counts.delete + counts.list,
    get: ((key: string | string[]) => {
      if (Array.isArray(key)) {
        counts.bulkGet++;
        return kv.get(key, 'text');
      }
      counts.get++;
      return kv.get(key, 'text');
    }) as KVNamespaceLike['get'],
    async put(key, value) {
      counts.put++;
      if (putsUntilFailure > 0 && --putsUntilFailure === 0) throw new Error('KV put failed (injected)');
      if (refusedPuts > 0 && refusedPuts--) throw new Error('KV PUT failed: 429 Too Many Requests');
      await kv.put(key, value);
    },
    async delete(key) {
      counts.delete++;
      await kv.delete(key);
    },
    list(options) {
      counts.list++;
      return kv.list(options) as ReturnType<KVNamespaceLike['list']>;
    },
  };
  return wrapper;
}
