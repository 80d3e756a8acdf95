// Proxy overhead: one CRM call through the Worker (session cookie -> stored token -> Zoho),
// through an app route of the Worker's own (getZohoSession + session.fetch), and the same call
// made straight to the local Zoho with an access token, all served by `npm start` (wrangler
// dev + local Zoho) on ports of their own, from a fresh state; and an MCP tool call
// (list_records through /mcp, with an MCP client's access token). Then the calls the user's
// object received per call, for /crm/*, the app route and the tool call.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnStart } from '../spawn-start.ts';
import { connectedClient, MemoryAuth } from '../../test/shared/mcp-client.ts';
import { localZohoAdmin } from '../../test/shared/local-zoho-admin.ts';
import { adminHeaders, directToken, workerSession } from './local-app.ts';
import { serveBareProxy } from './bare-proxy-run.ts';
import { cpuMsOf, processesUnder } from './cpu.ts';
import { latencyStat, type Stat } from './measure.ts';

const PORT = 28787;
const ZOHO_PORT = 28788;
const APP = `http://127.0.0.1:${PORT}`;
const ZOHO = `http://127.0.0.1:${ZOHO_PORT}`;
const BARE_PORT = 28790;

type Series =
  | 'through the Worker'
  | 'an app route (getZohoSession)'
  | 'an MCP tool call (list_records)'
  | 'a bare proxy Worker (fixed token)'
  | 'direct to Zoho'
  | 'Worker /healthz (no store, no Zoho)';

/** Calls per second for `calls` requests made `concurrency` at a time, and their latencies. */
async function atConcurrency(call: () => Promise<Response>, calls: number, concurrency: number): Promise<Throughput> {
  const latencies: number[] = [];
  let next = 0;
  const begin = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next++ < calls) {
        const start = performance.now();
        const response = await call();
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`HTTP ${response.status} at concurrency ${concurrency}`);
        latencies.push(performance.now() - start);
      }
    }),
  );
  const seconds = (performance.now() - begin) / 1000;
  return { perSecond: calls / seconds, ...latencyStat(latencies) };
}

export type Throughput = { perSecond: number } & Stat;

/** Throughput at concurrency 50: three rounds of `calls` each, ours and the bare proxy taking turns. */
export async function atFiftyTakingTurns(
  ours: () => Promise<Response>,
  bare: () => Promise<Response>,
  calls: number,
): Promise<{ ours: Throughput[]; bare: Throughput[] }> {
  const rounds = { ours: [] as Throughput[], bare: [] as Throughput[] };
  for (let round = 0; round < 3; round++) {
    rounds.ours.push(await atConcurrency(ours, calls, 50));
    rounds.bare.push(await atConcurrency(bare, calls, 50));
  }
  return rounds;
}

