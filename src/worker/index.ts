/**
 * `edge-token-store/worker`: Login with Zoho and a per-user CRM proxy for any Worker.
 *
 * - `createZohoWorker(options)`: a whole Worker (`export default createZohoWorker()`).
 * - `createZohoHandler(options).route(request, env, ctx)`: its routes under `basePath`, `null`
 *   for any other path, for your own router.
 * - `getZohoSession(request, env, options)`: the logged-in user of a request, and `fetch` to call
 *   the CRM as them from your own routes.
 * - The Durable Object classes to export from your Worker and bind (see `ZohoEnv` for the
 *   binding names and the secrets they read): `ZohoUserObject` (one per user: their token,
 *   sealed, and sessions), `ZohoLoginStates` (single-use login states), `ZohoDirectory` (the
 *   operators' list of user objects).
 */
export { createZohoHandler, createZohoWorker, type ZohoHandler } from './router.ts';
export { getZohoSession, type ZohoSession } from './session.ts';
export type { ZohoBindings, ZohoCaller, ZohoSessionOptions, ZohoWorkerOptions } from './options.ts';
export type { Env as ZohoEnv } from './env.ts';
export { ZohoUserObject } from './user-object.ts';
export { ZohoLoginStates } from './login-states.ts';
export { ZohoDirectory } from './directory.ts';
