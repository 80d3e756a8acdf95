/**
 * The SQL record backend shared by the SQL store (sql.ts) and the Durable Object backend
 * (object-base.ts, over ctx.storage.sql, table `tokens`): the schema and its migrations, one
 * statement per read and per write (a compare-and-swap), the driver's faults as the store's,
 * and a lease table for `lock`. docs/storage-schema.md has the layout.
 */
import type { StoredRecord } from '../store/codec.ts';
import { TokenStoreError } from '../store/errors.ts';
import { INDEX_FIELDS, type IndexField } from '../store/matching.ts';
import { WriteConflict, type RecordBackend } from '../store/record-store.ts';
import type { Lock } from '../store/types.ts';
import { driverFor, type SqlDriver, type SqlDriverName } from './sql-drivers.ts';

/** The schema version this code writes; a database marked newer is refused rather than misread. */
const SQL_SCHEMA_VERSION = 1;
const PAGE = 500;
/** How long a lease lasts when its holder never releases it (a crashed process). */
const LEASE_MS = 30_000;
const LEASE_POLL_MS = 50;

type Row = { id: string; key_id: string; data: string } & Record<`ix_${IndexField}`, string | null>;
const COLUMNS = ['id', 'key_id', 'data', ...INDEX_FIELDS.map((f) => `ix_${f}`)];

/** The statements that make version 1, each safe to run again (the lease table only where `lock` is offered). */
const schemaV1 = (t: string, leases: boolean) => [
  `CREATE TABLE IF NOT EXISTS ${t} (id TEXT PRIMARY KEY NOT NULL, key_id TEXT NOT NULL, data TEXT NOT NULL, ${INDEX_FIELDS.map((f) => `ix_${f} TEXT UNIQUE`).join(', ')})`,
  `CREATE INDEX IF NOT EXISTS ${t}_key_id ON ${t} (key_id)`,
  ...(leases ? [`CREATE TABLE IF NOT EXISTS ${t}_leases (name TEXT PRIMARY KEY NOT NULL, holder TEXT NOT NULL, expires_at INTEGER NOT NULL)`] : []),
];

function toRecord(row: Record<string, unknown> | undefined): StoredRecord | null {
  if (!row) return null;
  const r = row as Row;
  const index: StoredRecord['index'] = {};
  for (const field of INDEX_FIELDS) {
    const digest = r[`ix_${field}`];
    if (digest !== null && digest !== undefined) index[field] = digest;
  }
  return { id: r.id, keyId: r.key_id, data: r.data, index };
}

/** Errors D1 documents as transient (safe to retry: every statement here is a read or a compare-and-swap). */
const TRANSIENT = /Network connection lost|storage caused object to be reset|reset because its code was updated|transient issue|Internal error in D1/i;

/** A driver error as the store's own: UNIQUE is a write conflict (re-planned); a locked, read-only or full database says so. */
function classify(error: unknown, doing: string): Error {
  const text = String((error as { message?: unknown })?.message ?? error);
  if (/UNIQUE constraint|PRIMARY KEY/i.test(text)) return new WriteConflict('another record holds one of these values');
  if (/SQLITE_BUSY|database is locked|SQLITE_LOCKED/i.test(text))
    return new TokenStoreError('STORAGE_FAILED', `the database is locked by another writer while ${doing}`, { cause: error, retryAfterMs: 100 });
  if (/readonly|read-only/i.test(text)) return new TokenStoreError('STORAGE_FAILED', `the database is read-only while ${doing}`, { cause: error });
  if (/SQLITE_FULL|database or disk is full/i.test(text)) return new TokenStoreError('STORAGE_FAILED', `the disk is full while ${doing}`, { cause: error });
  if (TRANSIENT.test(text))
    return new TokenStoreError('STORAGE_FAILED', `the database failed for a moment while ${doing}`, { cause: error, retryAfterMs: 100 });
  return new TokenStoreError('STORAGE_FAILED', `the database failed while ${doing}`, { cause: error });
}