/** Calls the one logged-in user's object has received (its own counter, through /admin/objects); waits for the directory to list it. */
async function objectCalls(): Promise<number> {
  for (let tries = 0; tries < 100; tries++) {
    const { objects } = (await (await fetch(`${APP}/admin/objects?limit=10`, { headers: adminHeaders() })).json()) as { objects: { calls: number }[] };
    if (objects.length > 0) return objects.reduce((sum, o) => sum + o.calls, 0);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the user object never reached the directory');
}

export async function proxyOverhead(iterations: number): Promise<
  Record<Series, Stat> & {
    ratio: number;
    objectCallsPerCall: { crm: number; appRoute: number; mcpTool: number };
    /** Ours and the bare proxy at concurrency 50, rounds taking turns. */
    atFifty: { ours: Throughput[]; bare: Throughput[] };
    /** workerd CPU milliseconds per call (every workerd of each one's wrangler dev), one at a time, rounds taking turns. */
    cpuPerCall: { ours: number; bare: number };
  }
> {
  const app = await spawnStart({ port: PORT, zohoPort: ZOHO_PORT, stateDir: mkdtempSync(join(tmpdir(), 'ets-bench-')), readyWithinMs: 120_000 });
  const stops: (() => Promise<void>)[] = [() => app.stop()];
  try {
    const cookie = await workerSession(APP, ZOHO, 'ana@example.com');
    const accessToken = await directToken(APP, ZOHO, 'ana@example.com');
    const viaWorker = () => fetch(`${APP}/crm/v8/Leads?fields=Last_Name`, { headers: { cookie } });
    const viaAppRoute = () => fetch(`${APP}/app/leads`, { headers: { cookie } });
    const direct = () => fetch(`${ZOHO}/crm/v8/Leads?fields=Last_Name`, { headers: { authorization: `Zoho-oauthtoken ${accessToken}` } });
    // An MCP client of the same user, authorized through the Zoho login; then its tool calls as plain JSON-RPC posts.
    const admin = localZohoAdmin(ZOHO, app.adminToken);
    const mcpAuth = new MemoryAuth();
    await (
      await connectedClient(
        {
          app: APP,
          fetchApp: (input, init) => fetch(input, init),
          consent: async (url, email) => (await admin<{ location: string }>('consent', { url, email })).location,
        },
        mcpAuth,
        'ana@example.com',
      )
    ).close();
    const toolCall = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'list_records', arguments: { module: 'Leads', fields: 'Last_Name' } },
    });
    const viaMcp = () =>
      fetch(`${APP}/mcp`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${mcpAuth.saved!.access_token}`,
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          'mcp-protocol-version': '2025-06-18',
        },
        body: toolCall,
      });
    // The least a Worker proxy can do, under its own wrangler dev, with the same access token's kind (a browser client's, valid an hour).
    const bare = await serveBareProxy(BARE_PORT, ZOHO, accessToken);
    stops.push(bare.stop);
    const viaBare = () => fetch(`${bare.url}/crm/v8/Leads?fields=Last_Name`);
    // wrangler dev's own cost per request (its proxy in front of workerd), for scale.
    const healthz = () => fetch(`${APP}/healthz`);
    const created = await fetch(`${APP}/crm/v8/Leads`, {
      method: 'POST',
      headers: { cookie, 'content-type': 'application/json', origin: APP },
      body: JSON.stringify({ data: [{ Last_Name: 'Lovelace', Company: 'Analytical Engines' }] }),
    });
    if (created.status !== 201) throw new Error(`creating a Lead through the Worker: HTTP ${created.status}`);
    const series: [Series, () => Promise<Response>][] = [
      ['through the Worker', viaWorker],
      ['an app route (getZohoSession)', viaAppRoute],
      ['an MCP tool call (list_records)', viaMcp],
      ['a bare proxy Worker (fixed token)', viaBare],
      ['direct to Zoho', direct],
      ['Worker /healthz (no store, no Zoho)', healthz],
    ];
    const samples = Object.fromEntries(series.map(([name]) => [name, [] as number[]])) as Record<Series, number[]>;
    // Take turns, after a warm-up, so every series sees the same machine noise.
    for (let i = -20; i < iterations; i++) {
      for (const [name, call] of series) {
        const begin = performance.now();
        const response = await call();
        await response.arrayBuffer();
        if (response.status !== 200) throw new Error(`${name}: HTTP ${response.status}`);
        if (i >= 0) samples[name].push(performance.now() - begin);
      }
    }
    const stats = Object.fromEntries(series.map(([name]) => [name, latencyStat(samples[name])])) as Record<Series, Stat>;
    // Counted apart from the timing: the session check and the token are one object call.
    const perCall = async (call: () => Promise<Response>, n = 50) => {
      const before = await objectCalls();
      for (let i = 0; i < n; i++) await (await call()).arrayBuffer();
      return ((await objectCalls()) - before) / n;
    };
    const objectCallsPerCall = { crm: await perCall(viaWorker), appRoute: await perCall(viaAppRoute), mcpTool: await perCall(viaMcp) };
    const atFifty = await atFiftyTakingTurns(viaWorker, viaBare, Math.max(300, iterations * 3));
    // CPU: every workerd process of each wrangler dev (its proxy in front, and the Worker's own), over runs of calls one at a time.
    const workerdOf = (pid: number) => processesUnder(pid, 'workerd');
    const pids = { ours: workerdOf(app.pid), bare: workerdOf(bare.pid) };
    const cpuMs = { ours: 0, bare: 0 };
    const ROUNDS = 3;
    for (let round = 0; round < ROUNDS; round++) {
      for (const [side, call] of [
        ['ours', viaWorker],
        ['bare', viaBare],
      ] as const) {
        const before = cpuMsOf(pids[side]);
        for (let i = 0; i < iterations * 2; i++) await (await call()).arrayBuffer();
        cpuMs[side] += cpuMsOf(pids[side]) - before;
      }
    }
    const cpuPerCall = { ours: cpuMs.ours / (ROUNDS * iterations * 2), bare: cpuMs.bare / (ROUNDS * iterations * 2) };
    return { ...stats, ratio: stats['through the Worker'].median / stats['direct to Zoho'].median, objectCallsPerCall, atFifty, cpuPerCall };
  } finally {
    for (const stop of stops.reverse()) await stop();
  }
}
