/**
 * The directory of user objects, for operators: which objects exist, and which key ids seal
 * their records, so an operator learns when no record under an old key is left. Sharded by
 * object id (shardOf). Written only from user objects' alarms and read only by the
 * admin routes: never on a request path. Holds object ids and counts; no name, no token.
 */
import type { ConnectionStatus } from './connection-events.ts';
import { HOUSEKEEPING, ZohoLibraryObject, type ObjectSchema } from './library-object.ts';

/** Directory shards: the directory is written by object alarms, never on a request path. */
export const DIRECTORY_SHARDS = 8;

export const shardName = (k: number) => `directory-${k}`;

/** The shard an object reports to: k from the SHA-256 of its id, so objects spread evenly. */
export async function shardOf(objectId: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(objectId)));
  return shardName(((digest[0]! << 8) | digest[1]!) % DIRECTORY_SHARDS);
}

/** A connection's status, since when, why (Zoho's error code for `needs_reauth`), and its data center (none after an erase). */
export interface Connection {
  status: ConnectionStatus;
  since: number;
  reason: string | null;
  dataCenter: string | null;
}

/** Transient trouble the connection last met (Zoho busy or down, its rate limit): no change of status. */
export interface LastError {
  /** The library's error code, such as `ZOHO_RATE_LIMITED` or `ZOHO_UNAVAILABLE`. */
  code: string;
  at: number;
}

/** What the operators' chart counts per hour: refreshes Zoho granted, refusals (a connection needing its user), re-authorizations (a dead connection's user back). */
export type ActivityKind = 'refreshes' | 'refusals' | 'reauths';
/** Counts per hour (its start, ms since the epoch, as a string key) and kind. */
export type Activity = Record<string, Partial<Record<ActivityKind, number>>>;
/** How long the directory keeps activity: the page charts the last day. */
const ACTIVITY_KEPT_MS = 48 * 3_600_000;

export interface DirectoryEntry {
  /** The user object's id (hex), as `idFromString` takes it. */
  id: string;
  keyIds: string[];
  tokens: number;
  sessions: number;
  /** The user's connection (null before any login through the Worker). */
  connection: Connection | null;
  lastError: LastError | null;
}

const SCHEMA: ObjectSchema = {
  part: 'directory',
  migrations: [
    [`CREATE TABLE ets_objects (id TEXT PRIMARY KEY, key_ids TEXT NOT NULL, tokens INTEGER NOT NULL, sessions INTEGER NOT NULL, updated_at INTEGER NOT NULL)`],
    // Version 2: each connection's status, kept after its tokens are gone (a tombstone: no name, no token).
    [
      `ALTER TABLE ets_objects ADD COLUMN status TEXT`,
      `ALTER TABLE ets_objects ADD COLUMN status_since INTEGER`,
      `ALTER TABLE ets_objects ADD COLUMN reason TEXT`,
      `ALTER TABLE ets_objects ADD COLUMN data_center TEXT`,
      `CREATE INDEX ets_objects_status ON ets_objects (status, id)`,
    ],
    // Version 3: the last transient error (its code and time), and activity per hour (refreshes, refusals, re-authorizations).
    [
      `ALTER TABLE ets_objects ADD COLUMN last_error TEXT`,
      `ALTER TABLE ets_objects ADD COLUMN last_error_at INTEGER`,
      `CREATE TABLE ets_activity (hour INTEGER NOT NULL, kind TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (hour, kind))`,
    ],
  ],
};

type Row = {
  id: string;
  key_ids: string;
  tokens: number;
  sessions: number;
  status: ConnectionStatus | null;
  status_since: number | null;
  reason: string | null;
  data_center: string | null;
  last_error: string | null;
  last_error_at: number | null;
};
const COLUMNS = 'id, key_ids, tokens, sessions, status, status_since, reason, data_center, last_error, last_error_at';
const toEntry = (row: Row): DirectoryEntry => ({
  id: row.id,
  keyIds: row.key_ids ? row.key_ids.split(',') : [],
  tokens: row.tokens,
  sessions: row.sessions,
  connection: row.status === null ? null : { status: row.status, since: row.status_since!, reason: row.reason, dataCenter: row.data_center },
  lastError: row.last_error === null ? null : { code: row.last_error, at: row.last_error_at! },
});

/**
 * The operators' directory of user objects, in shards (bind as `ZOHO_DIRECTORY`): which objects
 * hold tokens and under which key ids. Written by user objects' alarms, read by `/admin/*`.
 *
 * ```ts
 * export { ZohoDirectory, ZohoLoginStates, ZohoUserObject } from 'edge-token-store/worker';
 * ```
 */
