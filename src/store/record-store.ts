/**
 * The one `TokenStore` implementation. Every backend (memory, IndexedDB, KV, Durable Object)
 * is a `RecordBackend` of a few storage verbs; this file orchestrates them, the matching
 * module decides, and the codec seals. No backend re-implements matching.
 */
import type { RecordCodec, StoredRecord } from './codec.ts';
import { TokenStoreError } from './errors.ts';
import { findConflict, indexValues, lookupFor, matches, planSave, type IndexField, type Lookup } from './matching.ts';
import type { OAuthToken, SealedTokenStore, TokenQuery } from './types.ts';
import { checkId, checkTokenInput } from './validate.ts';
import { retrying } from './retry.ts';

/** Storage verbs. A backend never interprets tokens; it stores records and index entries. */
export interface RecordBackend {
  get(id: string): Promise<StoredRecord | null>;
  /** The record an index entry points at, or null. It may be stale: the caller verifies. */
  findByIndex(field: IndexField, digest: string): Promise<StoredRecord | null>;
  /**
   * Stores `next` in place of `previous` (null: an insert), moving its index entries.
   * Throws `WriteConflict` when what is stored under `next.id` is no longer `previous`, or
   * when another record holds one of `next`'s index entries: the save is then retried.
   */
  write(next: StoredRecord, previous: StoredRecord | null): Promise<void>;
  remove(record: StoredRecord): Promise<void>;
  /** Every record, in pages, as stored when each page was read. */
  list(): AsyncIterable<StoredRecord>;
  clear(): Promise<void>;
}

/** Another writer changed the record between read and write; the save is re-planned. */
export class WriteConflict extends Error {
  override readonly name = 'WriteConflict';
}

const MAX_SAVE_ATTEMPTS = 8;

interface Hit {
  record: StoredRecord;
  token: OAuthToken;
}

/** Serializes saves within one store instance (one page, isolate or object). */
function createMutex() {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

async function storage<T>(doing: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (error) {
    if (error instanceof TokenStoreError || error instanceof WriteConflict) throw error;
    throw new TokenStoreError('STORAGE_FAILED', `storage failed while ${doing}`, { cause: error });
  }
}

export interface RecordStoreOptions {
  /**
   * Runs a save exclusively across contexts that share the storage (such as the Web Locks
   * API across tabs). Saves are always serialized within this store instance as well.
   */
  crossContextLock?: <T>(task: () => Promise<T>) => Promise<T>;
}

/** Up to ~2^attempt ms of random delay, so writers that collided do not collide again in step. */
const backoff = (attempt: number) => new Promise<void>((resolve) => setTimeout(resolve, Math.random() * 2 ** attempt));

export function createRecordStore(backend: RecordBackend, codec: RecordCodec, options: RecordStoreOptions = {}): SealedTokenStore {
  const mutex = createMutex();
  const { crossContextLock } = options;
  const exclusive = <T>(task: () => Promise<T>) => mutex(crossContextLock ? () => crossContextLock(task) : task);

  async function load(id: string): Promise<Hit | null> {
    const record = await storage('reading a record', () => backend.get(id));
    return record && { record, token: await codec.open(record) };
  }

  async function find(lookup: Lookup): Promise<Hit | null> {
    if (lookup.field === 'id') {
      const hit = await load(lookup.value);
      return hit && matches(lookup, hit.token) ? hit : null;
    }
    const { field, value } = lookup;
    // Nearly every record is indexed under the current key: one digest, one read. Older keys and
    // formats cost their digests only when that misses.
    const current = await throughIndex(lookup, await codec.digest(field, value));
    if (current) return current;
    for (const digest of await codec.olderDigests(field, value)) {
      const hit = await throughIndex(lookup, digest);
      if (hit) return hit;
    }
    return null;
  }

  async function throughIndex(lookup: Extract<Lookup, { field: IndexField }>, digest: string): Promise<Hit | null> {
    const record = await storage('reading through an index', () => backend.findByIndex(lookup.field, digest));
    // A stale entry (KV has no transactions) points at a record whose own digest differs.
    if (!record || record.index[lookup.field] !== digest) return null;
    const token = await codec.open(record);
    return matches(lookup, token) ? { record, token } : null;
  }

  async function listAll(): Promise<StoredRecord[]> {
    return storage('listing records', async () => {
      const records: StoredRecord[] = [];
      for await (const record of backend.list()) records.push(record);
      return records;
    });
  }

  async function saveOnce(input: TokenQuery): Promise<OAuthToken> {
    const byId = input.id ? await load(input.id) : null;
    const lookup = byId ? null : lookupFor({ ...input, id: undefined });
    const byLookup = lookup ? await find(lookup) : null;
    const target = byId ?? byLookup;
    const { token } = planSave(input, byId?.token ?? null, byLookup?.token ?? null, () => crypto.randomUUID());

    // Values the target already held cannot belong to anyone else; look up only new ones.
    const holders: OAuthToken[] = [];
    for (const [field, value] of indexValues(token)) {
      if (target?.token[field] === value) continue;
      const holder = await find({ field, value });
      if (holder) holders.push(holder.token);
    }
    const clash = findConflict(token, holders);
    if (clash) {
      // A holder that this save's own lookup matches was created by another context after
      // that lookup ran (two tabs saving a new user at once): re-plan, and update it.
      if (lookup && holders.some((holder) => matches(lookup, holder))) throw new WriteConflict('the record this save means appeared meanwhile');
      throw new TokenStoreError('CONFLICT', `another stored token already holds this ${clash}`);
    }

    const next = await codec.seal(token);
    await storage('writing a record', () => backend.write(next, target?.record ?? null));
    return token;
  }

  return {
    async findToken(query) {
      const lookup = lookupFor(checkTokenInput(query, 'query'));
      return lookup && ((await find(lookup))?.token ?? null);
    },

    async findTokenById(id) {
      return (await load(checkId(id)))?.token ?? null;
    },

    async saveToken(token) {
      const input = checkTokenInput(token, 'token');
      if (Object.keys(input).length === 0) throw new TokenStoreError('INVALID_INPUT', 'token has no fields');
      return exclusive(() =>
        retrying(() => saveOnce(input), {
          attempts: MAX_SAVE_ATTEMPTS,
          retryable: (error) => error instanceof WriteConflict,
          sleep: backoff,
          exhausted: (error) => new TokenStoreError('STORAGE_FAILED', 'concurrent writers kept changing the record', { cause: error }),
        }),
      );
    },

    async deleteToken(id) {
      checkId(id);
      await exclusive(async () => {
        const record = await storage('reading a record', () => backend.get(id));
        if (record) await storage('deleting a record', () => backend.remove(record));
      });
    },

    async getTokens() {
      return Promise.all((await listAll()).map((record) => codec.open(record)));
    },

    async deleteTokens() {
      await exclusive(() => storage('deleting all records', () => backend.clear()));
    },

    async rotate() {
      return exclusive(async () => {
        const stale = (await listAll()).filter((record) => !codec.isCurrent(record));
        for (const record of stale) {
          const next = await codec.seal(await codec.open(record));
          await storage('re-sealing a record', () => backend.write(next, record));
        }
        return stale.length;
      });
    },
  };
}
