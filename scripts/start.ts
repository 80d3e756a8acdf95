// `npm start`: the Worker under `wrangler dev` and the local Zoho beside it, both on
// loopback, no internet and no Cloudflare account. Tokens persist in .wrangler/state (the
// Worker's Durable Objects) and .wrangler/local-zoho.json (the local Zoho; STATE_DIR moves
// both), so stopping and
// starting again needs no second login. Secrets for this are generated once into .dev.vars.
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { serveLocalZoho } from 'edge-token-store/testing/node';
import { LocalZoho } from 'edge-token-store/testing';

const WORKER_PORT = Number(process.env.PORT ?? 8787);
const ZOHO_PORT = Number(process.env.LOCAL_ZOHO_PORT ?? 8788);
const ZOHO_URL = `http://127.0.0.1:${ZOHO_PORT}`;
// A second data center, as Zoho's multi-DC clients see them: US (and the global sign-in) above, EU here.
const ZOHO_EU_PORT = Number(process.env.LOCAL_ZOHO_EU_PORT ?? ZOHO_PORT + 10);
const ZOHO_EU_URL = `http://127.0.0.1:${ZOHO_EU_PORT}`;
const DATA_CENTERS = { us: ZOHO_URL, eu: ZOHO_EU_URL };
/** Where both halves keep their state (tests point this at a temporary folder). */
const STATE_DIR = process.env.STATE_DIR ?? '.wrangler';
const STATE = `${STATE_DIR}/local-zoho.json`;
const APP_ORIGINS = [`http://127.0.0.1:${WORKER_PORT}`, `http://localhost:${WORKER_PORT}`];
/** The Worker: a server-based client, redirected to its callback. */
const CLIENT_ID = '1000.LOCALDEV';
/** The demo's in-browser mode: a client-based (JavaScript) client, no secret, this origin its JavaScript domain. */
const BROWSER_CLIENT_ID = '1000.LOCALBROWSER';
/** The extension: a mobile/desktop client (PKCE), redirected to its chromiumapp.org address. */
const EXTENSION_CLIENT_ID = '1000.LOCALEXTENSION';

/** The unpacked extension's id, from the public key in its manifest (Chrome's rule: SHA-256, first 16 bytes, 0-f as a-p). */
function extensionId(): string {
  const { key } = JSON.parse(readFileSync('demo/extension/manifest.json', 'utf8')) as { key: string };
  const hex = createHash('sha256').update(Buffer.from(key, 'base64')).digest('hex').slice(0, 32);
  return [...hex].map((c) => String.fromCharCode(97 + parseInt(c, 16))).join('');
}

/** Writes secrets for wrangler (.dev.vars, or the file this run passes), readable by this user only; values single-quoted (see below). */
function writeDevVars(vars: Record<string, string>, path = '.dev.vars'): void {
  writeFileSync(
    path,
    Object.entries(vars)
      .map(([k, v]) => `${k}='${v}'`)
      .join('\n') + '\n',
    { mode: 0o600 },
  );
  chmodSync(path, 0o600);
}

/**
 * The local secrets, created once and kept: .dev.vars holds secrets only (settings go on the
 * command line). Values are single-quoted, which dotenv takes literally (it does not
 * unescape \" inside double quotes). Keys a newer version needs are added to an old file.
 */
function devVars(): Record<string, string> {
  const read = (): Record<string, string> =>
    existsSync('.dev.vars')
      ? Object.fromEntries(
          readFileSync('.dev.vars', 'utf8')
            .split('\n')
            .filter((line) => line.includes('='))
            .map((line) => [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1).replace(/^'(.*)'$/, '$1')]),
        )
      : {};
  const secret = () => randomBytes(32).toString('base64url');
  const wanted: Record<string, () => string> = {
    ZOHO_CLIENT_SECRET: secret,
    DEMO_EXTENSION_CLIENT_SECRET: secret,
    SESSION_SECRET: secret,
    USER_OBJECT_SECRET: secret,
    TOKEN_STORE_KEYS: () => JSON.stringify({ k1: secret() }),
  };
  const vars = read();
  const missing = Object.keys(wanted).filter((key) => !vars[key]);
  if (missing.length > 0) {
    for (const key of missing) vars[key] = wanted[key]!();
    writeDevVars(vars);
    console.log(`wrote fresh local secrets to .dev.vars: ${missing.join(', ')}`);
  }
  return vars;
}

/**
 * The admin key for /admin/* on this local Worker: kept in .admin-key beside .dev.vars (which
 * holds only its SHA-256, as a deployment would). Made again, with its hash, if either is gone.
 */
