/**
 * IndexedDB backend (through `idb`). One object store of sealed records keyed by id, with a
 * unique index per blind-index field, so every findToken path is one index request in one
 * read transaction, and a save is one readwrite transaction that re-checks what it read:
 * two tabs saving at once cannot lose an update or duplicate a user. Saves also take a Web
 * Lock per database, so contexts take turns instead of retrying against each other.
 */
import { openDB, type DBSchema, type IDBPDatabase } from 'idb';
import { cipherFromKeys, type Cipher, type CipherKeys } from '../store/cipher.ts';
import { cipherCodec, type StoredRecord } from '../store/codec.ts';
import { TokenStoreError } from '../store/errors.ts';
import { INDEX_FIELDS, type IndexField } from '../store/matching.ts';
import { createRecordStore, WriteConflict, type RecordBackend } from '../store/record-store.ts';
import type { SealedTokenStore } from '../store/types.ts';

interface TokenDB extends DBSchema {
  tokens: {
    key: string;
    value: StoredRecord;
    indexes: Record<IndexField, string> & { keyId: string };
  };
}

/**
 * Schema versions. Each upgrade step runs once, in order, inside the versionchange
 * transaction, so a later release adds an index without touching stored records.
 *   1: object store `tokens` (keyPath id), unique indexes on index.<field>, index on keyId.
 */
const SCHEMA_VERSION = 1;

export interface IndexedDBStoreOptions {
  /** Database name (default "edge-token-store"); also part of every record's associated data. */
  name?: string;
  /** From `browserCipher()` (keys that never leave the browser) or `createCipher()`. */
  cipher: Cipher;
}

function idbBackend(db: IDBPDatabase<TokenDB>): RecordBackend {
  return {
    async get(id) {
      return (await db.get('tokens', id)) ?? null;
    },

    async findByIndex(field, digest) {
      return (await db.getFromIndex('tokens', field, digest)) ?? null;
    },

    async write(next, previous) {
      const tx = db.transaction('tokens', 'readwrite');
      // Settle tx.done ourselves so an abort below is never an unhandled rejection.
      const done = tx.done.catch((error: unknown) => error);
      try {
        const current = (await tx.store.get(next.id)) ?? null;
        if (current?.data !== previous?.data) throw new WriteConflict('record changed since it was read');
        await tx.store.put(next);
      } catch (error) {
        if (!tx.error) tx.abort();
        await done;
        // A unique index refusing the put means another tab saved this user first.
        if (error instanceof DOMException && error.name === 'ConstraintError') throw new WriteConflict(error.message);
        throw error;
      }
      const failure = await done;
      if (failure) throw failure;
    },

    async remove(record) {
      await db.delete('tokens', record.id);
    },

    async *list() {
      yield* await db.getAll('tokens');
    },

    async clear() {
      await db.clear('tokens');
    },
  };
}

/**
 * A sealed token store in IndexedDB (pages, extensions), with non-extractable keys when given
 * `browserCipher()`.
 *
 * ```ts
 * const store = await openIndexedDBStore({ cipher: await browserCipher() });
 * ```
 */
export async function openIndexedDBStore(options: IndexedDBStoreOptions): Promise<SealedTokenStore> {
  const { name = 'edge-token-store', cipher } = options ?? ({} as IndexedDBStoreOptions);
  if (typeof name !== 'string' || name.length === 0) {
    throw new TokenStoreError('INVALID_INPUT', 'openIndexedDBStore: name must be a non-empty string');
  }
  if (!cipher || typeof cipher.seal !== 'function') {
    throw new TokenStoreError('INVALID_INPUT', 'openIndexedDBStore: cipher is required (browserCipher or createCipher)');
  }
  let db: IDBPDatabase<TokenDB>;
  try {
    db = await openDB<TokenDB>(name, SCHEMA_VERSION, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          const tokens = database.createObjectStore('tokens', { keyPath: 'id' });
          for (const field of INDEX_FIELDS) tokens.createIndex(field, `index.${field}`, { unique: true });
          tokens.createIndex('keyId', 'keyId');
        }
      },
      // Another tab wants a newer schema (or to delete the database): let it, rather than
      // block it. Operations here then fail with STORAGE_FAILED until the page reloads.
      blocking() {
        db.close();
      },
    });
  } catch (cause) {
    throw new TokenStoreError('STORAGE_FAILED', 'could not open the IndexedDB database', { cause });
  }
  // Tabs, workers and an extension's contexts share the database; Web Locks (where present)
  // lets one save at a time through, and the re-check in `write` stays the guarantee.
  const locks = globalThis.navigator?.locks;
  const crossContextLock = locks ? <T>(task: () => Promise<T>) => locks.request(`edge-token-store:idb:${name}`, task) as Promise<T> : undefined;
  return createRecordStore(idbBackend(db), cipherCodec(cipher, `idb:${name}`), { crossContextLock });
}

interface KeyRecord extends CipherKeys {
  keyId: string;
}

/**
 * A cipher whose keys are created once in this origin, kept in IndexedDB as non-extractable
 * `CryptoKey`s, and reused: script can use them but never read their bytes. Contexts that
 * race on first use agree on one key (the first to add it wins, the others read it).
 */
export async function browserCipher(name = 'edge-token-store-keys'): Promise<Cipher> {
  try {
    const db = await openDB(name, 1, {
      upgrade(database) {
        database.createObjectStore('keys', { keyPath: 'keyId' });
      },
    });
    try {
      let [record] = (await db.getAll('keys')) as KeyRecord[];
      if (!record) {
        const keyId = `b${Date.now().toString(36)}`;
        const [encryption, blindIndex] = await Promise.all([
          crypto.subtle.generateKey({ name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
          crypto.subtle.generateKey({ name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']),
        ]);
        // The check and the add share one readwrite transaction, which IndexedDB runs alone.
        const tx = db.transaction('keys', 'readwrite');
        if ((await tx.store.count()) === 0) await tx.store.add({ keyId, encryption, blindIndex } satisfies KeyRecord);
        await tx.done;
        [record] = (await db.getAll('keys')) as KeyRecord[];
      }
      if (!record) throw new Error('no key after creating one');
      return cipherFromKeys({ [record.keyId]: record }, record.keyId);
    } finally {
      db.close();
    }
  } catch (cause) {
    throw new TokenStoreError('STORAGE_FAILED', 'could not open or create the browser key', { cause });
  }
}
