// The proxy comparison in workerd without `wrangler dev` in front: this repository's Worker
// (worker/index.ts, bundled with esbuild for workerd as wrangler does, less its keep-names
// helper; wrangler.toml's bindings) and the bare proxy (bare-proxy.ts), each in a Miniflare of
// its own, from Node, against one local Zoho.
// Ours logs a user in through its own routes; the bare proxy gets that user's access token.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { convertV4MiniflareOptions, Miniflare } from 'miniflare';
import { unstable_getMiniflareWorkerOptions } from 'wrangler';
import { serveLocalZoho } from 'edge-token-store/testing/node';
import { bundleFor } from './bundles.ts';
import { cpuMsOf, processesUnder } from './cpu.ts';
import { directToken, workerSession } from './local-app.ts';
import { latencyStat, type Stat } from './measure.ts';
import { atFiftyTakingTurns, type Throughput } from './proxy.ts';

const OURS_PORT = 48787;
const BARE_PORT = 48790;
const ZOHO_PORT = 48788;
const APP = `http://127.0.0.1:${OURS_PORT}`;
const CLIENT_ID = '1000.MINIFLAREBENCH';

export interface MiniflareComparison {
  ours: Stat;
  bare: Stat;
  atFifty: { ours: Throughput[]; bare: Throughput[] };
  cpuPerCall: { ours: number; bare: number };
}

export async function miniflareProxyComparison(iterations: number): Promise<MiniflareComparison> {
  mkdirSync('bench-results/.build', { recursive: true });
  const secret = () => randomBytes(32).toString('base64url');
  const clientSecret = secret();
  const zoho = await serveLocalZoho({
    port: ZOHO_PORT,
    clients: [
      { clientId: CLIENT_ID, clientSecret, redirectUris: [`${APP}/auth/callback`] },
      // directToken's in-browser client, for the bare proxy's token.
      { clientId: '1000.LOCALBROWSER', type: 'client', redirectUris: [`${APP}/?mode=browser`], jsDomains: [APP] },
    ],
  });
  const stops: (() => Promise<void>)[] = [() => zoho.close()];
  try {
    const workerd = () => new Set(processesUnder(process.pid, 'workerd'));
    const before = workerd();
    // wrangler.toml's bindings and Durable Objects, with this run's own secrets and settings (not .dev.vars).
    const { workerOptions } = unstable_getMiniflareWorkerOptions('wrangler.toml');
    const { compatibilityDate, compatibilityFlags, bindings, durableObjects, kvNamespaces, d1Databases, ratelimits } = workerOptions as Record<string, unknown>;
    const options = { compatibilityDate, compatibilityFlags, durableObjects, kvNamespaces, d1Databases, ratelimits };
    // wrangler's shape for one worker is Miniflare 4's; convertV4MiniflareOptions takes it.
    const ours = new Miniflare(
      convertV4MiniflareOptions({
        ...options,
        cf: false,
        host: '127.0.0.1',
        port: OURS_PORT,
        // The Worker's log lines reach this process, as a log collector would read them, and are not printed into the report.
        handleStructuredLogs: () => {},
        name: 'ours',
        modules: true,
        scriptPath: await bundleFor('worker/index.ts', 'bench-results/.build/worker.js', 'neutral'),
        bindings: {
          ...(bindings as Record<string, unknown>),
          ZOHO_CLIENT_ID: CLIENT_ID,
          ZOHO_CLIENT_SECRET: clientSecret,
          ZOHO_DATA_CENTER: 'us',
          ZOHO_LOCAL_DATA_CENTERS: JSON.stringify({ us: zoho.url }),
          OBJECT_PLACEMENT: 'off',
          SESSION_SECRET: secret(),
          USER_OBJECT_SECRET: secret(),
          TOKEN_STORE_KEYS: JSON.stringify({ k1: secret() }),
          TOKEN_STORE_CURRENT_KEY: 'k1',
        },
      } as never),
    );
    await ours.ready;
    stops.push(() => ours.dispose());
    const oursPids = [...workerd()].filter((pid) => !before.has(pid));
    const cookie = await workerSession(APP, zoho.url, 'ana@example.com');
    const accessToken = await directToken(APP, zoho.url, 'ana@example.com');
    // One Lead, so each call answers 200 with a record, as in the wrangler dev series.
    zoho.zoho.addRecords('ana@example.com', 'Leads', [{ Last_Name: 'Lovelace', Company: 'Analytical Engines' }]);

    const beforeBare = workerd();
    const bare = new Miniflare(
      convertV4MiniflareOptions({
        cf: false,
        host: '127.0.0.1',
        port: BARE_PORT,
        modules: true,
        scriptPath: await bundleFor('scripts/bench/bare-proxy.ts', 'bench-results/.build/bare-proxy.js', 'neutral'),
        compatibilityDate: '2026-11-01',
        bindings: { ZOHO: zoho.url, TOKEN: accessToken },
      }),
    );
    await bare.ready;
    stops.push(() => bare.dispose());
    const barePids = [...workerd()].filter((pid) => !beforeBare.has(pid));

    const viaOurs = () => fetch(`${APP}/crm/v8/Leads?fields=Last_Name`, { headers: { cookie } });
    const viaBare = () => fetch(`http://127.0.0.1:${BARE_PORT}/crm/v8/Leads?fields=Last_Name`);
    const sides = [
      ['ours', viaOurs, oursPids],
      ['bare', viaBare, barePids],
    ] as const;
    const samples = { ours: [] as number[], bare: [] as number[] };
    const cpu = { ours: 0, bare: 0 };
    // Taking turns after a warm-up; CPU over the same calls, per side.
    for (let i = -20; i < iterations; i++) {
      for (const [side, call, pids] of sides) {
        const cpuBefore = cpuMsOf([...pids]);
        const begin = performance.now();
        const response = await call();
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`${side} under Miniflare: HTTP ${response.status}`);
        if (i >= 0) (samples[side].push(performance.now() - begin), (cpu[side] += cpuMsOf([...pids]) - cpuBefore));
      }
    }
    const atFifty = await atFiftyTakingTurns(viaOurs, viaBare, Math.max(300, iterations * 3));
    return {
      ours: latencyStat(samples.ours),
      bare: latencyStat(samples.bare),
      atFifty,
      cpuPerCall: { ours: cpu.ours / iterations, bare: cpu.bare / iterations },
    };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}
