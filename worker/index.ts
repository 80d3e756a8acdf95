/**
 * This repository's deployable Worker: the library's whole Worker (`edge-token-store/worker`)
 * plus the demo page's local settings, and a Zoho CRM MCP server at /mcp behind
 * workers-oauth-provider (`edge-token-store/mcp`) when MCP_RESOURCE_URL is set. Your own Worker
 * looks like this, with the package's name in the imports.
 */
import { OAuthProvider } from '@cloudflare/workers-oauth-provider';
import { createZohoMcp, type ZohoMcpEnv } from '../src/mcp/index.ts';
import { createZohoWorker, getZohoSession, type ZohoEnv } from '../src/worker/index.ts';

// Bound under these names in wrangler.toml (its v4 migration renamed the classes of earlier versions).
export { ZohoDirectory, ZohoLoginStates, ZohoUserObject } from '../src/worker/index.ts';

interface Env extends ZohoEnv {
  /**
   * Local runs only (`npm start` sets it): the in-browser demo's client, JSON
   * {"accountsUrl", "clientId"}, answered at GET /demo/browser-client. Unset: that route is 404.
   */
  DEMO_BROWSER_CLIENT?: string;
  /** The MCP endpoint's canonical URL (`https://<your host>/mcp`); unset: no MCP server. */
  MCP_RESOURCE_URL?: string;
  /** The provider's grants, clients and tokens (hashed and encrypted by it; no Zoho token). */
  OAUTH_KV?: KVNamespace;
}

const zoho = createZohoWorker();
const mcp = createZohoMcp({ name: 'edge-token-store' });

const app = {
  async fetch(request: Request, env: Env, ctx?: ExecutionContext, pathname = new URL(request.url).pathname): Promise<Response> {
    // The in-browser demo's client in local runs (an id, no secret); never an asset, so never deployed.
    if (pathname === '/demo/browser-client' && env.DEMO_BROWSER_CLIENT) {
      return new Response(env.DEMO_BROWSER_CLIENT, { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
    }
    // An app route of your own, as docs/worker.md writes one: the user's Leads through their session.
    if (pathname === '/app/leads') {
      const session = await getZohoSession(request, env);
      if (!session) return Response.json({ error: 'unauthorized', message: 'log in at /auth/login' }, { status: 401, headers: { 'cache-control': 'no-store' } });
      return session.fetch('/crm/v8/Leads?fields=Last_Name,Company');
    }
    return zoho.fetch(request, env, ctx);
  },
};

/** Everything but the provider's own endpoints and /mcp: the authorize step, then the app. */
const defaultHandler = {
  async fetch(request: Request, env: Env & ZohoMcpEnv, ctx: ExecutionContext): Promise<Response> {
    return (await mcp.authorize(request, env)) ?? app.fetch(request, env, ctx);
  },
};

/** Where the provider serves: its endpoints, /mcp, and the authorize step it hands to `mcp.authorize`. */
const ENDPOINTS = { apiRoute: '/mcp', authorizeEndpoint: '/authorize', tokenEndpoint: '/token', clientRegistrationEndpoint: '/register' };
/**
 * Whether the provider must see the request: its endpoints (and what lies under them) and its
 * discovery documents. Every other request (the routes, /crm/*, the page) goes straight to the
 * app, not through the provider's own routing, which costs more per request than the rest of a
 * proxied call does.
 */
const forProvider = (pathname: string) =>
  pathname.startsWith('/.well-known/oauth-') || Object.values(ENDPOINTS).some((path) => pathname === path || pathname.startsWith(`${path}/`));

// One provider per isolate, for the configured URL (never the request's Host).
let provider: { url: string; handler: OAuthProvider<Env> } | undefined;

export default {
  async fetch(request: Request, env: Env, ctx?: ExecutionContext): Promise<Response> {
    const url = env.MCP_RESOURCE_URL;
    if (!url || !ctx) return app.fetch(request, env, ctx);
    const { pathname } = new URL(request.url);
    if (!forProvider(pathname)) return app.fetch(request, env, ctx, pathname);
    if (provider?.url !== url) {
      const handler = new OAuthProvider<Env>({
        ...ENDPOINTS,
        apiHandler: mcp.apiHandler as never,
        defaultHandler: defaultHandler as never,
        resourceMetadata: { resource: url, resource_name: 'Zoho CRM' },
      });
      provider = { url, handler };
    }
    return provider.handler.fetch(request, env, ctx);
  },
};
