/**
 * Operators' routes, behind `Authorization: Bearer <admin key>` (only its SHA-256 is
 * configured, ADMIN_KEY_SHA256; without it these routes do not exist). None of them is on a
 * user's request path; they may fan out over many objects.
 *   GET  /admin/objects   the user objects, with live counts (?after=<id>&limit=<n>)
 *   GET  /admin/connections each user's connection status, counts per status (?status=&after=&limit=, or ?userName=&dataCenter=)
 *   GET  /admin/keys      how many objects hold records under each key id; done when only the current one is left
 *   POST /admin/reseal    wakes objects still holding records under an old key, so they re-seal them
 *   POST /admin/erase     erases one user on request: {"userName": "email:zgid", "dataCenter"?: "eu"}
 *   POST /admin/purge-idle wakes listed objects so each plans its idle purge (IDLE_PURGE_DAYS) (?after=<id>&limit=<n>)
 *   GET  /admin/activity  refreshes, refusals and re-authorizations per hour over the last 24 hours
 *   POST /admin/connections/act  one connection, by object id: {"id", "action": "refresh" | "revoke" | "erase"}
 * and the operators' page, GET /admin (admin-page.ts), whose sign-in cookie opens the same
 * routes to requests from its own origin.
 */
import { callObject } from '../backends/object-call.ts';
import type { AuthContext } from './auth.ts';
import type { Env } from './env.ts';
import { refusal, type RouteAnswer } from './http.ts';
import { isTokenStoreError } from '../store/errors.ts';
import type { DataCenter } from '../zoho/data-centers.ts';
import { connectionOfUser, countsOverShards, directoryPage, directoryShards, listConnections, placesOfUser } from './connections.ts';
import type { ConnectionStatus } from './connection-events.ts';
import type { ActivityKind, DirectoryEntry } from './directory.ts';
import { adminPage, fromThisOrigin, signedIn } from './admin-page.ts';
import { ask, userObject } from './objects.ts';
import { constantTimeEqual, sha256 } from './signing.ts';
import type { ErasedUser, ObjectStats } from './user-object.ts';

type Answer = RouteAnswer & { event?: string };

const objectById = (env: Env, id: string) => () => env.ZOHO_USERS.get(env.ZOHO_USERS.idFromString(id));

/** The admin key as a Bearer token, or the page's sign-in cookie on a request from the page's own origin; `cross_site` for that cookie from anywhere else. */
async function authorized(request: Request, sessionSecret: string, keyHash: string): Promise<boolean | 'cross_site'> {
  const authorization = request.headers.get('authorization') ?? '';
  if (authorization.startsWith('Bearer ')) return constantTimeEqual(await sha256(authorization.slice('Bearer '.length)), keyHash);
  if (!(await signedIn(request, sessionSecret, keyHash))) return false;
  return fromThisOrigin(request) || 'cross_site';
}

/** The `?after=` and `?limit=` (1 to 500, default 100) of a paged admin route. */
function pageOf(url: URL): { after: string; limit: number } {
  return { after: url.searchParams.get('after') ?? '', limit: Math.min(Math.max(Number(url.searchParams.get('limit') ?? 100) || 100, 1), 500) };
}

async function objects({ env, url }: AuthContext): Promise<Answer> {
  const { after, limit } = pageOf(url);
  const { entries, next } = await directoryPage(env, after, limit);
  const live = await Promise.all(
    entries.map(async (entry: DirectoryEntry) => ({ ...entry, ...((await callObject(objectById(env, entry.id), (s) => s.stats())) satisfies ObjectStats) })),
  );
  return { response: Response.json({ objects: live, next }) };
}

/**
 * Each user's connection: a page of them (`?status=` filters), with how many have each status;
 * or one user's (`?userName=`, and `?dataCenter=` when it is known), found by their object's id.
 */
async function connections({ env, config, url }: AuthContext): Promise<Answer> {
  const userName = url.searchParams.get('userName');
  const status = url.searchParams.get('status');
  try {
    if (userName !== null) {
      const connection = await connectionOfUser(env, config, userName, (url.searchParams.get('dataCenter') ?? undefined) as DataCenter | undefined);
      return connection ? { response: Response.json({ connection }) } : refusal(404, 'not_found', 'no connection is known for that user');
    }
    return { response: Response.json(await listConnections(env, { ...pageOf(url), ...(status === null ? {} : { status: status as ConnectionStatus }) })) };
  } catch (error) {
    if (isTokenStoreError(error, 'INVALID_INPUT')) return refusal(400, 'bad_request', error.message);
    throw error;
  }
}

async function keys({ env }: AuthContext): Promise<Answer> {
  const current = env.TOKEN_STORE_CURRENT_KEY;
  const objectsByKey = await countsOverShards<string>(env, (d) => d.keyCounts());
  const done = Object.keys(objectsByKey).every((keyId) => keyId === current);
  return { response: Response.json({ current, objectsByKey, done }) };
}

/** Wakes up to 25 objects per shard that still hold old-key records; call again until done. */
async function reseal({ env }: AuthContext): Promise<Answer> {
  const current = env.TOKEN_STORE_CURRENT_KEY;
  let records = 0;
  let objectsWoken = 0;
  for (const shard of directoryShards(env)) {
    for (const id of await callObject(shard, (d) => d.sealedUnderOldKeys(current, 25))) {
      records += await ask(objectById(env, id), (s) => s.reseal());
      objectsWoken++;
    }
  }
  return { response: Response.json({ objectsWoken, recordsResealed: records }), event: 'reseal' };
}

/**
 * Erases one user (the right to erasure): revokes at Zoho, deletes their tokens, ends their
 * sessions, in their object. `dataCenter` says where it is; without it every served data
 * center's place is looked at (an object that never held anything is left untouched). A user
 * who is not stored is not an error: `found` says so.
 */
