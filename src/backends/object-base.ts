/**
 * What a Durable Object holding a sealed store is made of: its SQLite record backend (the SQL
 * store's, sql-backend.ts, over `ctx.storage.sql` in the table `ets_tokens`, with no lease table: a unique column per
 * blind index, one statement per read and per write), the key ring it reads from its
 * environment (ObjectTokens), and the RPC
 * outcome convention. The library's `TokenStoreObject` (durable-object.ts) and the Worker's
 * per-user object (worker/user-object.ts) each hold an ObjectTokens and expose what they mean
 * to. Within an object saves are serialized, so any number of Workers saving one user end with
 * one record.
 */
import type { DurableObject } from 'cloudflare:workers';
import { cipherFromSettings, type Cipher } from '../store/cipher.ts';
import { cipherCodec, type RecordCodec } from '../store/codec.ts';
import { TokenStoreError, type TokenStoreErrorCode } from '../store/errors.ts';
import { createRecordStore } from '../store/record-store.ts';
import type { OAuthToken, SealedTokenStore } from '../store/types.ts';
import { sqlBackend } from './sql-backend.ts';

/** An object's sealed records: the SQL store's table, under the prefix the library reserves in objects (`ets_`). */
export const TOKENS_TABLE = 'ets_tokens';

/** The key ring an object seals its records with, from its environment. */
export interface KeyRingEnv {
  /** A secret: JSON object of key id -> base64url 32-byte secret, e.g. {"k1":"..."}. */
  TOKEN_STORE_KEYS: string;
  /** The key id that seals (a plain variable). */
  TOKEN_STORE_CURRENT_KEY: string;
}

/** RPC results. Workers RPC does not carry an error's `code`, so outcomes carry it. */
export type Outcome<T> = { ok: true; value: T } | { ok: false; code: TokenStoreErrorCode; message: string; retryAfterMs?: number };

type Storage = DurableObject['ctx']['storage'];

/** Runs one RPC's work inside an object and turns what it throws into an outcome. */
export async function outcome<T>(work: () => Promise<T>): Promise<Outcome<T>> {
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
 * The sealed store inside one object, over its SQLite storage, and the state of its records,
 * built on first use (a misconfigured key ring is then an error of that call, not a crashed
 * object). An object holds one of these and decides what its callers may ask of it.
 */
export class ObjectTokens {
  readonly #storage: Storage;
  readonly #env: KeyRingEnv;
  readonly #name: string;
  #cipher: Cipher | undefined;
  #store: SealedTokenStore | undefined;

  /** `name`: the store's name in its sealed records' associated data, `do:<object id>`. */
  constructor(storage: Storage, env: KeyRingEnv, name: string) {
    this.#storage = storage;
    this.#env = env;
    this.#name = name;
  }

  #keyRing(): Cipher {
    this.#cipher ??= cipherFromSettings(this.#env.TOKEN_STORE_KEYS, this.#env.TOKEN_STORE_CURRENT_KEY);
    return this.#cipher;
  }

  /** The store (creating its table on first use). */
  store(): SealedTokenStore {
    // No lease table: an object serializes its own saves, so its store needs no lock.
    this.#store ??= createRecordStore(
      sqlBackend(this.#storage.sql, 'durable-object', TOKENS_TABLE, { leases: false }).backend,
      rememberingOpens(cipherCodec(this.#keyRing(), this.#name)),
    );
    return this.#store;
  }

  /** Seals a value the object keeps beside its records (such as an event naming the user), bound to this object and `what`. */
  seal(plaintext: string, what: string): Promise<string> {
    return this.#keyRing().seal(plaintext, [this.#name, what]);
  }

  open(sealed: string, what: string): Promise<string> {
    return this.#keyRing().open(sealed, [this.#name, what]);
  }

  /** Each record's id, key id and whether the cipher calls it current; none when the object never held one. */
  records(): RecordState[] {
    const { sql } = this.#storage;
    if (sql.exec("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", TOKENS_TABLE).toArray().length === 0) return [];
    const cipher = this.#keyRing();
    return sql
      .exec<{ id: string; key_id: string; data: string }>(`SELECT id, key_id, data FROM ${TOKENS_TABLE} ORDER BY id`)
      .toArray()
      .map((row) => ({ id: row.id, keyId: row.key_id, current: cipher.isCurrent(row.data) }));
  }
}

/** Opened records a RememberingOpens keeps; past it, it starts again (a shared store may hold many). */
const OPENED_KEPT = 1_000;

/**
 * A codec that opens a record's sealed bytes once: the object reads its record on every call,
 * and the bytes change only when the object itself saves it. Matched on the sealed bytes, so a
 * record saved since is opened again. The opened token stays in the object's memory only (as
 * it is during any call), never in storage.
 */
function rememberingOpens(codec: RecordCodec): RecordCodec {
  const opened = new Map<string, { data: string; token: OAuthToken }>();
  return {
    ...codec,
    async open(record) {
      const known = opened.get(record.id);
      if (known?.data === record.data) return { ...known.token };
      const token = await codec.open(record);
      if (opened.size >= OPENED_KEPT) opened.clear();
      opened.set(record.id, { data: record.data, token: { ...token } });
      return token;
    },
  };
}

/** What an object's records are, without opening one. */
export interface RecordState {
  id: string;
  keyId: string;
  /** Sealed in the current format under the current key; else the next `rotate()` re-seals it. */
  current: boolean;
}
