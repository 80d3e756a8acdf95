/**
 * Users' connections as the directory knows them (reported by each user's object from its
 * alarm): for operators (`GET /admin/connections`) and for an app's own code (a handler's
 * `connections()` and `connection()`), e.g. to list who must reconnect. Reads shards only; no
 * user's object is woken, and no name or token is in any answer.
 */
import { callObject } from '../backends/object-call.ts';
import { TokenStoreError } from '../store/errors.ts';
import { isDataCenter, type DataCenter } from '../zoho/data-centers.ts';
import type { Config } from './config.ts';
import { DIRECTORY_SHARDS, shardOf, type Connection, type ConnectionStatus, type DirectoryEntry } from './directory.ts';
import type { Env } from './env.ts';
import { directoryShard, userObjectId, userObjectName } from './objects.ts';

/** Every status a connection can have, in the order of its life. */
const CONNECTION_STATUSES: readonly ConnectionStatus[] = ['active', 'needs_reauth', 'revoked', 'erased', 'purged'];

/** One user's connection, by their object's id (hex), with their object's token and session counts. */
export interface ConnectionView extends Connection {
  id: string;
  tokens: number;
  sessions: number;
}

/** Which connections to list: one status, from after an id, at most `limit` (1 to 500, default 100). */
export interface ConnectionQuery {
  status?: ConnectionStatus;
  after?: string;
  limit?: number;
}

/** A page of connections, how many have each status, and the `after` of the next page (null: none). */
export interface ConnectionPage {
  connections: ConnectionView[];
  counts: Partial<Record<ConnectionStatus, number>>;
  next: string | null;
}

const shards = (env: Env) => Array.from({ length: DIRECTORY_SHARDS }, (_, k) => directoryShard(env, k));

/** A page of the directory, in id order after `after` (at most `limit`), only `status`'s when given. */
export async function directoryPage(env: Env, after: string, limit: number, status: ConnectionStatus | null = null) {
  const entries = (await Promise.all(shards(env).map((shard) => callObject(shard, (s) => s.list(after, limit, status)))))
    .flat()
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .slice(0, limit);
  return { entries, next: entries.length === limit ? entries.at(-1)!.id : null };
}

const viewOf = (entry: DirectoryEntry & { connection: Connection }): ConnectionView => ({
  id: entry.id,
  ...entry.connection,
  tokens: entry.tokens,
  sessions: entry.sessions,
});

/** Connections page by page (objects with no login through the Worker are left out), and the counts per status. */
export async function listConnections(env: Env, query: ConnectionQuery = {}): Promise<ConnectionPage> {
  const { status, after = '', limit = 100 } = query;
  if (status !== undefined && !CONNECTION_STATUSES.includes(status)) {
    throw new TokenStoreError('INVALID_INPUT', `connections: status must be one of ${CONNECTION_STATUSES.join(', ')}`);
  }
  if (typeof after !== 'string') throw new TokenStoreError('INVALID_INPUT', 'connections: after must be an object id (a string)');
  if (!Number.isInteger(limit) || limit < 1 || limit > 500)
    throw new TokenStoreError('INVALID_INPUT', 'connections: limit must be a whole number from 1 to 500');
  const { entries, next } = await directoryPage(env, after, limit, status ?? null);
  const counts: Partial<Record<ConnectionStatus, number>> = {};
  for (const shard of await Promise.all(shards(env).map((s) => callObject(s, (d) => d.statusCounts())))) {
    for (const [key, n] of Object.entries(shard) as [ConnectionStatus, number][]) counts[key] = (counts[key] ?? 0) + n;
  }
  const connections = entries.filter((e): e is DirectoryEntry & { connection: Connection } => e.connection !== null).map(viewOf);
  return { connections, counts, next };
}

/**
 * One user's connection (`userName` as Zoho names them, `<email>:<zgid>`), looked up in
 * `dataCenter`'s place, or in every served data center's; null when none is known.
 */
export async function connectionOfUser(env: Env, config: Config, userName: string, dataCenter?: DataCenter): Promise<ConnectionView | null> {
  if (typeof userName !== 'string' || userName === '' || userName.length > 320) {
    throw new TokenStoreError('INVALID_INPUT', 'connection: userName must be the user name Zoho gives, <email>:<zgid>');
  }
  if (dataCenter !== undefined && !(isDataCenter(dataCenter) && config.zoho.served.includes(dataCenter))) {
    throw new TokenStoreError('INVALID_INPUT', `connection: dataCenter must be one of ${config.zoho.served.join(', ')}`);
  }
  const name = await userObjectName(config.userObjectSecret, userName);
  for (const placed of dataCenter ? [dataCenter] : config.zoho.served) {
    const id = userObjectId(env, { dataCenter: placed, name });
    const shard = env.ZOHO_DIRECTORY.idFromName(await shardOf(id));
    const entry = await callObject(
      () => env.ZOHO_DIRECTORY.get(shard),
      (d) => d.entry(id),
    );
    if (entry?.connection) return viewOf({ ...entry, connection: entry.connection });
  }
  return null;
}
