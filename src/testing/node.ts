// Serves a LocalZoho over HTTP on loopback, from Node: for browser tests, `npm start` and
// benchmarks. The LocalZoho itself answers CORS where Zoho does (the CRM API, for client-based
// apps' JavaScript domains), and nowhere else. Only loopback host names are answered (a web
// page cannot reach it through DNS rebinding), and its test controls want the admin token.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalZoho } from './local-zoho.ts';
import type { LocalZohoOptions } from './options.ts';

export interface ServeOptions extends LocalZohoOptions {
  port?: number;
  /**
   * For the browser test harness only: its pages stand in for an extension's, whose host
   * permissions let them call any server without CORS. Adds `*` CORS headers to every answer.
   * Never set where a page is meant to behave as a page (npm start, the e2e walk).
   */
  asExtensionHostPermission?: boolean;
  zoho?: LocalZoho;
  /**
   * What `/__admin/` routes want as `Authorization: Bearer <token>` (default:
   * LOCAL_ZOHO_ADMIN_TOKEN, else a random one; the answer says which). In-process tests call
   * the LocalZoho's methods instead.
   */
  adminToken?: string;
}

/** A Host header naming this machine's loopback: 127.x.x.x, [::1], localhost or a name under it, any port. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d{1,5}$/, '').toLowerCase();
  return name === 'localhost' || name.endsWith('.localhost') || name === '[::1]' || /^127(\.\d{1,3}){3}$/.test(name);
}

async function toRequest(req: IncomingMessage, origin: string): Promise<Request> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const body = chunks.length > 0 && req.method !== 'GET' && req.method !== 'HEAD' ? Buffer.concat(chunks) : undefined;
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) if (typeof value === 'string') headers.set(name, value);
  return new Request(new URL(req.url ?? '/', origin), { method: req.method, headers, body });
}

async function send(response: Response, res: ServerResponse, cors: boolean): Promise<void> {
  const headers: Record<string, string> = {};
  response.headers.forEach((value, name) => (headers[name] = value));
  if (cors) {
    headers['access-control-allow-origin'] = '*';
    headers['access-control-allow-headers'] = 'authorization, content-type';
    headers['access-control-allow-methods'] = 'GET, POST, PUT, DELETE, OPTIONS';
  }
  res.writeHead(response.status, headers);
  res.end(Buffer.from(await response.arrayBuffer()));
}

/**
 * Serves a `LocalZoho` over HTTP on loopback: its URL, the instance, its admin token, and
 * `close()`.
 *
 * ```ts
 * const { url, zoho, adminToken, close } = await serveLocalZoho({ port: 0 });
 * ```
 */
export async function serveLocalZoho(options: ServeOptions = {}) {
  const zoho = options.zoho ?? new LocalZoho(options);
  const cors = options.asExtensionHostPermission ?? false;
  const adminToken = options.adminToken || process.env.LOCAL_ZOHO_ADMIN_TOKEN || randomBytes(24).toString('base64url');
  const server = createServer((req, res) => {
    const host = req.headers.host ?? '';
    if (!isLoopbackHost(host)) {
      res.writeHead(421, { 'content-type': 'text/plain' }).end('this local Zoho answers loopback host names only');
      return;
    }
    const preflight = cors && req.method === 'OPTIONS';
    if (!preflight && req.url?.startsWith('/__admin/') && req.headers.authorization !== `Bearer ${adminToken}`) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: 'the test controls want Authorization: Bearer <admin token>' }));
      return;
    }
    const origin = `http://${host}`;
    const answer = preflight ? Promise.resolve(new Response(null, { status: 204 })) : toRequest(req, origin).then((request) => zoho.fetch(request));
    answer
      .then((response) => send(response, res, cors))
      .catch(() => {
        res.writeHead(500).end();
      });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    zoho,
    url: `http://127.0.0.1:${port}`,
    /** What the `/__admin/` routes want as a bearer token. */
    adminToken,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Browsers keep connections alive; without this, close waits for them forever.
        server.closeAllConnections();
      }),
  };
}
