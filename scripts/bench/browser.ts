// The benchmark inside Chromium (bundled and driven by run.ts through Playwright):
// window.runBench({scenario, n, iterations}) answers stats measured in this page.
import indexedDbDriver from 'unstorage/drivers/indexedb';
import { createStorage } from 'unstorage';
import { openIndexedDBStore } from '../../src/backends/idb.ts';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { BENCH_CIPHER, cipherOps, keyValueOps, seed, seedKeyValue, storeOps, time } from './measure.ts';

/** IndexedDB requests made by this page, counted at the prototype (reads, writes, cursors). */
let requests = 0;
for (const proto of [IDBObjectStore.prototype, IDBIndex.prototype] as unknown as Record<string, (...a: unknown[]) => unknown>[]) {
  for (const method of ['get', 'getAll', 'getKey', 'getAllKeys', 'put', 'add', 'delete', 'clear', 'count', 'openCursor', 'openKeyCursor']) {
    const original = proto[method];
    if (typeof original !== 'function') continue;
    proto[method] = function (this: unknown, ...args: unknown[]) {
      requests++;
      return original.apply(this, args);
    };
  }
}
const counter = { reset: () => void (requests = 0), read: () => requests };

let runs = 0;
/** Calls per timing sample: the page's clock is coarsened to 0.1 ms. */
const BATCH = 5;

async function runBench({ scenario, n, iterations }: { scenario: string; n: number; iterations: number }) {
  const tag = `bench-${scenario}-${n}-${runs++}-${Date.now()}`;
  if (scenario === 'indexeddb') {
    const store = await openIndexedDBStore({ name: tag, cipher: BENCH_CIPHER() });
    return time(storeOps(store, await seed(store, n)), iterations, counter, BATCH);
  }
  if (scenario === 'unstorage-indexeddb') {
    const storage = createStorage({ driver: indexedDbDriver({ dbName: tag }) });
    return time(keyValueOps(storage, await seedKeyValue(storage, n)), iterations, counter, n >= 1000 ? 1 : BATCH);
  }
  if (scenario === 'cipher') {
    return time(await cipherOps((sealed) => createMemoryStore(sealed ? { cipher: BENCH_CIPHER() } : {})), iterations, undefined, 20);
  }
  throw new Error(`unknown scenario ${scenario}`);
}

(globalThis as { runBench?: typeof runBench }).runBench = runBench;
