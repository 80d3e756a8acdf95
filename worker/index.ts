/**
 * This repository's deployable Worker: the library's whole Worker (`edge-token-store/worker`)
 * plus the demo page's local settings. Your own Worker looks like this, with the package's name
 * in the imports.
 */
import { createZohoWorker, getZohoSession, type ZohoEnv } from '../src/worker/index.ts';

// Bound under these names in wrangler.toml (its v4 migration renamed the classes of earlier versions).
export { ZohoDirectory, ZohoLoginStates, ZohoUserObject } from '../src/worker/index.ts';

interface Env extends ZohoEnv {
  /**
   * Local runs only (`npm start` sets it): the in-browser demo's client, JSON
   * {"accountsUrl", "clientId"}, answered at GET /demo/browser-client. Unset: that route is 404.
   */
  DEMO_BROWSER_CLIENT?: string;
}

const zoho = createZohoWorker();

export default {
  async fetch(request: Request, env: Env, ctx?: ExecutionContext): Promise<Response> {
    // The in-browser demo's client in local runs (an id, no secret); never an asset, so never deployed.
    const { pathname } = new URL(request.url);
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
