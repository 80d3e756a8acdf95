/**
 * Workers KV backend. Layout (see docs/storage-schema.md):
 *   <prefix>t:<id>                  -> {"k": keyId, "d": sealed token, "i": {field: digest}}
 *   <prefix>i:<field>:<digest>      -> id
 * findToken reads one index entry and one record; findTokenById one record. No find or save
 * lists keys. KV has no transactions, so an index entry can go stale: the record's own
 * digest must agree before the matching module even sees it.
 */
import type { Cipher } from '../store/cipher.ts';
import { cipherCodec, type StoredRecord } from '../store/codec.ts';
import { TokenStoreError } from '../store/errors.ts';
import type { IndexField } from '../store/matching.ts';
import { createRecordStore, type RecordBackend } from '../store/record-store.ts';
import type { SealedTokenStore } from '../store/types.ts';
import { retrying } from '../store/retry.ts';

/** The parts of a `KVNamespace` binding this store uses (a real binding satisfies it). */
/** What the KV store uses of a Workers KV namespace binding (a test can pass a double). */
export interface KVNamespaceLike {
  get(key: string): Promise<string | null>;
  get(keys: string[]): Promise<Map<string, string | null>>;
  put(key: string, value: string): Promise<void>;
  delete(key: string): Promise<void>;
  list(options: {
    prefix: string;
    cursor?: string | null;
    limit?: number;
  }): Promise<{ keys: { name: string }[]; list_complete: false; cursor: string } | { keys: { name: string }[]; list_complete: true }>;
}

export interface KVStoreOptions {
  /** The KV namespace binding, passed in (never looked up on globals). */
  kv: KVNamespaceLike;
  cipher: Cipher;
  /** Key prefix, so several stores can share a namespace (default "ets:"). Part of every record's associated data. */
  prefix?: string;
  /**
   * KV operations one `deleteTokens` or `getTokens` call may spend (default 900, under the
   * 1,000 per Worker invocation). `deleteTokens` stops there with LIMIT_REACHED; call it
   * again, from a new invocation, to continue.
   */
  operationBudget?: number;
  /**
   * Workers KV takes about one write per second to the same key and answers 429 beyond it.
   * A refused write is tried again after a wait (about 1 s, then 2 s, with jitter), up to
   * `attempts` in all (default 3); then the save fails as a retryable STORAGE_FAILED.
   */
  writeRetry?: { attempts?: number; baseDelayMs?: number; sleep?: (ms: number) => Promise<void> };
}

/** KV's bulk get takes at most 100 keys and counts as one operation. */
const BULK_GET = 100;
const MAX_PREFIX = 100;

interface KVRecordJSON {
  k: string;
  d: string;
  i: StoredRecord['index'];
}

function parseRecord(id: string, json: string | null | undefined): StoredRecord | null {
  if (json === null || json === undefined) return null;
  try {
    const { k, d, i } = JSON.parse(json) as KVRecordJSON;
    if (typeof k === 'string' && typeof d === 'string' && typeof i === 'object' && i !== null) {
      return { id, keyId: k, data: d, index: i };
    }
  } catch {
    // reported below
  }
  throw new TokenStoreError('DECRYPT_FAILED', 'a stored KV record is malformed');
}

function limitReached(doing: string): TokenStoreError {
  return new TokenStoreError('LIMIT_REACHED', `stopped ${doing} at the KV operation budget; call again from a new invocation to continue`);
}

const isTooManyWrites = (error: unknown) => /\b429\b|too many requests/i.test(String((error as Error | undefined)?.message ?? error));

/** `kv.put`, tried again on KV's 429 (too many writes to one key) with growing, jittered waits. */
function putWithRetry(kv: KVNamespaceLike, retry: KVStoreOptions['writeRetry'] = {}) {
  const { attempts = 3, baseDelayMs = 1_000, sleep = (ms: number) => new Promise<void>((done) => setTimeout(done, ms)) } = retry;
  const ceiling = (attempt: number) => baseDelayMs * 2 ** (attempt - 1);
  return (key: string, value: string): Promise<void> =>
    retrying(() => kv.put(key, value), {
      attempts,
      retryable: isTooManyWrites,
      sleep: (attempt) => sleep(ceiling(attempt) / 2 + Math.random() * (ceiling(attempt) / 2)),
      exhausted: (error) =>
        new TokenStoreError('STORAGE_FAILED', `Workers KV refused the write ${attempts} times: too many writes to one key (429)`, {
          cause: error,
          retryAfterMs: ceiling(attempts),
        }),
    });
}

