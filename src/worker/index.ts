/**
 * `edge-token-store/worker`: Login with Zoho and a per-user CRM proxy for any Worker.
 *
 * - `createZohoWorker(options)`: a whole Worker (`export default createZohoWorker()`).
 * - `createZohoHandler(options)`: `route(request, env, ctx)` answers its routes under `basePath`
 *   and `null` for any other path, for your own router; `session(request, env)` is the
 *   logged-in user of a request to your own routes, and `fetch` to call the CRM as them.
 * - `getZohoSession(request, env, options)`: the same lookup with the options given.
 * - The Durable Object classes to export from your Worker and bind (see `ZohoEnv` for the
 *   binding names and the secrets they read): `ZohoUserObject` (one per user: their token,
 *   sealed, and sessions), `ZohoLoginStates` (single-use login states), `ZohoDirectory` (the
 *   operators' list of user objects).
 */
export { createZohoHandler, createZohoWorker, type ZohoHandler, type ZohoWorker } from './router.ts';
export { getZohoSession, type ZohoSession } from './session.ts';
export type { ZohoBindings, ZohoCaller, ZohoSessionOptions, ZohoWorkerOptions } from './options.ts';
export type { Env as ZohoEnv } from './env.ts';
export type { ZohoLibraryObject, ObjectSchema } from './library-object.ts';
export type { CallerToken, ErasedUser, ObjectStats, SessionInfo, UserLogin, UserObjectEnv } from './user-object.ts';
export type { Activity, ActivityKind, Connection, DirectoryEntry, LastError } from './directory.ts';
export type { ConnectionEvent, ConnectionEventData, ConnectionEventType, ConnectionStatus } from './connection-events.ts';
export type { ConnectionEventsEnv } from './event-outbox.ts';
export type { MetricKind, MetricsEnv } from './metrics.ts';
export type { ConnectionPage, ConnectionQuery, ConnectionView } from './connections.ts';
export type { KeyRingEnv, Outcome } from '../backends/object-base.ts';
export type { CrmAccess } from '../zoho/crm-call.ts';
export type { DataCenterEnv } from '../zoho/data-centers.ts';
export type { ObjectZohoEnv } from '../zoho/object-manager.ts';
export type { EraseResult } from '../zoho/token-manager.ts';
export type { RefreshOptions } from '../store/types.ts';
export { ZohoUserObject } from './user-object.ts';
export { ZohoLoginStates } from './login-states.ts';
export { ZohoDirectory } from './directory.ts';
