/**
 * The SQLite databases the SQL store runs on, behind one small async interface: a D1 binding,
 * a Durable Object's `ctx.storage.sql`, Node's `node:sqlite` `DatabaseSync`, Bun's
 * `bun:sqlite` `Database`, and `better-sqlite3`. Chosen by what `db` is (or named). None is a
 * dependency: each is used through the methods it has.
 */

/** What one statement gave back: its rows, and how many rows it changed. */
export interface SqlResult {
  rows: Record<string, unknown>[];
  changes: number;
}

export interface SqlDriver {
  readonly name: SqlDriverName;
  run(sql: string, params: unknown[]): Promise<SqlResult>;
}

export type SqlDriverName = 'd1' | 'durable-object' | 'node-sqlite' | 'bun-sqlite' | 'better-sqlite3';

interface D1Like {
  prepare(sql: string): { bind(...values: unknown[]): { all(): Promise<{ results: Record<string, unknown>[]; meta: { changes?: number } }> } };
  batch: unknown;
}
interface DurableSqlLike {
  exec(sql: string, ...params: unknown[]): { toArray(): Record<string, unknown>[]; rowsWritten: number };
  databaseSize: number;
}
/** node:sqlite, bun:sqlite and better-sqlite3 statements: `all` reads, `run` writes and counts. */
interface SyncStatement {
  all(...params: unknown[]): Record<string, unknown>[];
  run(...params: unknown[]): { changes: number | bigint };
}
interface SyncDatabaseLike {
  prepare(sql: string): SyncStatement;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** Which driver `db` is, by its shape; null when it is none of them. */
export function detectDriver(db: unknown): SqlDriverName | null {
  if (!isObject(db)) return null;
  if (typeof db.exec === 'function' && 'databaseSize' in db) return 'durable-object';
  if (typeof db.prepare === 'function' && typeof db.batch === 'function') return 'd1';
  if (typeof db.prepare === 'function' && typeof db.pragma === 'function' && typeof db.transaction === 'function') return 'better-sqlite3';
  // bun:sqlite's Database has `query` (a cached prepare); node:sqlite's DatabaseSync does not.
  if (typeof db.prepare === 'function' && typeof db.query === 'function') return 'bun-sqlite';
  if (typeof db.prepare === 'function' && typeof db.exec === 'function') return 'node-sqlite';
  return null;
}

/** A statement's params as SQLite drivers take them: strings, numbers and null (undefined is bound as null). */
const bindable = (params: unknown[]) => params.map((p) => (p === undefined ? null : p));

export function driverFor(db: unknown, name: SqlDriverName): SqlDriver {
  switch (name) {
    case 'd1': {
      const d1 = db as D1Like;
      return {
        name,
        async run(sql, params) {
          const { results, meta } = await d1
            .prepare(sql)
            .bind(...bindable(params))
            .all();
          return { rows: results ?? [], changes: meta?.changes ?? 0 };
        },
      };
    }
    case 'durable-object': {
      const sql = db as DurableSqlLike;
      return {
        name,
        async run(statement, params) {
          const cursor = sql.exec(statement, ...bindable(params));
          const rows = cursor.toArray();
          return { rows, changes: cursor.rowsWritten };
        },
      };
    }
    default: {
      const sync = db as SyncDatabaseLike;
      // Prepared once per statement text, with whether it reads rows (decided then, not per call).
      const statements = new Map<string, { statement: SyncStatement; reads: boolean }>();
      return {
        name,
        async run(sql, params) {
          let prepared = statements.get(sql);
          if (!prepared)
            statements.set(sql, (prepared = { statement: sync.prepare(sql), reads: /^\s*(SELECT|PRAGMA)\b/i.test(sql) || /\bRETURNING\b/i.test(sql) }));
          const values = bindable(params);
          if (prepared.reads) return { rows: prepared.statement.all(...values), changes: 0 };
          return { rows: [], changes: Number(prepared.statement.run(...values).changes) };
        },
      };
    }
  }
}
