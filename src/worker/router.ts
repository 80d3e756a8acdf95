/**
 * The Worker's routes, under a base path, for any router: `route` answers its own paths and
 * `null` for every other, so it composes with a Hono app, another router or a bare `fetch`.
 *   GET  <base>/auth/login     -> Zoho's consent page (state bound to this browser, PKCE)
 *   GET  <base>/auth/callback  -> checks state and accounts server, exchanges, starts a session
 *   GET  <base>/auth/me        -> who is logged in (no token)
 *   POST <base>/auth/refresh   -> refreshes the session's token now (at most every 2 minutes)
 *   POST <base>/auth/logout    -> ends the session
 *   POST <base>/auth/revoke    -> revokes at Zoho, deletes the token, ends its sessions
 *   ANY  <base>/crm/*          -> Zoho CRM, with the caller's token
 *   <base>/admin, /admin/*     -> operators only: their page and routes, behind the admin key (admin.ts, admin-page.ts)
 * Each user's token and sessions live in their own object (naming.ts and objects.ts say how objects are
 * named and reached): a proxied call is one call to that one object.
 */
import { isTokenStoreError } from '../store/errors.ts';
import { admin } from './admin.ts';
import { callback, login, logout, me, refreshNow, revoke, type AuthContext } from './auth.ts';
import { configOf, type Config } from './config.ts';
import type { Env } from './env.ts';
import { corsHeaders, crossSiteByMetadata, crossSiteRefused, jsonError, log, refusal, tokenRefusal, type RouteAnswer } from './http.ts';
import { envWithBindings, resolveOptions, type ResolvedOptions, type ZohoWorkerOptions } from './options.ts';
import { sessionWith, type ZohoSession } from './session.ts';
import { connectionOfUser, listConnections, type ConnectionPage, type ConnectionQuery, type ConnectionView } from './connections.ts';
import type { DataCenter } from '../zoho/data-centers.ts';
import { proxy } from './proxy.ts';

type Answer = RouteAnswer & { event?: string };

const POSTS: Record<string, (c: AuthContext) => Promise<Response>> = {
  '/auth/logout': logout,
  '/auth/revoke': revoke,
  '/auth/refresh': refreshNow,
};

/** One request to a path of ours (`path`: with the base path taken off). */
async function answer(context: AuthContext, path: string): Promise<Answer> {
  const { request, url, config, options } = context;
  const method = request.method;
  try {
    if (path === '/admin' || path.startsWith('/admin/')) return await admin(context, path);
    if (path === '/auth/login' && method === 'GET') return { response: await login(context) };
    if (path === '/auth/callback' && method === 'GET') return await callback(context);
    if (path === '/auth/me' && method === 'GET') return { response: await me(context) };
  } catch (error) {
    // A busy or failing object (a login-state bucket, a user's object) is a 503 with a wait, not a 500.
    if (!isTokenStoreError(error)) throw error;
    return tokenRefusal(error, false);
  }
  const post = POSTS[path];
  if (post && method === 'POST') {
    if (crossSiteRefused(request, url, config.allowedOrigins)) return refusal(403, 'forbidden_origin', 'cross-site request refused');
    try {
      return { response: await post(context) };
    } catch (error) {
      if (!isTokenStoreError(error)) throw error;
      return tokenRefusal(error, true);
    }
  }
  if (path === '/crm' || path.startsWith('/crm/')) {
    // Before any object or Zoho call: another site's link or subresource gets nothing.
    if (crossSiteByMetadata(request)) return refusal(403, 'cross_site', 'cross-site navigation or subresource load refused');
    const origin = request.headers.get('origin');
    const cors = origin && origin !== url.origin ? corsHeaders(origin, config.allowedOrigins) : null;
    if (method === 'OPTIONS') {
      return cors ? { response: new Response(null, { status: 204, headers: cors }) } : refusal(403, 'forbidden_origin', 'origin not allowed');
    }
    if (origin && origin !== url.origin && !cors) return refusal(403, 'forbidden_origin', 'origin not allowed');
    const { response, code } = await proxy(context.env, config, options, request, url);
    for (const [name, value] of Object.entries(cors ?? {})) response.headers.set(name, value);
    return { response, code };
  }
  return refusal(404, 'not_found', 'no such route');
}

const AUTH_PATHS = new Set(['/auth/login', '/auth/callback', '/auth/me', ...Object.keys(POSTS)]);

/** Whether `path` (base path taken off) is one of ours: the auth routes, the CRM, and admin when enabled. */
const ours = (path: string, adminEnabled: boolean) =>
  AUTH_PATHS.has(path) || path === '/crm' || path.startsWith('/crm/') || (adminEnabled && (path === '/admin' || path.startsWith('/admin/')));

export interface ZohoHandler {
  /** A `Response` for a path of ours under the base path; `null` for any other (the caller routes it). */
  route(request: Request, env: Env, ctx?: ExecutionContext): Promise<Response | null>;
  /**
   * The logged-in user of a request to one of your own routes, following this handler's
   * options (its `authorizeCrm`, bindings): `getZohoSession()` with them, without passing them
   * again. `allowCrossSite: true` lets other sites' requests have the session (see
   * `ZohoSessionOptions`).
   */
  session(request: Request, env: Env, options?: { allowCrossSite?: boolean }): Promise<ZohoSession | null>;
  /**
   * Users' connections as the directory knows them, by object id, with counts per status: for
   * example who must log in again, `connections(env, { status: 'needs_reauth' })`. No name or
   * token; reads the directory only (what users' objects reported from their alarms).
   */
  connections(env: Env, query?: ConnectionQuery): Promise<ConnectionPage>;
  /** One user's connection (`userName` as Zoho names them, `<email>:<zgid>`), or null when none is known. */
  connection(env: Env, userName: string, dataCenter?: DataCenter): Promise<ConnectionView | null>;
}

