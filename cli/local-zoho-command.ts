// edge-token-store local-zoho [--port N]: serves edge-token-store/testing's local Zoho on
// 127.0.0.1 until stopped, with its default client and users; its test controls are the
// /__admin/ routes in docs/testing.md, behind the admin token (LOCAL_ZOHO_ADMIN_TOKEN, else
// one made and printed at start).
import { parseArgs } from 'node:util';
import { DEFAULT_CLIENT } from 'edge-token-store/testing';
import { serveLocalZoho } from 'edge-token-store/testing/node';

const { values } = parseArgs({
  args: process.argv.slice(3),
  options: { port: { type: 'string', default: '8788' }, help: { type: 'boolean', default: false } },
});
if (values.help) {
  console.log(
    'usage: edge-token-store local-zoho [--port N]   (default 8788; 0 picks a free port)\n  its /__admin/ test controls want Authorization: Bearer $LOCAL_ZOHO_ADMIN_TOKEN (when unset, a token is made and printed)',
  );
  process.exit(0);
}
const port = Number(values.port);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`--port must be a port number, not ${values.port}`);
  process.exit(2);
}
const { url, close, adminToken } = await serveLocalZoho({ port });
// The client's secret is in docs/testing.md, never in a log line.
console.log(`local Zoho at ${url}: accounts server and API domain; client ${DEFAULT_CLIENT.clientId}, redirect ${DEFAULT_CLIENT.redirectUris.join(' or ')}`);
console.log(`test controls (/__admin/): Authorization: Bearer ${process.env.LOCAL_ZOHO_ADMIN_TOKEN ? '$LOCAL_ZOHO_ADMIN_TOKEN' : adminToken}`);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void close().then(() => process.exit(0)));
