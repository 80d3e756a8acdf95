// `npm start`: the Worker under `wrangler dev` and the local Zoho beside it, both on
// loopback, no internet and no Cloudflare account. Tokens persist in .wrangler/state (the
// Worker's Durable Objects) and .wrangler/local-zoho.json (the local Zoho; STATE_DIR moves
// both), so stopping and
// starting again needs no second login. Secrets for this are generated once into .dev.vars.
import { spawn } from 'node:child_process';
import { build } from 'esbuild';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { serveLocalZoho } from '../local-zoho/node.ts';
import { LocalZoho } from '../local-zoho/server.ts';

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
const CLIENT_ID = '1000.LOCALDEV';
/** The demo's in-browser mode uses a client of its own: the person running it "owns" it. */
const BROWSER_CLIENT_ID = '1000.LOCALBROWSER';

/** Writes .dev.vars, readable by this user only; values single-quoted (see below). */
function writeDevVars(vars: Record<string, string>): void {
  writeFileSync('.dev.vars', Object.entries(vars).map(([k, v]) => `${k}='${v}'`).join('\n') + '\n', { mode: 0o600 });
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
    DEMO_BROWSER_CLIENT_SECRET: secret,
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
const ADMIN_KEY = adminKey(vars);
mkdirSync(STATE_DIR, { recursive: true });
const zoho = new LocalZoho({
  dataCenters: DATA_CENTERS,
  // Zoho's 10 grants per client per 10 minutes, unless a benchmark logs in many users.
  grantsPerWindow: process.env.LOCAL_ZOHO_GRANTS_PER_WINDOW ? Number(process.env.LOCAL_ZOHO_GRANTS_PER_WINDOW) : undefined,
  clients: [
    { clientId: CLIENT_ID, clientSecret: vars.ZOHO_CLIENT_SECRET! },
    { clientId: BROWSER_CLIENT_ID, clientSecret: vars.DEMO_BROWSER_CLIENT_SECRET! },
  ],
});
if (existsSync(STATE)) zoho.restore(JSON.parse(readFileSync(STATE, 'utf8')));
const save = () => writeFileSync(STATE, JSON.stringify(zoho.snapshot()));
const saver = setInterval(save, 1000);
// CORS: the demo's in-browser mode calls the local Zoho from the page.
const server = await serveLocalZoho({ zoho, port: ZOHO_PORT, cors: true });
const euServer = await serveLocalZoho({ zoho, port: ZOHO_EU_PORT, cors: true });

// The in-browser demo: its bundle, and the local client it uses (written for local runs only;
// both are ignored by git and never deployed).
// The extension (demo/extension, load it unpacked) uses the same client and settings.
await build({ entryPoints: ['demo/src/in-browser.ts'], bundle: true, format: 'esm', outfile: 'demo/public/in-browser.js', logLevel: 'warning' });
await build({
  entryPoints: ['demo/extension/src/background.ts', 'demo/extension/src/popup.ts', 'demo/extension/src/callback.ts'],
  bundle: true,
  format: 'esm',
  outdir: 'demo/extension/dist',
  logLevel: 'warning',
});
const localClient = JSON.stringify({ accountsUrl: ZOHO_URL, clientId: BROWSER_CLIENT_ID, clientSecret: vars.DEMO_BROWSER_CLIENT_SECRET });
writeFileSync('demo/public/local-config.json', localClient);
writeFileSync('demo/extension/dist/config.json', localClient);
console.log(`local Zoho (accounts and CRM): US data center on ${server.url}, EU on ${euServer.url}`);

const wrangler = spawn(
  'wrangler',
  [
    'dev',
    ...['--ip', '127.0.0.1', '--port', String(WORKER_PORT), '--persist-to', `${STATE_DIR}/state`],
    ...['--var', `ZOHO_CLIENT_ID:${CLIENT_ID}`, '--var', 'ZOHO_DATA_CENTER:us,eu', '--var', `ZOHO_LOCAL_DATA_CENTERS:${JSON.stringify(DATA_CENTERS)}`],
    // workerd cannot place objects in a jurisdiction; a deployment does (README, residency).
    ...['--var', 'OBJECT_PLACEMENT:off'],
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
/**
 * State from before the per-user layout (every user in one `tokens` object) moves into
 * per-user objects on the first start after the upgrade; later starts find nothing to move.
 */
async function upgradeLocalState(): Promise<void> {
  const response = await fetch(`http://127.0.0.1:${WORKER_PORT}/admin/upgrade`, { method: 'POST', headers: { authorization: `Bearer ${ADMIN_KEY}` } });
  if (!response.ok) throw new Error(`the upgrade of local state answered HTTP ${response.status}`);
  const { tokensMoved, sessionsMoved } = (await response.json()) as { tokensMoved: number; sessionsMoved: number };
  if (tokensMoved > 0) console.log(`moved ${tokensMoved} tokens and ${sessionsMoved} sessions from the single-object layout into per-user objects`);
}

wrangler.stdout.on('data', async (chunk: Buffer) => {
  process.stdout.write(chunk);
  if (chunk.toString().includes('Ready on')) {
    await upgradeLocalState().catch((error: Error) => console.error(`edge-token-store: local state from before the per-user layout was not moved: ${error.message}`));
    console.log(
      [
        '',
        `  edge-token-store is running.`,
        `    demo page:   http://127.0.0.1:${WORKER_PORT}/  (log in at the local Zoho with one click)`,
        `    local Zoho:  ${ZOHO_URL} (US, and the sign-in), ${ZOHO_EU_URL} (EU)  (stand-ins; nothing calls the real Zoho)`,
        `    state:       ${STATE_DIR}/  (a restart keeps you logged in)`,
        `    admin key:   .admin-key  (Authorization: Bearer <key> for /admin/*: objects, keys, reseal, erase)`,
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
