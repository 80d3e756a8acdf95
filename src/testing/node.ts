// Serves a LocalZoho over HTTP on loopback, from Node: for browser tests, `npm start` and
// benchmarks. The LocalZoho itself answers CORS where Zoho does (the CRM API, for client-based
// apps' JavaScript domains), and nowhere else.
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

export async function serveLocalZoho(options: ServeOptions = {}) {
  const zoho = options.zoho ?? new LocalZoho(options);
  const cors = options.asExtensionHostPermission ?? false;
  const server = createServer((req, res) => {
    const origin = `http://${req.headers.host ?? '127.0.0.1'}`;
    const answer =
      cors && req.method === 'OPTIONS'
        ? Promise.resolve(new Response(null, { status: 204 }))
        : toRequest(req, origin).then((request) => zoho.fetch(request));
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
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Browsers keep connections alive; without this, close waits for them forever.
        server.closeAllConnections();
      }),
  };
}
