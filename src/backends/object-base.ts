/**
 * What a Durable Object holding a sealed store is built from: its SQLite record backend (one
 * table, a unique column per blind index, every statement binding its values, each save one
 * `transactionSync`), the key ring and Zoho client it reads from its environment, and the RPC
 * outcome convention. `TokenStoreObjectBase` is the object with no RPC method of its own: the
 * library's `TokenStoreObject` (durable-object.ts) adds the store's methods, and the Worker's
 * per-user object (worker/user-object.ts) adds sessions and hands out no raw token. Within an
 * object saves are serialized, so any number of Workers saving one user end with one record.
 */
import { DurableObject } from 'cloudflare:workers';
import { cipherFromSettings, type Cipher } from '../store/cipher.ts';
import { cipherCodec, type StoredRecord } from '../store/codec.ts';
import { TokenStoreError, type TokenStoreErrorCode } from '../store/errors.ts';
import { INDEX_FIELDS, type IndexField } from '../store/matching.ts';
import { createRecordStore, WriteConflict, type RecordBackend } from '../store/record-store.ts';
import type { SealedTokenStore } from '../store/types.ts';
import { createTokenManager, type TokenEvent, type TokenManager } from '../zoho/token-manager.ts';
import { zohoOAuth } from '../zoho/oauth.ts';
import { zohoDataCenters, type DataCenterEnv } from '../zoho/data-centers.ts';

/** What the object reads from the Worker's environment (the Zoho data centers: ../zoho/data-centers.ts). */
export interface TokenStoreObjectEnv extends DataCenterEnv {
  /** A secret: JSON object of key id -> base64url 32-byte secret, e.g. {"k1":"..."}. */
  TOKEN_STORE_KEYS: string;
  /** The key id that seals (a plain variable). */
  TOKEN_STORE_CURRENT_KEY: string;
  /** The Zoho client the object refreshes with (needed only for `freshToken`). */
  ZOHO_CLIENT_ID?: string;
  /** A secret. */
  ZOHO_CLIENT_SECRET?: string;
}

/** RPC results. Workers RPC does not carry an error's `code`, so outcomes carry it. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: TokenStoreErrorCode; message: string; retryAfterMs?: number };

type Row = { id: string; key_id: string; data: string } & Record<`ix_${IndexField}`, string | null>;

const COLUMNS = ['id', 'key_id', 'data', ...INDEX_FIELDS.map((f) => `ix_${f}`)].join(', ');
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS tokens (
     id TEXT PRIMARY KEY NOT NULL,
     key_id TEXT NOT NULL,
     data TEXT NOT NULL,
     ${INDEX_FIELDS.map((f) => `ix_${f} TEXT UNIQUE`).join(',\n     ')}
   )`,
  'CREATE INDEX IF NOT EXISTS tokens_key_id ON tokens (key_id)',
];

type Storage = DurableObject['ctx']['storage'];

function toRecord(row: Row | undefined): StoredRecord | null {
  if (!row) return null;
  const index: StoredRecord['index'] = {};
  for (const field of INDEX_FIELDS) {
    const digest = row[`ix_${field}`];
    if (digest !== null) index[field] = digest;
  }
  return { id: row.id, keyId: row.key_id, data: row.data, index };
}

function sqlBackend(storage: Storage): RecordBackend {
  const { sql } = storage;
  for (const statement of SCHEMA) sql.exec(statement);
  const selectById = (id: string) => toRecord(sql.exec<Row>(`SELECT ${COLUMNS} FROM tokens WHERE id = ?`, id).toArray()[0]);
  const digests = (record: StoredRecord) => INDEX_FIELDS.map((f) => record.index[f] ?? null);

  return {
    async get(id) {
      return selectById(id);
    },
    async findByIndex(field, digest) {
      // `field` is one of INDEX_FIELDS, never caller text.
      return toRecord(sql.exec<Row>(`SELECT ${COLUMNS} FROM tokens WHERE ix_${field} = ?`, digest).toArray()[0]);
    },
    async write(next, previous) {
      storage.transactionSync(() => {
        const current = selectById(next.id);
        if ((current?.data ?? null) !== (previous?.data ?? null)) throw new WriteConflict('record changed since it was read');
        try {
          if (current) {
            sql.exec(
              `UPDATE tokens SET key_id = ?, data = ?, ${INDEX_FIELDS.map((f) => `ix_${f} = ?`).join(', ')} WHERE id = ?`,
              next.keyId,
              next.data,
              ...digests(next),
              next.id,
            );
          } else {
            sql.exec(`INSERT INTO tokens (${COLUMNS}) VALUES (${COLUMNS.split(', ').map(() => '?').join(', ')})`, next.id, next.keyId, next.data, ...digests(next));
          }
        } catch (error) {
          if (/UNIQUE constraint/i.test(String(error))) throw new WriteConflict('another record holds one of these values');
          throw error;
        }
      });
    },
    async remove(record) {
      sql.exec('DELETE FROM tokens WHERE id = ?', record.id);
    },
    async *list() {
      yield* sql.exec<Row>(`SELECT ${COLUMNS} FROM tokens ORDER BY id`).toArray().map((row) => toRecord(row)!);
    },
    async clear() {
      sql.exec('DELETE FROM tokens');
    },
  };
}

function managerFromEnv(store: SealedTokenStore, env: TokenStoreObjectEnv, onEvent: (event: TokenEvent) => void): TokenManager {
  if (!env.ZOHO_CLIENT_ID || !env.ZOHO_CLIENT_SECRET) {
    throw new TokenStoreError('INVALID_INPUT', 'the token store object has no Zoho client (ZOHO_CLIENT_ID, ZOHO_CLIENT_SECRET)');
  }
  let table;
  try {
    ({ table } = zohoDataCenters(env));
  } catch (cause) {
    throw new TokenStoreError('INVALID_INPUT', (cause as Error).message);
  }
  // Each token is refreshed and revoked at its own data center's server, read from its API domain.
  const oauth = zohoOAuth({ dataCenter: 'any', dataCenters: table, clientId: env.ZOHO_CLIENT_ID, clientSecret: env.ZOHO_CLIENT_SECRET });
  // The object is the one place this token lives: its own single-flight is global.
  return createTokenManager({ store, oauth, lock: null, onEvent });
}

/** Runs one RPC's work inside an object and turns what it throws into an outcome. */
async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (error) {
    if (error instanceof TokenStoreError) {
      const failed: Outcome<T> = { ok: false, code: error.code, message: error.message };
      if (error.retryAfterMs !== undefined) failed.retryAfterMs = error.retryAfterMs;
      return failed;
    }
    return { ok: false, code: 'STORAGE_FAILED', message: 'the token store object failed' };
  }
}

