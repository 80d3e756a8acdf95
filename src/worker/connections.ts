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
import type { ConnectionStatus } from './connection-events.ts';
import { DIRECTORY_SHARDS, shardOf, type Connection, type DirectoryEntry, type LastError } from './directory.ts';
import type { Env } from './env.ts';
import { directoryShard, userObjectId, userObjectName } from './objects.ts';

/** Every status a connection can have, in the order of its life. */
const CONNECTION_STATUSES: readonly ConnectionStatus[] = ['active', 'needs_reauth', 'revoked', 'erased', 'purged'];

/** One user's connection, by their object's id (hex), with their object's token and session counts. */
export interface ConnectionView extends Connection {
  id: string;
  tokens: number;
  sessions: number;
  /** Transient trouble last met (no change of status), or null. */
  lastError: LastError | null;
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

/** Every directory shard, to ask each. */
export const directoryShards = (env: Env) => Array.from({ length: DIRECTORY_SHARDS }, (_, k) => directoryShard(env, k));

/** Counts that each directory shard keeps (per key id, per status), summed over the shards. */
export async function countsOverShards<K extends string>(
  env: Env,
  count: (shard: ReturnType<ReturnType<typeof directoryShard>>) => Promise<Partial<Record<K, number>>>,
): Promise<Partial<Record<K, number>>> {
  const counts: Partial<Record<K, number>> = {};
  for (const shard of await Promise.all(directoryShards(env).map((s) => callObject(s, count)))) {
    for (const [key, n] of Object.entries(shard) as [K, number][]) counts[key] = (counts[key] ?? 0) + n;
  }
  return counts;
}

/** A page of the directory, in id order after `after` (at most `limit`), only `status`'s when given. */
export async function directoryPage(env: Env, after: string, limit: number, status: ConnectionStatus | null = null) {
  const entries = (await Promise.all(directoryShards(env).map((shard) => callObject(shard, (s) => s.list(after, limit, status)))))
    .flat()
    .sort((a, b) => (a.id < b.id ? -1 : 1))
    .slice(0, limit);
  return { entries, next: entries.length === limit ? entries.at(-1)!.id : null };
}

const hasConnection = (entry: DirectoryEntry | null): entry is DirectoryEntry & { connection: Connection } => entry?.connection != null;
const viewOf = (entry: DirectoryEntry & { connection: Connection }): ConnectionView => ({
  id: entry.id,
  ...entry.connection,
  tokens: entry.tokens,
  sessions: entry.sessions,
  lastError: entry.lastError,
});

/**
 * Where a user's object may be, for the routes that take a user by name: their object's name
 * and `dataCenter` (when given, one this Worker serves) or every served data center. Null when
 * the name or the data center is not acceptable; neither is echoed anywhere.
 */
export async function placesOfUser(config: Config, userName: unknown, dataCenter: unknown): Promise<{ name: string; dataCenters: DataCenter[] } | null> {
  if (typeof userName !== 'string' || userName === '' || userName.length > 320) return null;
  if (dataCenter !== undefined && !(isDataCenter(dataCenter) && config.zoho.served.includes(dataCenter))) return null;
  return { name: await userObjectName(config.userObjectSecret, userName), dataCenters: dataCenter === undefined ? config.zoho.served : [dataCenter] };
}

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
  const counts = await countsOverShards<ConnectionStatus>(env, (d) => d.statusCounts());
  const connections = entries.filter(hasConnection).map(viewOf);
  return { connections, counts, next };
}

/**
 * One user's connection (`userName` as Zoho names them, `<email>:<zgid>`), looked up in
 * `dataCenter`'s place, or in every served data center's; null when none is known.
 */
export async function connectionOfUser(env: Env, config: Config, userName: string, dataCenter?: DataCenter): Promise<ConnectionView | null> {
  const places = await placesOfUser(config, userName, dataCenter);
  if (places === null) {
    throw new TokenStoreError(
      'INVALID_INPUT',
      `connection: give the user name Zoho gives (<email>:<zgid>) and optionally one of ${config.zoho.served.join(', ')}`,
    );
  }
  for (const placed of places.dataCenters) {
    const id = userObjectId(env, { dataCenter: placed, name: places.name });
    const shard = env.ZOHO_DIRECTORY.idFromName(await shardOf(id));
    const entry = await callObject(
      () => env.ZOHO_DIRECTORY.get(shard),
      (d) => d.entry(id),
    );
    if (hasConnection(entry)) return viewOf(entry);
  }
  return null;
}
