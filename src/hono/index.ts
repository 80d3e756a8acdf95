/**
 * `edge-token-store/hono`: the Worker library for a Hono app (`hono` is an optional peer
 * dependency). Our own routing, cookies, state and guards do the work; Hono only mounts them.
 *
 *   const app = new Hono<{ Bindings: ZohoEnv; Variables: ZohoVariables }>();
 *   app.route('/zoho', zohoRoutes());
 *   app.get('/leads', zohoSession(), requireZoho(), (c) => c.var.zoho!.fetch('/crm/v8/Leads?fields=Last_Name'));
 */
import { Hono, type MiddlewareHandler } from 'hono';
import { createZohoHandler, getZohoSession, type ZohoEnv, type ZohoHandler, type ZohoSession, type ZohoSessionOptions, type ZohoWorkerOptions } from '../worker/index.ts';

/** What `zohoSession()` sets: `c.var.zoho`, the logged-in user's session or null. */
export type ZohoVariables = { zoho: ZohoSession | null };

type ZohoApp = { Bindings: ZohoEnv; Variables: ZohoVariables };

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
 * if it says otherwise). Paths it does not answer fall through to your app's 404.
 */
export function zohoRoutes(options: ZohoWorkerOptions = {}): Hono<ZohoApp> {
  // Made now, not at the first request: a mistake in the options fails at startup, and the
  // app's zohoSession() routes follow these hooks and bindings (handlers register them).
  createZohoHandler(options);
  const handlers = new Map<string, ZohoHandler>();
  const handlerAt = (basePath: string) => {
    if (options.basePath !== undefined && options.basePath.replace(/\/+$/, '') !== basePath) {
      throw new TypeError(`edge-token-store/hono: zohoRoutes is mounted at "${basePath}", not at its basePath "${options.basePath}"`);
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
  return app;
}

/**
 * Middleware: `c.var.zoho` is the live session of the request's cookie, or null (none, ended,
 * or a request from another site unless `allowCrossSite`); getZohoSession() says more. It
 * follows the hooks and bindings given to `zohoRoutes()`.
 */
export function zohoSession(options?: ZohoSessionOptions): MiddlewareHandler<ZohoApp> {
  return async (c, next) => {
    c.set('zoho', await getZohoSession(c.req.raw, c.env, options));
    await next();
  };
}

/** Middleware after `zohoSession()`: 401 (JSON) without a session. */
export function requireZoho(): MiddlewareHandler<ZohoApp> {
  return async (c, next) => {
    if (!c.var.zoho) return c.json({ error: 'unauthorized', message: 'log in first' }, 401, { 'cache-control': 'no-store' });
    await next();
  };
}
