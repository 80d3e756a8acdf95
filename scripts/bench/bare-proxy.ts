// The least a Worker proxy to Zoho can do, for the bench to measure ours against: forward the
// request to the local Zoho with one fixed access token, and hand the answer back. No session,
// no store, no checks. Run by `wrangler dev` beside `npm start` (bare-proxy-run.ts).
interface Env {
  ZOHO: string;
  TOKEN: string;
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const headers = new Headers(request.headers);
    headers.set('authorization', `Zoho-oauthtoken ${env.TOKEN}`);
    headers.delete('cookie');
    return fetch(`${env.ZOHO}${url.pathname}${url.search}`, { method: request.method, headers, body: request.body });
  },
};
