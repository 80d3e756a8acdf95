/**
 * `edge-token-store/sql`: sealed tokens in SQLite, on D1, a Durable Object's SQLite,
 * node:sqlite, bun:sqlite or better-sqlite3 (sql-drivers.ts; none is a dependency). One table
 * with a UNIQUE column per blind index (docs/storage-schema.md): the database itself refuses a
 * second record for one user or token, across processes and isolates. `findToken` is one
 * statement, a save's write is one statement, and `lock` (a lease row) gives token managers
 * one refresh per storm across every process on the database.
 */
import type { Cipher } from '../store/cipher.ts';
import { cipherCodec } from '../store/codec.ts';
import { TokenStoreError } from '../store/errors.ts';
import { createRecordStore } from '../store/record-store.ts';
import type { LockingTokenStore, SealedTokenStore } from '../store/types.ts';
import { sqlBackend } from './sql-backend.ts';
import { detectDriver, type SqlDriverName } from './sql-drivers.ts';

export type { LockingTokenStore } from '../store/types.ts';
export type { SqlDriverName } from './sql-drivers.ts';

export interface SqlStoreOptions {
  /** A D1 binding, `ctx.storage.sql`, a node:sqlite `DatabaseSync`, a bun:sqlite `Database` or a better-sqlite3 database. */
  db: unknown;
  cipher: Cipher;
  /** The table (default `ets_tokens`); `<table>_meta` and `<table>_leases` sit beside it. Part of every record's associated data. */
  table?: string;
  /** The driver, when telling it by shape is not wanted. */
  driver?: SqlDriverName;
}

/**
 * A sealed token store in any SQLite: a D1 binding, a Durable Object's `ctx.storage.sql`,
 * `node:sqlite`, `bun:sqlite` or better-sqlite3; its table migrated on first use, with a lease
 * table for `lock`.
 *
 * ```ts
 * const store = createSqlStore({ db: env.TOKENS_D1, cipher, table: 'zoho_tokens' });
 * ```
 */
export function createSqlStore(options: SqlStoreOptions): SealedTokenStore & LockingTokenStore {
  const { db, cipher, table = 'ets_tokens' } = options ?? ({} as SqlStoreOptions);
  if (!cipher || typeof cipher.seal !== 'function') throw new TokenStoreError('INVALID_INPUT', 'createSqlStore: cipher is required (createCipher)');
  if (typeof table !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,47}$/.test(table))
    throw new TokenStoreError('INVALID_INPUT', 'createSqlStore: table must be a plain SQL name (letters, digits, _)');
  const name = options.driver ?? detectDriver(db);
  if (!name)
    throw new TokenStoreError(
      'INVALID_INPUT',
      'createSqlStore: db must be a D1 binding, ctx.storage.sql, or a node:sqlite, bun:sqlite or better-sqlite3 database',
    );
  const { backend, lock } = sqlBackend(db, name, table);
  return Object.assign(createRecordStore(backend, cipherCodec(cipher, `sql:${table}`)), { lock });
}