export class ZohoDirectory extends ZohoLibraryObject<Cloudflare.Env> {
  constructor(ctx: DurableObjectState, env: Cloudflare.Env) {
    super(ctx, env, [SCHEMA]);
  }

  /** The directory keeps nothing that expires: its housekeeping is nothing (its alarm runs only `onAlarm()`). */
  protected async [HOUSEKEEPING](): Promise<void> {}

  /**
   * An object reports what it holds and its connection's status. One that holds nothing and
   * never had a connection leaves the directory; a dead connection stays, as its tombstone.
   */
  report(entry: DirectoryEntry): void {
    const { connection, lastError } = entry;
    if (entry.tokens === 0 && entry.sessions === 0 && connection === null) {
      this.sql().exec('DELETE FROM ets_objects WHERE id = ?', entry.id);
      return;
    }
    this.sql().exec(
      `INSERT OR REPLACE INTO ets_objects (${COLUMNS}, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      entry.id,
      entry.keyIds.join(','),
      entry.tokens,
      entry.sessions,
      connection?.status ?? null,
      connection?.since ?? null,
      connection?.reason ?? null,
      connection?.dataCenter ?? null,
      lastError?.code ?? null,
      lastError?.at ?? null,
      Date.now(),
    );
  }

  /** Adds an object's counts since its last report, and forgets hours older than two days. */
  addActivity(activity: Activity): void {
    const sql = this.sql();
    for (const [hour, counts] of Object.entries(activity)) {
      for (const [kind, n] of Object.entries(counts)) {
        sql.exec('INSERT INTO ets_activity (hour, kind, n) VALUES (?, ?, ?) ON CONFLICT (hour, kind) DO UPDATE SET n = n + excluded.n', Number(hour), kind, n);
      }
    }
    sql.exec('DELETE FROM ets_activity WHERE hour < ?', Date.now() - ACTIVITY_KEPT_MS);
  }

  /** Counts per hour since `since`. */
  activity(since: number): Activity {
    const activity: Activity = {};
    for (const { hour, kind, n } of this.sql().exec<{ hour: number; kind: ActivityKind; n: number }>(
      'SELECT hour, kind, n FROM ets_activity WHERE hour >= ?',
      since,
    )) {
      (activity[hour] ??= {})[kind] = n;
    }
    return activity;
  }

  /** Entries after `after` (by id), at most `limit`; only those with `status` when given. */
  list(after: string, limit: number, status: ConnectionStatus | null = null): DirectoryEntry[] {
    const rows =
      status === null
        ? this.sql().exec<Row>(`SELECT ${COLUMNS} FROM ets_objects WHERE id > ? ORDER BY id LIMIT ?`, after, limit)
        : this.sql().exec<Row>(`SELECT ${COLUMNS} FROM ets_objects WHERE status = ? AND id > ? ORDER BY id LIMIT ?`, status, after, limit);
    return rows.toArray().map(toEntry);
  }

  /** One entry by object id, or null. */
  entry(id: string): DirectoryEntry | null {
    const row = this.sql().exec<Row>(`SELECT ${COLUMNS} FROM ets_objects WHERE id = ?`, id).toArray()[0];
    return row ? toEntry(row) : null;
  }

  /** How many connections have each status (objects without one are not counted). */
  statusCounts(): Partial<Record<ConnectionStatus, number>> {
    const counts: Partial<Record<ConnectionStatus, number>> = {};
    const rows = this.sql().exec<{ status: ConnectionStatus; n: number }>(
      'SELECT status, count(*) AS n FROM ets_objects WHERE status IS NOT NULL GROUP BY status',
    );
    for (const { status, n } of rows) counts[status] = n;
    return counts;
  }

  /** How many objects hold records under each key id. */
  keyCounts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const { key_ids } of this.sql().exec<{ key_ids: string }>('SELECT key_ids FROM ets_objects').toArray()) {
      for (const keyId of key_ids.split(',').filter(Boolean)) counts[keyId] = (counts[keyId] ?? 0) + 1;
    }
    return counts;
  }

  /** Objects that hold a record under any key but `current`. */
  sealedUnderOldKeys(current: string, limit: number): string[] {
    return this.sql()
      .exec<{ id: string }>("SELECT id FROM ets_objects WHERE key_ids != ? AND key_ids != '' LIMIT ?", current, limit)
      .toArray()
      .map((row) => row.id);
  }
}
