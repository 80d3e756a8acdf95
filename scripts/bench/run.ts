// `npm run bench [-- --quick]`: every backend and its peers, measured in one run, reported as
// a table and as JSON in bench-results/ (not committed). See docs/benchmarks.md.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { cpus, tmpdir, totalmem, type as osType, release } from 'node:os';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { chromium } from 'playwright-core';
import { DEFAULT_CLIENT, LocalZoho } from 'edge-token-store/testing';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createSqlStore } from '../../src/backends/sql.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import { BENCH_CIPHER, cipherOps, seed, storeOps, time, type Stats } from './measure.ts';
import { unstorageDb0, zohoFileStore } from './node-peers.ts';
import { bundleFor, bundleSizes } from './bundles.ts';
import { ensureChromium } from '../chromium.ts';
import { multiTenantLoad, naturalExpiryLoad } from './multi-tenant.ts';
import { proxyOverhead } from './proxy.ts';
import { miniflareProxyComparison } from './miniflare-proxy.ts';
import { sdkStorms, warmUpSdkStorms } from './sdk-storm.ts';

const quick = process.argv.includes('--quick');
const SIZES = quick ? [10, 1000] : [10, 1000, 10_000];
const ITERATIONS = quick ? 30 : 100;
const STORMS = [1, 10, 100];
/** Storms through the SDK per mode and size (median reported): a single caller's few ms vary most. */
const SDK_STORM_REPEATS: Record<number, number> = quick ? { 1: 9, 10: 3, 100: 1 } : { 1: 15, 10: 5, 100: 3 };
/** Peers that scan every record get fewer iterations at large sizes, so the run stays bounded. */
const peerIterations = (n: number) => (n >= 10_000 ? 5 : n >= 1000 ? Math.min(ITERATIONS, 20) : ITERATIONS);
const started = Date.now();
const log = (line: string) => console.log(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}`);

type Runs = Record<string, Record<number, Stats>>;
const results: {
  lookups: Runs;
  cipher: Record<string, Stats>;
  storms: Record<string, Record<number, unknown>>;
  sdkFirstStorms?: Record<string, number>;
  proxy?: Awaited<ReturnType<typeof proxyOverhead>>;
  proxyMiniflare?: Awaited<ReturnType<typeof miniflareProxyComparison>>;
  multiTenant?: Awaited<ReturnType<typeof multiTenantLoad>>;
  naturalExpiry?: Awaited<ReturnType<typeof naturalExpiryLoad>>;
  naturalExpiryControl?: Awaited<ReturnType<typeof naturalExpiryLoad>>;
  bundles?: Awaited<ReturnType<typeof bundleSizes>>;
} = {
  lookups: {},
  cipher: {},
  storms: {},
};

// --- Node: the memory store, the SQL store on a SQLite file, and the Zoho SDK's FileStore ---
const { DatabaseSync } = await import('node:sqlite');
for (const n of SIZES) {
  log(`node: memory, ${n} tokens`);
  const store = createMemoryStore();
  (results.lookups['memory (node)'] ??= {})[n] = await time(storeOps(store, await seed(store, n)), ITERATIONS);
  log(`node: sql over a node:sqlite file, ${n} tokens`);
  const file = join(mkdtempSync(join(tmpdir(), 'ets-bench-sql-')), 'tokens.db');
  const sql = createSqlStore({ db: new DatabaseSync(file), cipher: BENCH_CIPHER() });
  (results.lookups['sql sqlite file (node)'] ??= {})[n] = await time(storeOps(sql, await seed(sql, n)), ITERATIONS);
  log(`node: Zoho SDK FileStore, ${n} tokens`);
  (results.lookups['zoho-sdk FileStore (node)'] ??= {})[n] = await zohoFileStore(n, peerIterations(n));
  log(`node: unstorage db0 over a node:sqlite file, ${n} tokens`);
  (results.lookups['unstorage db0 sqlite file (node)'] ??= {})[n] = await unstorageDb0(n, peerIterations(n));
}
results.cipher.node = await time(await cipherOps((sealed) => createMemoryStore(sealed ? { cipher: BENCH_CIPHER() } : {})), ITERATIONS * 5);

// --- Refresh storms in Node: our manager; the Zoho SDK's own flow, with its store and ours ---
log('node: first storm through the official SDK per mode (start-up costs; not in the table)');
const sdkFirstStorms = (results.sdkFirstStorms = await warmUpSdkStorms());
for (const n of STORMS) {
  const zoho = new LocalZoho({ grantsPerWindow: 1000 });
  const zohoFetch: typeof fetch = (input, init) => zoho.fetch(new Request(input, init));
  const oauth = zohoOAuth({
    accountsUrl: 'http://zoho.local',
    clientId: '1000.LOCALCLIENT',
    clientSecret: 'local-client-secret',
    redirectUrl: DEFAULT_CLIENT.redirectUris[0],
    fetch: zohoFetch,
  });
  const store = createMemoryStore();
  const manager = createTokenManager({ store, oauth, lock: null });
  const saved = await manager.exchangeGrant(
    zoho.issueGrant({ clientId: '1000.LOCALCLIENT', email: 'ana@example.com', redirectUri: DEFAULT_CLIENT.redirectUris[0]! })!,
  );
  await store.saveToken({ id: saved.id, expiryTime: Date.now() - 1 });
  const begin = performance.now();
  const outcomes = await Promise.allSettled(Array.from({ length: n }, () => manager.getAccessToken({ id: saved.id })));
  (results.storms['token manager (node, in process)'] ??= {})[n] = {
    ms: performance.now() - begin,
    zohoCalls: zoho.usageOf(saved.refreshToken!).refreshes,
    gotToken: outcomes.filter((o) => o.status === 'fulfilled').length,
  };
  log(`node: storms of ${n} through the official SDK, its FileStore and our adapter taking turns`);
  for (const [mode, result] of Object.entries(await sdkStorms(n, SDK_STORM_REPEATS[n] ?? 1))) {
    (results.storms[`${mode} (node, HTTP)`] ??= {})[n] = result;
  }
}
log('node: storms done');

// --- workerd: KV, Durable Object, unstorage KV, cipher, and storms through the DO -----------
mkdirSync('bench-results/.build', { recursive: true });
await bundleFor('scripts/bench/workerd.ts', 'bench-results/.build/workerd.js', 'neutral');
await bundleFor('scripts/bench/browser.ts', 'bench-results/.build/browser.js', 'browser');

const zohoForWorkerd = new LocalZoho({
  clients: [{ clientId: '1000.BENCH', clientSecret: 'bench-secret', redirectUris: ['https://bench.example/callback'] }],
  grantsPerWindow: 1000,
  refreshTokensPerWindow: 1000,
});
// Miniflare 5 takes a new options shape; the v4 shape, converted, reads more plainly here.
const mf = new Miniflare(
  convertV4MiniflareOptions({
    cf: false,
    modules: true,
    scriptPath: 'bench-results/.build/workerd.js',
    compatibilityDate: '2026-11-01',
    kvNamespaces: ['KV'],
    d1Databases: ['D1'],
    durableObjects: { TOKEN_STORE_OBJECTS: { className: 'BenchTokenStoreObject', useSQLite: true } },
    bindings: {
      TOKEN_STORE_KEYS: JSON.stringify({ k1: 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8' }),
      TOKEN_STORE_CURRENT_KEY: 'k1',
      ZOHO_CLIENT_ID: '1000.BENCH',
      ZOHO_CLIENT_SECRET: 'bench-secret',
      ZOHO_ACCOUNTS_URL: 'http://zoho.local',
    },
    outboundService: (request) => zohoForWorkerd.fetch(request as unknown as Request) as never,
  }),
);
const inWorkerd = async (scenario: string, n: number, iterations: number) => {
  const response = await mf.dispatchFetch('http://bench/run', { method: 'POST', body: JSON.stringify({ scenario, n, iterations }) });
  const body = (await response.json()) as Stats & { error?: string };
  if (body.error) throw new Error(`workerd ${scenario}: ${body.error}`);
  return body;
};
for (const n of SIZES) {
  for (const [name, scenario, iterations] of [
    ['kv (workerd)', 'kv', ITERATIONS],
    ['durable-object (workerd)', 'durable-object', ITERATIONS],
    ['sql d1 (workerd)', 'd1', ITERATIONS],
    ['unstorage kv (workerd)', 'unstorage-kv', peerIterations(n)],
  ] as const) {
    log(`workerd: ${scenario}, ${n} tokens`);
    (results.lookups[name] ??= {})[n] = await inWorkerd(scenario, n, iterations);
  }
}
// workerd's clock stands still during CPU work: time batches from here, minus an empty request.
const timedRequest = async (scenario: string, count: number) => {
  const begin = performance.now();
  await inWorkerd(scenario, 0, count);
  return performance.now() - begin;
};
results.cipher.workerd = {};
for (const op of ['seal one record', 'open one record', 'findToken, plain', 'findToken, sealed']) {
  const samples: number[] = [];
  for (let i = 0; i < 15; i++) {
    const empty = await timedRequest(`cipher:${op}`, 0);
    // Differences below the request-to-request noise come out at or under zero: report 0.
    samples.push(Math.max(0, ((await timedRequest(`cipher:${op}`, 500)) - empty) / 500));
  }
  samples.sort((a, b) => a - b);
  results.cipher.workerd[op] = { median: samples[7]!, p99: samples[14]! };
}
for (const n of STORMS) (results.storms['token manager via Durable Object (workerd)'] ??= {})[n] = await inWorkerd('storm', n, 0);
await mf.dispose();
log('workerd done');

// --- Chromium: IndexedDB, unstorage IndexedDB, cipher ----------------------------------------
const page = `<!doctype html><meta charset="utf-8"><script type="module" src="/bench.js"></script>`;
const server = createServer((req, res) => {
  if (req.url === '/bench.js') {
    res.writeHead(200, { 'content-type': 'text/javascript' });
    res.end(execFileSync('cat', ['bench-results/.build/browser.js']));
  } else {
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(page);
  }
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const browser = await chromium.launch({
  executablePath: ensureChromium(),
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const tab = await browser.newPage();
await tab.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
await tab.waitForFunction(() => 'runBench' in globalThis);
const inChromium = (scenario: string, n: number, iterations: number) =>
  tab.evaluate((args) => (globalThis as unknown as { runBench(a: unknown): Promise<Stats> }).runBench(args), { scenario, n, iterations });
for (const n of SIZES) {
  log(`chromium: indexeddb, ${n} tokens`);
  (results.lookups['indexeddb (chromium)'] ??= {})[n] = await inChromium('indexeddb', n, ITERATIONS);
  log(`chromium: unstorage indexeddb, ${n} tokens`);
  (results.lookups['unstorage indexeddb (chromium)'] ??= {})[n] = await inChromium('unstorage-indexeddb', n, peerIterations(n));
}
results.cipher.chromium = await inChromium('cipher', 0, ITERATIONS * 5);
const chromiumVersion = browser.version();
await browser.close();
server.closeAllConnections();
server.close();

// --- Proxy overhead under wrangler dev ------------------------------------------------------
log('wrangler dev: proxy overhead');
results.proxy = await proxyOverhead(quick ? 100 : 300);
log('Miniflare from Node: ours and the bare proxy in workerd, without wrangler dev in front');
results.proxyMiniflare = await miniflareProxyComparison(quick ? 100 : 300);
log('multi-tenant load: 200 users in 20 orgs (half in the EU data center), 2,000 proxied calls at concurrency 50, tokens killed halfway');
results.multiTenant = await multiTenantLoad({ users: 200, orgs: 20, calls: 2000, concurrency: 50 });
// Natural expiry waits for real tokens to pass their refresh points (minutes, twice): the full run only.
if (!quick) {
  log('natural expiry: 200 users keep calling at concurrency 50 while each token passes its refresh point');
  results.naturalExpiry = await naturalExpiryLoad({ users: 200, orgs: 20, concurrency: 50 });
  log('natural expiry, control: the same calls and windows with tokens that outlive the run');
  results.naturalExpiryControl = await naturalExpiryLoad({ users: 200, orgs: 20, concurrency: 50, refreshing: false });
}
log('bundles a user deploys');
results.bundles = await bundleSizes();
log('wrangler dev done');

// --- Report ------------------------------------------------------------------------------------
const ms = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 1 ? v.toFixed(2) : v.toFixed(3));
const pad = (s: string, w: number) => s.padEnd(w);
const ops = Object.keys(results.lookups['memory (node)']![SIZES[0]!]!);
const largest = SIZES[SIZES.length - 1]!;

console.log(`\n1. Lookup cost as the store grows: median ms (p99) [storage ops per call]`);
for (const [backend, bySize] of Object.entries(results.lookups)) {
  console.log(`\n  ${backend}`);
  console.log(`    ${pad('operation', 26)}${SIZES.map((n) => pad(`n=${n}`, 24)).join('')}growth ${SIZES[0]}->${largest}`);
  for (const op of ops) {
    const cells = SIZES.map((n) => {
      const s = bySize[n]?.[op];
      return pad(s ? `${ms(s.median)} (${ms(s.p99)})${s.storageOps !== undefined ? ` [${+s.storageOps.toFixed(1)}]` : ''}` : 'n/a', 24);
    });
    const growth = (bySize[largest]?.[op]?.median ?? NaN) / (bySize[SIZES[0]!]?.[op]?.median ?? NaN);
    console.log(`    ${pad(op, 26)}${cells.join('')}x${growth.toFixed(1)}`);
  }
}

const pairs: [string, string][] = [
  ['memory (node)', 'zoho-sdk FileStore (node)'],
  ['sql sqlite file (node)', 'zoho-sdk FileStore (node)'],
  ['sql sqlite file (node)', 'unstorage db0 sqlite file (node)'],
  ['kv (workerd)', 'unstorage kv (workerd)'],
  ['indexeddb (chromium)', 'unstorage indexeddb (chromium)'],
];
console.log(`\n2. Ours : peer, median time ratio (below 1 means ours is faster)`);
for (const [ours, peer] of pairs) {
  console.log(`\n  ${ours} : ${peer}`);
  for (const op of ops) {
    const cells = SIZES.map((n) => {
      const peerMedian = results.lookups[peer]![n]![op]!.median;
      // workerd's clock only moves at I/O: a peer median of 0 is below resolution, not free.
      const ratio = peerMedian > 0 ? (results.lookups[ours]![n]![op]!.median / peerMedian).toPrecision(2) : 'peer < resolution';
      return pad(`n=${n}: ${ratio}`, 18);
    });
    console.log(`    ${pad(op, 26)}${cells.join('')}`);
  }
}

console.log(`\n3. Encryption cost: median ms, and sealed : plain findToken`);
for (const [runtime, stats] of Object.entries(results.cipher)) {
  const ratio = stats['findToken, sealed']!.median / stats['findToken, plain']!.median;
  console.log(
    `  ${pad(runtime, 10)} seal ${ms(stats['seal one record']!.median)}  open ${ms(stats['open one record']!.median)}  findToken plain ${ms(stats['findToken, plain']!.median)}  sealed ${ms(stats['findToken, sealed']!.median)}  ratio x${ratio.toFixed(1)}`,
  );
}

console.log(`\n4. Refresh storms: callers with one expired token -> calls reaching Zoho, callers served, ms until all answered`);
for (const [mode, byN] of Object.entries(results.storms)) {
  const cells = STORMS.map((n) => {
    const r = byN[n] as { ms: number; zohoCalls: number; gotToken: number };
    return pad(`N=${n}: ${r.zohoCalls} calls, ${r.gotToken}/${n} served, ${ms(r.ms)} ms`, 40);
  });
  console.log(`  ${pad(mode, 62)}${cells.join('')}`);
}
console.log(`  (through the SDK: median of several storms per size, modes taking turns; each mode's first storm in`);
console.log(
  `  this process, untimed above: ${Object.entries(sdkFirstStorms)
    .map(([mode, t]) => `${mode} ${ms(t)} ms`)
    .join(', ')})`,
);

console.log(`\n5. Proxy overhead under wrangler dev: GET /crm/v8/Leads, median ms (p99)`);
for (const [series, stat] of Object.entries(results.proxy!)) {
  if (typeof stat === 'object' && 'median' in stat) console.log(`  ${pad(series, 40)}${ms(stat.median)} (${ms(stat.p99)})`);
}
console.log(`  through the Worker : direct            x${results.proxy!.ratio.toFixed(1)}`);
const bareOne = results.proxy!['a bare proxy Worker (fixed token)'];
const oursOne = results.proxy!['through the Worker'];
console.log(
  `  ours : bare, one at a time            p50 x${(oursOne.median / bareOne.median).toFixed(2)} (+${ms(oursOne.median - bareOne.median)} ms), p99 x${(oursOne.p99 / bareOne.p99).toFixed(2)}`,
);
const fifty = results.proxy!.atFifty;
console.log(
  `  at concurrency 50, rounds (ours | bare): ${fifty.ours.map((o, i) => `${o.perSecond.toFixed(0)}/s p50 ${ms(o.median)} | ${fifty.bare[i]!.perSecond.toFixed(0)}/s p50 ${ms(fifty.bare[i]!.median)}`).join('; ')}`,
);
const sum = (xs: { perSecond: number }[]) => xs.reduce((n, x) => n + x.perSecond, 0);
console.log(`  ours : bare throughput at 50           x${(sum(fifty.ours) / sum(fifty.bare)).toFixed(2)}`);
const cpu = results.proxy!.cpuPerCall;
console.log(`  workerd CPU ms per call, one at a time  ours ${ms(cpu.ours)}, bare ${ms(cpu.bare)}: x${(cpu.ours / cpu.bare).toFixed(2)}`);
console.log(
  `  object calls per call                   /crm/* ${results.proxy!.objectCallsPerCall.crm.toFixed(2)}, an app route ${results.proxy!.objectCallsPerCall.appRoute.toFixed(2)}, an MCP tool call ${results.proxy!.objectCallsPerCall.mcpTool.toFixed(2)}`,
);

const pm = results.proxyMiniflare!;
console.log(`\n5b. The same comparison in workerd without wrangler dev (Miniflare from Node): GET /crm/v8/Leads`);
console.log(
  `  one at a time, median ms (p99)          ours ${ms(pm.ours.median)} (${ms(pm.ours.p99)}), bare ${ms(pm.bare.median)} (${ms(pm.bare.p99)}): p50 x${(pm.ours.median / pm.bare.median).toFixed(2)} (+${ms(pm.ours.median - pm.bare.median)} ms)`,
);
console.log(
  `  at concurrency 50, rounds (ours | bare): ${pm.atFifty.ours.map((o, i) => `${o.perSecond.toFixed(0)}/s p50 ${ms(o.median)} | ${pm.atFifty.bare[i]!.perSecond.toFixed(0)}/s p50 ${ms(pm.atFifty.bare[i]!.median)}`).join('; ')}`,
);
console.log(`  ours : bare throughput at 50           x${(sum(pm.atFifty.ours) / sum(pm.atFifty.bare)).toFixed(2)}`);
console.log(
  `  workerd CPU ms per call, one at a time  ours ${ms(pm.cpuPerCall.ours)}, bare ${ms(pm.cpuPerCall.bare)}: x${(pm.cpuPerCall.ours / pm.cpuPerCall.bare).toFixed(2)}`,
);

const mt = results.multiTenant!;
console.log(
  `\n6. Multi-tenant load under wrangler dev: ${mt.users} users in ${mt.orgs} orgs, ${mt.calls} proxied GET /crm/v8/Leads at concurrency ${mt.concurrency}, every access token killed at Zoho halfway`,
);
console.log(`  errors                                  ${mt.errors}`);
console.log(
  `  refreshes at Zoho                       ${mt.refreshes} (users called after the kill: ${mt.usersCalledAfterKill}); at the US server ${mt.refreshesByDataCenter.us}, the EU one ${mt.refreshesByDataCenter.eu}`,
);
console.log(
  `  object calls per proxied call           ${mt.objectCallsPerCall.beforeKill.toFixed(2)} before the kill, ${mt.objectCallsPerCall.afterKill.toFixed(2)} after (the extra: one retry per refreshed user)`,
);
console.log(`  objects holding tokens                  ${mt.objectsHoldingTokens} (users: ${mt.users})`);
console.log(`  proxied, median ms (p99)                ${ms(mt.proxied.median)} (${ms(mt.proxied.p99)}), ${mt.callsPerSecond.toFixed(0)} calls/s`);
console.log(
  `  direct to Zoho, median ms (p99)         ${ms(mt.direct.median)} (${ms(mt.direct.p99)})   ratio x${(mt.proxied.median / mt.direct.median).toFixed(1)}`,
);

const ne = results.naturalExpiry;
const nc = results.naturalExpiryControl;
if (!ne || !nc) console.log('\n6b. Natural expiry: in the full run only (it waits minutes for tokens to pass their refresh points).');
else {
  console.log(
    `\n6b. Natural expiry under wrangler dev: ${ne.users} users keep calling at concurrency ${ne.concurrency} while each one's token passes its refresh point (${ne.calls} calls)`,
  );
  console.log(`  errors                                  ${ne.errors}${ne.firstError ? ` (first: ${ne.firstError})` : ''}`);
  console.log(`  refreshes at Zoho                       ${ne.refreshes} (users: ${ne.users})`);
  console.log(`  object calls per proxied call           ${ne.objectCallsPerCall.toFixed(2)}`);
  console.log(`  before any refresh point, median (p99)  ${ms(ne.before.median)} (${ms(ne.before.p99)}) ms over ${ne.before.calls} calls`);
  console.log(`  while the alarms refresh, median (p99)  ${ms(ne.during.median)} (${ms(ne.during.p99)}) ms over ${ne.during.calls} calls`);
  console.log(
    `  after every refresh, median (p99)       ${ms(ne.after.median)} (${ms(ne.after.p99)}) ms over ${ne.after.calls} calls; ${ne.callsPerSecond.toFixed(0)} calls/s`,
  );
  const drift = (r: typeof ne) => `p99 after : before x${(r.after.p99 / r.before.p99).toFixed(2)}`;
  console.log(
    `  control (tokens outlive the run)        ${nc.errors} errors, ${nc.refreshes} refreshes; before ${ms(nc.before.median)} (${ms(nc.before.p99)}), after ${ms(nc.after.median)} (${ms(nc.after.p99)}) ms`,
  );
  console.log(`  drift of the p99 over the run           refreshing ${drift(ne)}, control ${drift(nc)}`);
}

const bundles = results.bundles!;
const bare = bundles['Hono app without our routes'];
console.log(`\n7. The bundle a user deploys (esbuild, minified): bytes, gzipped bytes, gzipped : a Hono app without our routes`);
for (const [name, size] of Object.entries(bundles)) {
  console.log(`  ${name.padEnd(38)}  ${String(size.minified).padStart(7)}  ${String(size.gzipped).padStart(6)}  x${(size.gzipped / bare.gzipped).toFixed(1)}`);
}

const machine = {
  os: `${osType()} ${release()}`,
  cpu: `${cpus().length} x ${cpus()[0]?.model ?? 'unknown'}`,
  memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
  node: process.version,
  chromium: chromiumVersion,
  mode: quick ? 'quick' : 'full',
  seconds: Math.round((Date.now() - started) / 1000),
};
console.log(`\nmachine: ${JSON.stringify(machine)}`);
const file = `bench-results/bench-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
writeFileSync(file, JSON.stringify({ machine, ...results }, null, 2));
console.log(`results: ${file}`);