/** A handler whose `route` can be given the request's URL, parsed once by whoever routed it here. */
interface HandlerAt extends ZohoHandler {
  routeAt(request: Request, env: Env, url: URL): Promise<Response | null>;
}

/** Each handler's (and whole Worker's) checked options, for what acts through its login: the MCP server. */
const optionsOf = new WeakMap<object, ResolvedOptions>();

/** The options `handler` was made with, if createZohoHandler() or createZohoWorker() made it. */
export const handlerOptions = (handler: object): ResolvedOptions | undefined => optionsOf.get(handler);

function handlerOf(options?: ZohoWorkerOptions): HandlerAt {
  const resolved = resolveOptions(options);
  const crossSite = { ...resolved, allowCrossSite: true };
  const handler: HandlerAt = {
    route: (request, env) => handler.routeAt(request, env, new URL(request.url)),
    session: (request, env, sessionOptions) => sessionWith(request, env, sessionOptions?.allowCrossSite === true ? crossSite : resolved),
    connections: async (env, query) => listConnections(envWithBindings(env, resolved.bindings), query),
    async connection(env, userName, dataCenter) {
      const bound = envWithBindings(env, resolved.bindings);
      return connectionOfUser(bound, configOf(bound), userName, dataCenter);
    },
    async routeAt(request, env, url) {
      const { basePath } = resolved;
      if (basePath !== '' && !url.pathname.startsWith(`${basePath}/`)) return null;
      const path = url.pathname.slice(basePath.length);
      if (!ours(path, resolved.admin)) return null;

      const requestId = crypto.randomUUID();
      const started = Date.now();
      let result: Answer & { errorClass?: string };
      try {
        let config: Config;
        try {
          env = envWithBindings(env, resolved.bindings);
          config = configOf(env);
        } catch (error) {
          // The message names the setting, never its value.
          log({ requestId, method: request.method, path: url.pathname, event: 'misconfigured', code: 'misconfigured', detail: (error as Error).message });
          return jsonError(500, 'misconfigured', 'the service is not configured');
        }
        result = await answer({ env, config, options: resolved, request, url }, path);
      } catch (error) {
        const errorClass = error instanceof Error ? error.name || error.constructor.name : typeof error;
        result = { response: jsonError(500, 'internal', 'something went wrong'), code: 'internal', event: 'exception', errorClass };
      }
      const { response, event, code, errorClass } = result;
      log({ requestId, method: request.method, path: url.pathname, status: response.status, ms: Date.now() - started, event, code, errorClass });
      // Every auth answer: its URL can hold a code and a state, which a referrer must not carry.
      if (path.startsWith('/auth/')) response.headers.set('referrer-policy', 'no-referrer');
      response.headers.set('x-request-id', requestId);
      return response;
    },
  };
  return handler;
}

/**
 * The Worker's routes under `basePath`, for your own router: `route` answers its paths and
 * `null` for every other; `session` is the logged-in user of your own routes, with these
 * options. Options are checked here: a mistake fails at startup, not at a request.
 *
 * ```ts
 * const zoho = createZohoHandler({ basePath: '/zoho', authorizeCrm: ({ method }) => method === 'GET' });
 * export default {
 *   async fetch(request, env, ctx) {
 *     const answered = await zoho.route(request, env, ctx);
 *     if (answered) return answered;
 *     const session = await zoho.session(request, env);
 *     return session ? session.fetch('/crm/v8/org') : new Response('log in at /zoho/auth/login', { status: 401 });
 *   },
 * } satisfies ExportedHandler<ZohoEnv>;
 * ```
 */
export function createZohoHandler(options?: ZohoWorkerOptions): ZohoHandler {
  const { route, session, connections, connection } = handlerOf(options);
  const handler = { route, session, connections, connection };
  optionsOf.set(handler, resolveOptions(options));
  return handler;
}

/** What `createZohoWorker()` makes: a Worker's `fetch`, its session lookup for routes of your own, and its users' connections. */
export interface ZohoWorker extends Pick<ZohoHandler, 'session' | 'connections' | 'connection'> {
  fetch(request: Request, env: Env, ctx?: ExecutionContext): Promise<Response>;
}

/**
 * A whole Worker: the routes, `/healthz`, and 404 for anything else.
 *
 * ```ts
 * export default createZohoWorker();
 * export { ZohoDirectory, ZohoLoginStates, ZohoUserObject } from 'edge-token-store/worker';
 * ```
 */
export function createZohoWorker(options?: ZohoWorkerOptions): ZohoWorker {
  const handler = handlerOf(options);
  const resolved = resolveOptions(options);
  const health = `${resolved.basePath}/healthz`;
  const worker: ZohoWorker = {
    async fetch(request, env) {
      const url = new URL(request.url);
      if (url.pathname === health) return Response.json({ ok: true });
      return (await handler.routeAt(request, env, url)) ?? jsonError(404, 'not_found', 'no such route');
    },
    session: handler.session,
    connections: handler.connections,
    connection: handler.connection,
  };
  optionsOf.set(worker, resolved);
  return worker;
}