function kvBackend(kv: KVNamespaceLike, prefix: string, budget: number, put: (key: string, value: string) => Promise<void>): RecordBackend {
  const recordKey = (id: string) => `${prefix}t:${id}`;
  const indexKey = (field: string, digest: string) => `${prefix}i:${field}:${digest}`;
  const recordPrefix = `${prefix}t:`;

  async function* keysUnder(keyPrefix: string, spend: () => void): AsyncGenerator<string[]> {
    let cursor: string | undefined;
    for (;;) {
      spend();
      const page = await kv.list({ prefix: keyPrefix, cursor: cursor ?? null });
      yield page.keys.map((k) => k.name);
      if (page.list_complete) return;
      cursor = page.cursor;
    }
  }

  return {
    async get(id) {
      return parseRecord(id, await kv.get(recordKey(id)));
    },

    async findByIndex(field: IndexField, digest) {
      const id = await kv.get(indexKey(field, digest));
      return id === null ? null : parseRecord(id, await kv.get(recordKey(id)));
    },

    async write(next, previous) {
      const body: KVRecordJSON = { k: next.keyId, d: next.data, i: next.index };
      // Record first, then its index entries: a failure part way never leaves an entry
      // that points at nothing. A failed insert takes back what it wrote.
      await put(recordKey(next.id), JSON.stringify(body));
      const written: string[] = [];
      try {
        for (const [field, digest] of Object.entries(next.index)) {
          if (previous?.index[field as IndexField] === digest) continue;
          await put(indexKey(field, digest), next.id);
          written.push(indexKey(field, digest));
        }
      } catch (error) {
        if (!previous) {
          for (const key of [...written, recordKey(next.id)]) await kv.delete(key).catch(() => undefined);
        }
        throw error;
      }
      for (const [field, digest] of Object.entries(previous?.index ?? {})) {
        if (next.index[field as IndexField] !== digest) await kv.delete(indexKey(field, digest));
      }
    },

    async remove(record) {
      // Index entries first: if the record delete then fails, nothing points at a missing record.
      for (const [field, digest] of Object.entries(record.index)) await kv.delete(indexKey(field, digest));
      await kv.delete(recordKey(record.id));
    },

    async *list() {
      let spent = 0;
      const spend = () => {
        if (++spent > budget) throw limitReached('listing tokens');
      };
      for await (const names of keysUnder(recordPrefix, spend)) {
        for (let i = 0; i < names.length; i += BULK_GET) {
          spend();
          const values = await kv.get(names.slice(i, i + BULK_GET));
          for (const [name, json] of values) {
            const record = parseRecord(name.slice(recordPrefix.length), json);
            if (record) yield record;
          }
        }
      }
    },

    async clear() {
      let spent = 0;
      const spend = () => {
        if (++spent > budget) throw limitReached('deleting tokens');
      };
      // Records before index entries: an index entry left behind by a stopped clear is stale
      // (detected on read, overwritten on the next save), while a record left without its
      // index entries would be invisible to lookups and could be duplicated.
      for (const keyPrefix of [recordPrefix, `${prefix}i:`]) {
        for await (const names of keysUnder(keyPrefix, spend)) {
          for (const name of names) {
            spend();
            await kv.delete(name);
          }
        }
      }
    },
  };
}

/**
 * A sealed token store in a Workers KV namespace: records and blind-index entries under
 * `prefix`; `findToken` at most two reads. Eventually consistent: read-mostly use.
 *
 * ```ts
 * const store = createKVStore({ kv: env.TOKENS_KV, cipher: cipherFromSettings(env.TOKEN_STORE_KEYS, env.TOKEN_STORE_CURRENT_KEY), prefix: 'crm:' });
 * ```
 */
export function createKVStore(options: KVStoreOptions): SealedTokenStore {
  const { kv, cipher, prefix = 'ets:', operationBudget = 900, writeRetry } = options ?? ({} as KVStoreOptions);
  if (!kv || typeof kv.get !== 'function' || typeof kv.list !== 'function') {
    throw new TokenStoreError('INVALID_INPUT', 'createKVStore: kv must be a KV namespace binding');
  }
  if (!cipher || typeof cipher.seal !== 'function') {
    throw new TokenStoreError('INVALID_INPUT', 'createKVStore: cipher is required (createCipher)');
  }
  if (typeof prefix !== 'string' || prefix.length > MAX_PREFIX) {
    throw new TokenStoreError('INVALID_INPUT', `createKVStore: prefix must be a string of at most ${MAX_PREFIX} characters`);
  }
  if (!Number.isSafeInteger(operationBudget) || operationBudget < 10) {
    throw new TokenStoreError('INVALID_INPUT', 'createKVStore: operationBudget must be an integer of at least 10');
  }
  return createRecordStore(kvBackend(kv, prefix, operationBudget, putWithRetry(kv, writeRetry)), cipherCodec(cipher, `kv:${prefix}`));
}