/** The value of an outcome, or its error (with its code and wait) thrown again on this side. */
export function unwrap<T>(result: Outcome<T>): T {
  if (!result.ok) throw new TokenStoreError(result.code, result.message, result.retryAfterMs === undefined ? undefined : { retryAfterMs: result.retryAfterMs });
  return result.value;
}

/**
 * What a subclass (the Worker's per-user object) builds on. Keyed by a symbol on purpose:
 * Workers RPC calls methods by name, so a symbol-keyed method is unreachable from outside.
 */
export const objectInternals = Symbol('edge-token-store/durable-object internals');
/** A subclass's hook for what happens to its tokens (audit logs); symbol-keyed for the same reason. */
export const objectEvents = Symbol('edge-token-store/durable-object events');

/** What the object's records are, without opening one: each id, its key id, and whether the cipher calls it current. */
export interface RecordState {
  id: string;
  keyId: string;
  /** Sealed in the current format under the current key; else the next `rotate()` re-seals it. */
  current: boolean;
}

export interface ObjectInternals {
  /** Built on first use (a misconfigured key ring is then an error of that call). */
  store(): SealedTokenStore;
  /** The records' state (none when the object never held one), asked of the cipher, never read from the sealed text. */
  records(): RecordState[];
  manager(): TokenManager;
  /** Answers one RPC: counted, and what it throws turned into an outcome. */
  answer<T>(work: () => Promise<T>): Promise<Outcome<T>>;
  /** RPC calls this instance has answered since it started. */
  calls(): number;
}

/**
 * The sealed store and its token manager inside an object, with no RPC method of its own: a
 * subclass decides what callers may ask (the Worker's user object exposes sessions, never raw
 * tokens). `TokenStoreObject` is this plus the store's methods.
 */
export class TokenStoreObjectBase<E extends TokenStoreObjectEnv = TokenStoreObjectEnv> extends DurableObject<E> {
  #tokens: SealedTokenStore | undefined;
  #cipher: Cipher | undefined;
  #refresher: TokenManager | undefined;
  #calls = 0;

  [objectInternals](): ObjectInternals {
    return {
      store: () => this.#store(),
      records: () => this.#records(),
      manager: () => this.#manager(),
      answer: (work) => this.#answer(work),
      calls: () => this.#calls,
    };
  }

  #answer<T>(work: () => Promise<T>): Promise<Outcome<T>> {
    this.#calls++;
    return outcome(work);
  }

  #keyRing(): Cipher {
    // Built on first use so that a misconfigured secret is reported per call, not as a crashed object.
    this.#cipher ??= cipherFromSettings(this.env.TOKEN_STORE_KEYS, this.env.TOKEN_STORE_CURRENT_KEY);
    return this.#cipher;
  }

  #store(): SealedTokenStore {
    this.#tokens ??= createRecordStore(sqlBackend(this.ctx.storage), cipherCodec(this.#keyRing(), `do:${this.ctx.id.toString()}`));
    return this.#tokens;
  }

  #records(): RecordState[] {
    const { sql } = this.ctx.storage;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tokens'").toArray().length === 0) return [];
    const cipher = this.#keyRing();
    return sql
      .exec<{ id: string; key_id: string; data: string }>('SELECT id, key_id, data FROM tokens ORDER BY id')
      .toArray()
      .map((row) => ({ id: row.id, keyId: row.key_id, current: cipher.isCurrent(row.data) }));
  }

  #manager(): TokenManager {
    this.#refresher ??= managerFromEnv(this.#store(), this.env, (event) => this[objectEvents](event));
    return this.#refresher;
  }

  /** Hears the token manager's events (refresh, back-off, revoke...); by default nothing is done. */
  [objectEvents](_event: TokenEvent): void {}
}