/** Runs one statement, retrying D1's transient errors twice (with a short wait). */
async function statement(driver: SqlDriver, sql: string, params: unknown[], doing: string) {
  for (let attempt = 0; ; attempt++) {
    try {
      return await driver.run(sql, params);
    } catch (error) {
      const failure = classify(error, doing);
      const transient = TRANSIENT.test(String((error as Error)?.message ?? error));
      if (!transient || attempt >= 2) throw failure;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

/** Creates the tables on first use, and refuses a database a newer version wrote. */
async function migrate(driver: SqlDriver, t: string, leases: boolean): Promise<void> {
  // A file shared by processes: wait up to 5 s for another writer's lock rather than fail at once.
  if (driver.name === 'node-sqlite' || driver.name === 'bun-sqlite' || driver.name === 'better-sqlite3')
    await statement(driver, 'PRAGMA busy_timeout = 5000', [], 'setting the busy timeout');
  await statement(driver, `CREATE TABLE IF NOT EXISTS ${t}_meta (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)`, [], 'creating the schema');
  const { rows } = await statement(driver, `SELECT value FROM ${t}_meta WHERE key = 'schema_version'`, [], 'reading the schema version');
  const version = rows[0] ? Number(rows[0].value) : 0;
  if (version > SQL_SCHEMA_VERSION)
    throw new TokenStoreError(
      'STORAGE_FAILED',
      `the table ${t} has schema version ${version}, newer than this code's ${SQL_SCHEMA_VERSION}: upgrade edge-token-store`,
    );
  if (version === SQL_SCHEMA_VERSION) return;
  for (const sql of schemaV1(t, leases)) await statement(driver, sql, [], 'creating the schema');
  await statement(
    driver,
    `INSERT INTO ${t}_meta (key, value) VALUES ('schema_version', ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value`,
    [String(SQL_SCHEMA_VERSION)],
    'recording the schema version',
  );
}

function recordBackend(driver: SqlDriver, t: string, ready: () => Promise<void>): RecordBackend {
  const select = `SELECT ${COLUMNS.join(', ')} FROM ${t}`;
  const run = async (sql: string, params: unknown[], doing: string) => (await ready(), statement(driver, sql, params, doing));
  const digests = (record: StoredRecord) => INDEX_FIELDS.map((f) => record.index[f] ?? null);
  return {
    async get(id) {
      return toRecord((await run(`${select} WHERE id = ?`, [id], 'reading a record')).rows[0]);
    },
    async findByIndex(field, digest) {
      // `field` is one of INDEX_FIELDS, never caller text.
      return toRecord((await run(`${select} WHERE ix_${field} = ?`, [digest], 'reading through an index')).rows[0]);
    },
    async write(next, previous) {
      if (!previous) {
        await run(
          `INSERT INTO ${t} (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`,
          [next.id, next.keyId, next.data, ...digests(next)],
          'writing a record',
        );
        return;
      }
      // Compare-and-swap: only the record this save read is replaced; anything else is a conflict, re-planned.
      const { changes } = await run(
        `UPDATE ${t} SET key_id = ?, data = ?, ${INDEX_FIELDS.map((f) => `ix_${f} = ?`).join(', ')} WHERE id = ? AND data = ?`,
        [next.keyId, next.data, ...digests(next), next.id, previous.data],
        'writing a record',
      );
      if (changes === 0) throw new WriteConflict('record changed since it was read');
    },
    async remove(record) {
      await run(`DELETE FROM ${t} WHERE id = ?`, [record.id], 'deleting a record');
    },
    async *list() {
      let after = '';
      for (;;) {
        const { rows } = await run(`${select} WHERE id > ? ORDER BY id LIMIT ${PAGE}`, [after], 'listing records');
        for (const row of rows) yield toRecord(row)!;
        if (rows.length < PAGE) return;
        after = String(rows.at(-1)!.id);
      }
    },
    async clear() {
      await run(`DELETE FROM ${t}`, [], 'deleting all records');
    },
  };
}

/**
 * A lease row per lock name: taken when absent or run out, by one statement whose outcome
 * tells who won. A holder that never releases (a crashed process) loses it after LEASE_MS.
 */
function leaseLock(driver: SqlDriver, t: string, ready: () => Promise<void>): Lock {
  return async function lock<T>(name: string, task: () => Promise<T>): Promise<T> {
    await ready();
    const holder = crypto.randomUUID();
    for (let waited = 0; ; waited += LEASE_POLL_MS) {
      const now = Date.now();
      const { changes } = await statement(
        driver,
        `INSERT INTO ${t}_leases (name, holder, expires_at) VALUES (?, ?, ?) ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at WHERE ${t}_leases.expires_at < ?`,
        [name, holder, now + LEASE_MS, now],
        'taking a lease',
      );
      if (changes > 0) break;
      if (waited > LEASE_MS * 2) throw new TokenStoreError('STORAGE_FAILED', 'a lease stayed taken past its expiry', { retryAfterMs: 1_000 });
      await new Promise((resolve) => setTimeout(resolve, LEASE_POLL_MS));
    }
    try {
      return await task();
    } finally {
      await statement(driver, `DELETE FROM ${t}_leases WHERE name = ? AND holder = ?`, [name, holder], 'releasing a lease').catch(() => undefined);
    }
  };
}

/**
 * The backend and the lease lock over `db` and `table`, migrated on first use (a failed
 * migration is tried again by the next call). `leases: false` (a Durable Object, which
 * serializes its own saves) makes no lease table; its lock is then never to be used.
 */
export function sqlBackend(
  db: unknown,
  driverName: SqlDriverName,
  table: string,
  { leases = true }: { leases?: boolean } = {},
): { backend: RecordBackend; lock: Lock } {
  const driver = driverFor(db, driverName);
  let migrated: Promise<void> | null = null;
  const ready = () => (migrated ??= migrate(driver, table, leases).catch((error) => ((migrated = null), Promise.reject(error))));
  return { backend: recordBackend(driver, table, ready), lock: leaseLock(driver, table, ready) };
}
