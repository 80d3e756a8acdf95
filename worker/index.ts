/**
 * This repository's deployable Worker: the library's whole Worker (`edge-token-store/worker`)
 * plus the demo page's local settings, and a Zoho CRM MCP server at /mcp behind
 * workers-oauth-provider (`edge-token-store/mcp`) when MCP_RESOURCE_URL is set. Your own Worker
 * looks like this, with the package's name in the imports.
 */
import { createZohoMcp } from '../src/mcp/index.ts';
import { createZohoWorker, type ZohoEnv } from '../src/worker/index.ts';

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
  /** Limits /register, the authorize steps and /token per client address. */
  MCP_LIMITER?: RateLimit;
}

const zoho = createZohoWorker();
const mcp = createZohoMcp({ handler: zoho, name: 'edge-token-store' });

const app = {
  async fetch(request: Request, env: Env, ctx?: ExecutionContext): Promise<Response> {
    const { pathname } = new URL(request.url);
    // The in-browser demo's client in local runs (an id, no secret); never an asset, so never deployed.
    if (pathname === '/demo/browser-client' && env.DEMO_BROWSER_CLIENT) {
      return new Response(env.DEMO_BROWSER_CLIENT, { headers: { 'content-type': 'application/json', 'cache-control': 'no-store' } });
    }
    // An app route of your own, as docs/worker.md writes one: the user's Leads through their session.
    if (pathname === '/app/leads') {
      const session = await zoho.session(request, env);
      if (!session)
        return Response.json({ error: 'unauthorized', message: 'log in at /auth/login' }, { status: 401, headers: { 'cache-control': 'no-store' } });
      return session.fetch('/crm/v8/Leads?fields=Last_Name,Company');
    }
    return zoho.fetch(request, env, ctx);
  },
};

export default {
  async fetch(request: Request, env: Env, ctx?: ExecutionContext): Promise<Response> {
    // The MCP server's own paths (when MCP_RESOURCE_URL is set), then the app. Tests that call
    // this without a context reach the app only.
    return (ctx && (await mcp.route(request, env, ctx))) ?? app.fetch(request, env, ctx);
  },
};
