// Proxy overhead: one CRM call through the Worker (session cookie -> stored token -> Zoho)
// against the same call made straight to the local Zoho with an access token, both served
// by `npm start` (wrangler dev + local Zoho) on ports of their own, from a fresh state.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnStart } from '../spawn-start.ts';
import { directToken, workerSession } from './local-app.ts';
import { percentile, type Stat } from './measure.ts';

const PORT = 28787;
const ZOHO_PORT = 28788;
const APP = `http://127.0.0.1:${PORT}`;
const ZOHO = `http://127.0.0.1:${ZOHO_PORT}`;

type Series = 'through the Worker' | 'direct to Zoho' | 'Worker /healthz (no store, no Zoho)';

export async function proxyOverhead(iterations: number): Promise<Record<Series, Stat> & { ratio: number }> {
  const app = await spawnStart({ port: PORT, zohoPort: ZOHO_PORT, stateDir: mkdtempSync(join(tmpdir(), 'ets-bench-')), readyWithinMs: 120_000 });
  try {
    const cookie = await workerSession(APP, ZOHO, 'ana@example.com');
    const accessToken = await directToken(APP, ZOHO, 'ana@example.com');
    const viaWorker = () => fetch(`${APP}/crm/v8/Leads?fields=Last_Name`, { headers: { cookie } });
    const direct = () => fetch(`${ZOHO}/crm/v8/Leads?fields=Last_Name`, { headers: { authorization: `Zoho-oauthtoken ${accessToken}` } });
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
    const stat = (values: number[]): Stat => {
      const sorted = values.sort((a, b) => a - b);
      return { median: percentile(sorted, 0.5), p99: percentile(sorted, 0.99) };
    };
    const stats = Object.fromEntries(series.map(([name]) => [name, stat(samples[name])])) as Record<Series, Stat>;
    return { ...stats, ratio: stats['through the Worker'].median / stats['direct to Zoho'].median };
  } finally {
    await app.stop();
  }
}
