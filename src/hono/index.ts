/**
 * `edge-token-store/hono`: the Worker library for a Hono app (`hono` is an optional peer
 * dependency). Our own routing, cookies, state and guards do the work; Hono only mounts them.
 *
 *   const app = new Hono<{ Bindings: ZohoEnv; Variables: ZohoVariables }>();
 *   const zoho = zohoRoutes({ authorizeCrm });
 *   app.route('/zoho', zoho);
 *   app.get('/leads', zoho.session(), requireZoho(), (c) => c.var.zoho.fetch('/crm/v8/Leads?fields=Last_Name'));
 *   // Who must log in again: zoho.connections(c.env, { status: 'needs_reauth' })
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { TokenStoreError } from '../store/errors.ts';
import {
  createZohoHandler,
  getZohoSession,
  type ZohoEnv,
  type ZohoHandler,
  type ZohoSession,
  type ZohoSessionOptions,
  type ZohoWorkerOptions,
} from '../worker/index.ts';

/** What `zohoRoutes()` makes: a Hono app to mount, the session middleware that follows its options, and its users' connections. */
export type ZohoRoutes = Hono<ZohoApp> &
  Pick<ZohoHandler, 'connections' | 'connection'> & {
    /**
     * Middleware: `c.var.zoho` is the request's live session, or null, with these routes' own
     * options (their `authorizeCrm`, bindings), without passing them again.
     */
    session(options?: { allowCrossSite?: boolean }): MiddlewareHandler<ZohoApp>;
  };

/** What `zohoSession()` sets: `c.var.zoho`, the logged-in user's session or null. */
export type ZohoVariables = { zoho: ZohoSession | null };

/** The Hono environment the middleware and routes run in: your Worker's bindings and `c.var.zoho`. */
export type ZohoApp = { Bindings: ZohoEnv; Variables: ZohoVariables };

/** The execution context, when the runtime gave one (Hono throws on access otherwise). */
function executionCtx(c: { readonly executionCtx: unknown }): ExecutionContext | undefined {
  try {
    return c.executionCtx as ExecutionContext;
  } catch {
    return undefined;
  }
}

/**
 * A Hono app with the auth, CRM and operators' routes, to mount where you like:
 * `app.route('/zoho', zohoRoutes())`. It reads the path it is mounted at from Hono's route,
 * so the redirect URI and the proxy follow it (`options.basePath` is not needed, and is refused
 * if it says otherwise). Paths it does not answer fall through to your app's 404. Its
 * `session()` is the middleware for your own routes, with the same options.
 *
 * ```ts
 * const zoho = zohoRoutes({ appUrl: '/app' });
 * app.route('/zoho', zoho);
 * app.get('/app/leads', zoho.session(), requireZoho(), (c) => c.var.zoho.fetch('/crm/v8/Leads?fields=Last_Name'));
 * ```
 */
export function zohoRoutes(options: ZohoWorkerOptions = {}): ZohoRoutes {
  // Made now, not at the first request: a mistake in the options fails at startup.
  const sessions = createZohoHandler(options);
  const handlers = new Map<string, ZohoHandler>();
  const handlerAt = (basePath: string) => {
    if (options.basePath !== undefined && options.basePath.replace(/\/+$/, '') !== basePath) {
      throw new TokenStoreError('INVALID_INPUT', `edge-token-store/hono: zohoRoutes is mounted at "${basePath}", not at its basePath "${options.basePath}"`);
    }
    let handler = handlers.get(basePath);
    if (!handler) handlers.set(basePath, (handler = createZohoHandler({ ...options, basePath })));
    return handler;
  };
  const app = new Hono<ZohoApp>();
  app.all('/*', async (c, next) => {
    // routePath is the mounted pattern, such as "/zoho/*": the base path is what precedes "/*".
    const basePath = c.req.routePath.replace(/\/?\*$/, '');
    const response = await handlerAt(basePath).route(c.req.raw, c.env, executionCtx(c));
    if (response) return response;
    await next();
  });
  return Object.assign(app, {
    // The directory's views, through these routes' bindings (docs/worker.md, Operators).
    connections: sessions.connections,
    connection: sessions.connection,
    session:
      (sessionOptions?: { allowCrossSite?: boolean }): MiddlewareHandler<ZohoApp> =>
      async (c, next) => {
        c.set('zoho', await sessions.session(c.req.raw, c.env, sessionOptions));
        await next();
      },
  });
}

/**
 * Middleware: `c.var.zoho` is the live session of the request's cookie, or null (none, ended,
 * or a request from another site unless `allowCrossSite`); getZohoSession() says more. Its
 * CRM calls follow `options` and nothing else: with `zohoRoutes()`, its `session()` carries
 * the routes' own options instead.
 *
 * ```ts
 * app.get('/leads', zohoSession({ authorizeCrm }), requireZoho(), (c) => c.var.zoho.fetch('/crm/v8/Leads?fields=Last_Name'));
 * ```
 */
export function zohoSession(options: ZohoSessionOptions = {}): MiddlewareHandler<ZohoApp> {
  return async (c, next) => {
    c.set('zoho', await getZohoSession(c.req.raw, c.env, options));
    await next();
  };
}

/** After `requireZoho()`, `c.var.zoho` is a session: never null. */
export type WithSession = { Bindings: ZohoEnv; Variables: { zoho: ZohoSession } };

/**
 * Middleware after `zohoSession()` (or `zohoRoutes().session()`): 401 (JSON) without a session;
 * the handlers after it see `c.var.zoho` as a session, not null.
 *
 * ```ts
 * app.get('/me', zoho.session(), requireZoho(), (c) => c.json({ user: c.var.zoho.user }));
 * ```
 */
export function requireZoho(): MiddlewareHandler<WithSession> {
  return async (c, next) => {
    if (!(c.var as ZohoVariables).zoho) return c.json({ error: 'unauthorized', message: 'log in first' }, 401, { 'cache-control': 'no-store' });
    await next();
  };
}