async function erase({ env, config, request }: AuthContext): Promise<Answer> {
  const body = (await request.json().catch(() => null)) as { userName?: unknown; dataCenter?: unknown } | null;
  const places = await placesOfUser(config, body?.userName, body?.dataCenter);
  if (places === null) {
    return refusal(400, 'bad_request', `send {"userName": "<email>:<zgid>", "dataCenter": one of ${config.zoho.served.join(', ')} (optional)}`);
  }
  const { name } = places;
  const total: ErasedUser = { found: false, revokedAtZoho: false, tokensDeleted: 0, sessionsEnded: 0 };
  for (const dataCenter of places.dataCenters) {
    // Safe to retry: a second run finds nothing left to erase.
    const answer = await ask(userObject(env, { dataCenter, name }), (s) => s.erase());
    if (!answer.found && answer.sessionsEnded === 0) continue;
    total.revokedAtZoho = (total.found ? total.revokedAtZoho : true) && answer.revokedAtZoho;
    total.found ||= answer.found;
    total.tokensDeleted += answer.tokensDeleted;
    total.sessionsEnded += answer.sessionsEnded;
  }
  return { response: Response.json({ user: name, ...total }), event: 'erase' };
}

/**
 * Wakes a page of the directory's objects, each of which plans its idle purge if it had none
 * (tokens stored before IDLE_PURGE_DAYS was set, and users who never came back since); call
 * again with `after` set to `next` until it is null.
 */
async function purgeIdle({ env, url }: AuthContext): Promise<Answer> {
  const { after, limit } = pageOf(url);
  const { entries, next } = await directoryPage(env, after, limit);
  let planned = 0;
  for (const entry of entries) if (await ask(objectById(env, entry.id), (s) => s.planIdlePurge())) planned++;
  return { response: Response.json({ objectsWoken: entries.length, purgesPlanned: planned, next }), event: 'purge_idle' };
}

const HOUR_MS = 3_600_000;

/** The last 24 hours, oldest first, each with its counts summed over the shards. */
async function activity({ env }: AuthContext): Promise<Answer> {
  const now = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  const since = now - 23 * HOUR_MS;
  const shards = await Promise.all(directoryShards(env).map((shard) => callObject(shard, (d) => d.activity(since))));
  const hours = Array.from({ length: 24 }, (_, i) => {
    const hour = since + i * HOUR_MS;
    const sum = (kind: ActivityKind) => shards.reduce((total, shard) => total + (shard[hour]?.[kind] ?? 0), 0);
    return { hour, refreshes: sum('refreshes'), refusals: sum('refusals'), reauths: sum('reauths') };
  });
  return { response: Response.json({ hours }) };
}

/** An operator's action on one connection, by its object id (the page lists ids, never names). */
async function act({ env, request }: AuthContext): Promise<Answer> {
  const body = (await request.json().catch(() => null)) as { id?: unknown; action?: unknown } | null;
  const id = body?.id;
  const action = body?.action;
  if (typeof id !== 'string' || !/^[0-9a-f]{64}$/.test(id) || (action !== 'refresh' && action !== 'revoke' && action !== 'erase')) {
    return refusal(400, 'bad_request', 'send {"id": "<object id>", "action": "refresh" | "revoke" | "erase"}');
  }
  let objectId: DurableObjectId;
  try {
    objectId = env.ZOHO_USERS.idFromString(id);
  } catch {
    return refusal(404, 'not_found', 'no such object');
  }
  const object = () => env.ZOHO_USERS.get(objectId);
  if (action === 'refresh') {
    const { refreshed, failed, retryAfterMs } = await ask(object, (s) => s.refreshNow());
    const message =
      failed !== null
        ? `Zoho refused the refresh (${failed}).`
        : refreshed === 0 && retryAfterMs > 0
          ? `Refreshed recently; the next refresh may run in ${Math.ceil(retryAfterMs / 1000)} s.`
          : `Refreshed ${refreshed} token(s).`;
    return { response: Response.json({ action, refreshed, failed, retryAfterMs, message }), event: 'admin_refresh' };
  }
  if (action === 'revoke') {
    const revoked = await ask(object, (s) => s.revokeAll());
    return { response: Response.json({ action, revoked, message: `Revoked ${revoked} token(s) at Zoho and ended the sessions.` }), event: 'admin_revoke' };
  }
  const erased = await ask(object, (s) => s.erase());
  return {
    response: Response.json({ action, ...erased, message: `Erased: ${erased.tokensDeleted} token(s), ${erased.sessionsEnded} session(s).` }),
    event: 'erase',
  };
}

const ROUTES: Record<string, (context: AuthContext) => Promise<Answer>> = {
  'GET /admin/activity': activity,
  'POST /admin/connections/act': act,
  'GET /admin/objects': objects,
  'GET /admin/connections': connections,
  'GET /admin/keys': keys,
  'POST /admin/reseal': reseal,
  'POST /admin/erase': erase,
  'POST /admin/purge-idle': purgeIdle,
};

/** `path`: the request's path with the base path taken off. */
export async function admin(context: AuthContext, path: string): Promise<Answer> {
  const { config, request } = context;
  if (!config.adminKeyHash) return refusal(404, 'not_found', 'no such route');
  const page = await adminPage(context, path, config.adminKeyHash);
  if (page) return page;
  const route = ROUTES[`${request.method} ${path}`];
  if (!route) return refusal(404, 'not_found', 'no such route');
  const allowed = await authorized(request, config.sessionSecret, config.adminKeyHash);
  if (allowed === 'cross_site') return refusal(403, 'cross_site', 'the operators page acts only from its own origin');
  if (!allowed) return refusal(401, 'unauthorized', 'admin key required');
  return route(context);
}