function adminKey(vars: Record<string, string>): string {
  const hash = (key: string) => createHash('sha256').update(key).digest('base64url');
  let key = existsSync('.admin-key') ? readFileSync('.admin-key', 'utf8').trim() : '';
  if (!key || vars.ADMIN_KEY_SHA256 !== hash(key)) {
    key = randomBytes(32).toString('base64url');
    writeFileSync('.admin-key', `${key}\n`, { mode: 0o600 });
    vars.ADMIN_KEY_SHA256 = hash(key);
    writeDevVars(vars);
  }
  return key;
}

const vars = devVars();
adminKey(vars);
mkdirSync(STATE_DIR, { recursive: true });
// Connection events (docs/worker.md) go to a webhook when this shell sets CONNECTION_WEBHOOK_URL
// and CONNECTION_WEBHOOK_SECRET: this run's secrets file is .dev.vars plus those, made afresh
// each start, so unsetting them turns events off again.
const EVENT_SETTINGS = ['CONNECTION_WEBHOOK_URL', 'CONNECTION_WEBHOOK_SECRET'] as const;
const events = Object.fromEntries(EVENT_SETTINGS.filter((name) => process.env[name]).map((name) => [name, process.env[name]!]));
const WORKER_SECRETS = `${STATE_DIR}/worker.env`;
writeDevVars({ ...vars, ...events }, WORKER_SECRETS);
// LOCAL_ZOHO_PKCE=ignore-server plays a Zoho that does not check server-based clients' PKCE
// verifiers (its docs leave that open): logins must still refuse an injected code.
const PKCE = process.env.LOCAL_ZOHO_PKCE || 'check';
if (PKCE !== 'check' && PKCE !== 'ignore-server') {
  console.error(`LOCAL_ZOHO_PKCE must be "check" (the default) or "ignore-server", not "${PKCE}"`);
  process.exit(2);
}
const zoho = new LocalZoho({
  pkce: PKCE,
  dataCenters: DATA_CENTERS,
  // Zoho's 10 grants per client per 10 minutes, unless a benchmark logs in many users.
  grantsPerWindow: process.env.LOCAL_ZOHO_GRANTS_PER_WINDOW ? Number(process.env.LOCAL_ZOHO_GRANTS_PER_WINDOW) : undefined,
  // Zoho's hour, unless a benchmark needs tokens to expire on the real clock during its run.
  accessTokenSeconds: process.env.LOCAL_ZOHO_ACCESS_TOKEN_SECONDS ? Number(process.env.LOCAL_ZOHO_ACCESS_TOKEN_SECONDS) : undefined,
  clients: [
    // The Worker's callback at the root, and under /zoho, where the docs' examples of your own Worker mount the routes.
    {
      clientId: CLIENT_ID,
      clientSecret: vars.ZOHO_CLIENT_SECRET!,
      redirectUris: APP_ORIGINS.flatMap((o) => [`${o}/auth/callback`, `${o}/zoho/auth/callback`]),
    },
    { clientId: BROWSER_CLIENT_ID, type: 'client', redirectUris: APP_ORIGINS.map((o) => `${o}/?mode=browser`), jsDomains: APP_ORIGINS },
    {
      clientId: EXTENSION_CLIENT_ID,
      type: 'mobile',
      clientSecret: vars.DEMO_EXTENSION_CLIENT_SECRET!,
      redirectUris: [`https://${extensionId()}.chromiumapp.org/`],
    },
  ],
});
if (existsSync(STATE)) zoho.restore(JSON.parse(readFileSync(STATE, 'utf8')));
// Live local tokens and a client secret: readable by this user only, also when the file was made before.
const save = () => {
  writeFileSync(STATE, JSON.stringify(zoho.snapshot()), { mode: 0o600 });
  chmodSync(STATE, 0o600);
};
const saver = setInterval(save, 1000);
// No CORS switch: the local Zoho answers the in-browser page's CRM calls itself, as Zoho does
// for a client-based app's JavaScript domains, and never on its token endpoint.
// Its test controls (/__admin/) want this token: LOCAL_ZOHO_ADMIN_TOKEN, else one made now and printed below.
const ADMIN_TOKEN = process.env.LOCAL_ZOHO_ADMIN_TOKEN || randomBytes(24).toString('base64url');
const server = await serveLocalZoho({ zoho, port: ZOHO_PORT, adminToken: ADMIN_TOKEN });
const euServer = await serveLocalZoho({ zoho, port: ZOHO_EU_PORT, adminToken: ADMIN_TOKEN });

