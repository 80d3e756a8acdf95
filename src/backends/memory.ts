/**
 * The in-memory store: the Zoho samples' list and in-memory stores, done right. Records live
 * in this process only, so without a cipher they are kept as plain JSON; pass a cipher to
 * measure or exercise the sealed path.
 */
import type { Cipher } from '../store/cipher.ts';
import { cipherCodec, plainCodec, type StoredRecord } from '../store/codec.ts';
import type { IndexField } from '../store/matching.ts';
import { createRecordStore, WriteConflict, type RecordBackend } from '../store/record-store.ts';
import type { SealedTokenStore } from '../store/types.ts';

export interface MemoryStoreOptions {
  /** Seal records as the persistent backends do (default: plain, since nothing leaves the process). */
  cipher?: Cipher;
}

/** The backend under `createMemoryStore`; exported for tests that share one backend between stores. */
export function memoryBackend(): RecordBackend {
  const records = new Map<string, StoredRecord>();
  const index = new Map<string, string>();
  const entry = (field: string, digest: string) => `${field}\u0000${digest}`;
  const unindex = (record: StoredRecord) => {
    for (const [field, digest] of Object.entries(record.index)) {
      if (index.get(entry(field, digest)) === record.id) index.delete(entry(field, digest));
    }
  };

  return {
    async get(id) {
      return records.get(id) ?? null;
    },
    async findByIndex(field: IndexField, digest) {
      const id = index.get(entry(field, digest));
      return id === undefined ? null : (records.get(id) ?? null);
    },
    async write(next, previous) {
      if ((records.get(next.id) ?? null) !== previous) throw new WriteConflict('record changed since it was read');
      for (const [field, digest] of Object.entries(next.index)) {
        const holder = index.get(entry(field, digest));
        if (holder !== undefined && holder !== next.id) throw new WriteConflict(`another record holds this ${field}`);
      }
      if (previous) unindex(previous);
      records.set(next.id, next);
      for (const [field, digest] of Object.entries(next.index)) index.set(entry(field, digest), next.id);
    },
    async remove(record) {
      unindex(record);
      records.delete(record.id);
    },
    async *list() {
      yield* [...records.values()];
    },
    async clear() {
      records.clear();
      index.clear();
    },
  };
}

/**
 * A token store in memory, in clear (tests, scripts, a single process); the same contract as
 * every other store.
 *
 * ```ts
 * const store = createMemoryStore();
 * await store.saveToken({ userName: 'ana@example.com:7001', refreshToken });
 * ```
 */
export function createMemoryStore(options: MemoryStoreOptions = {}): SealedTokenStore {
  const codec = options.cipher ? cipherCodec(options.cipher, 'memory') : plainCodec();
  return createRecordStore(memoryBackend(), codec);
}