// The in-browser demo: its bundle (its client, an id without a secret, comes from the Worker). The extension (demo/extension, load it unpacked) has
// its own client, whose secret Zoho's token endpoint requires of mobile/desktop clients.
await build({ entryPoints: ['demo/src/in-browser.ts'], bundle: true, format: 'esm', outfile: 'demo/public/in-browser.js', logLevel: 'warning' });
await build({
  entryPoints: ['demo/extension/src/background.ts', 'demo/extension/src/popup.ts'],
  bundle: true,
  format: 'esm',
  outdir: 'demo/extension/dist',
  logLevel: 'warning',
});
// Nothing local goes in the assets directory (wrangler deploy would publish it): the Worker
// answers the in-browser page's settings from a --var below. demo/public/.assetsignore keeps
// out the file older versions wrote there.
writeFileSync(
  'demo/extension/dist/config.json',
  JSON.stringify({ accountsUrl: ZOHO_URL, clientId: EXTENSION_CLIENT_ID, clientSecret: vars.DEMO_EXTENSION_CLIENT_SECRET }),
  { mode: 0o600 },
);
chmodSync('demo/extension/dist/config.json', 0o600);
console.log(`local Zoho (accounts and CRM): US data center on ${server.url}, EU on ${euServer.url}`);

const wrangler = spawn(
  'wrangler',
  [
    'dev',
    ...['--ip', '127.0.0.1', '--port', String(WORKER_PORT), '--persist-to', `${STATE_DIR}/state`],
    ...['--var', `ZOHO_CLIENT_ID:${CLIENT_ID}`, '--var', 'ZOHO_DATA_CENTER:us,eu', '--var', `ZOHO_LOCAL_DATA_CENTERS:${JSON.stringify(DATA_CENTERS)}`],
    // workerd cannot place objects in a jurisdiction; a deployment does (docs/worker.md, data centers).
    ...['--var', 'OBJECT_PLACEMENT:off'],
    // The in-browser page's client (an id, no secret), served at /demo/browser-client by this local run only.
    ...['--var', `DEMO_BROWSER_CLIENT:${JSON.stringify({ accountsUrl: ZOHO_URL, clientId: BROWSER_CLIENT_ID })}`],
    // The MCP server at /mcp (docs/mcp.md), its OAuth served by this Worker on loopback.
    ...['--var', `MCP_RESOURCE_URL:http://127.0.0.1:${WORKER_PORT}/mcp`],
    ...['--env-file', WORKER_SECRETS],
    '--show-interactive-dev-session=false',
  ],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
    // Offline, wrangler cannot download the `Request.cf` sample and prints its stack trace as a
    // warning. CLOUDFLARE_CF_FETCH_ENABLED=false is Miniflare's supported switch to its built-in
    // placeholder instead (this Worker reads nothing from `request.cf`).
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false' },
  },
);
wrangler.stdout.on('data', (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (chunk.toString().includes('Ready on')) {
    console.log(
      [
        '',
        `  edge-token-store is running.`,
        `    demo page:   http://127.0.0.1:${WORKER_PORT}/  (log in at the local Zoho with one click)`,
        `    MCP server:  http://127.0.0.1:${WORKER_PORT}/mcp  (OAuth through the local Zoho; docs/mcp.md)`,
        `    local Zoho:  ${ZOHO_URL} (US, and the sign-in), ${ZOHO_EU_URL} (EU)  (stand-ins; nothing calls the real Zoho)`,
        `                 PKCE of server-based clients: ${PKCE === 'check' ? 'checked' : 'ignored (LOCAL_ZOHO_PKCE=ignore-server)'}`,
        `                 test controls (/__admin/): Authorization: Bearer ${process.env.LOCAL_ZOHO_ADMIN_TOKEN ? '$LOCAL_ZOHO_ADMIN_TOKEN' : ADMIN_TOKEN}`,
        `    state:       ${STATE_DIR}/  (a restart keeps you logged in)`,
        `    operators:   http://127.0.0.1:${WORKER_PORT}/admin  (sign in with the key in .admin-key)`,
        `    admin key:   .admin-key  (Authorization: Bearer <key> for /admin/*: objects, connections, activity, keys, reseal, erase, purge-idle)`,
        `    events:      ${events.CONNECTION_WEBHOOK_URL ? `signed webhooks to ${events.CONNECTION_WEBHOOK_URL}` : 'off (set CONNECTION_WEBHOOK_URL and CONNECTION_WEBHOOK_SECRET)'}`,
        '  Stop with Ctrl+C.',
        '',
      ].join('\n'),
    );
  }
});

async function stop(code: number) {
  clearInterval(saver);
  save();
  wrangler.kill('SIGINT');
  await server.close();
  await euServer.close();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));
wrangler.on('exit', (code) => void stop(code ?? 0));
