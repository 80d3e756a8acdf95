// Refresh storms through the official Zoho SDK's own flow, against a local Zoho over HTTP:
// N concurrent SDK record calls with one expired token. The peer is the SDK with its own
// FileStore (no coordination); beside it, the SDK with edge-token-store/zoho-sdk and a
// token manager. The SDK keeps one global initializer, so storms run one after another.
//
// Each mode's first storm in a process pays one-time start-up costs that have nothing to do with
// the store: with the adapter, the manager's refresh is the process's first `fetch` (Node loads
// undici and compiles its HTTP parser then, ~20 ms), while the SDK's own HTTP client warmed up in
// the untimed first record call. So `sdkStorms` runs each mode once untimed, then alternates the
// modes and reports the median time (and the worst counts) over several storms.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveLocalZoho } from 'edge-token-store/testing/node';
import { getLeads, grantToken, initializeSdk, ZohoSdk as Zoho } from '../../test/shared/official-sdk.ts';
import { DEFAULT_CLIENT } from 'edge-token-store/testing';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { createZohoSdkStore } from '../../src/zoho/sdk-store.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';

const REDIRECT = DEFAULT_CLIENT.redirectUris[0]!;

export type SdkStormMode = 'zoho-sdk + its FileStore' | 'zoho-sdk + edge-token-store/zoho-sdk + manager';

export const SDK_STORM_MODES: readonly SdkStormMode[] = ['zoho-sdk + its FileStore', 'zoho-sdk + edge-token-store/zoho-sdk + manager'];

export interface StormResult {
  ms: number;
  zohoCalls: number;
  gotToken: number;
}

/** Both modes' first storm in this process (1 caller), untimed in the tables: start-up costs. */
export async function warmUpSdkStorms(): Promise<Record<SdkStormMode, number>> {
  const first = {} as Record<SdkStormMode, number>;
  for (const mode of SDK_STORM_MODES) first[mode] = (await sdkStorm(1, mode)).ms;
  return first;
}

/** `repeats` storms of `n` callers per mode, modes taking turns: median ms, most Zoho calls, fewest served. */
export async function sdkStorms(n: number, repeats: number): Promise<Record<SdkStormMode, StormResult>> {
  const runs = new Map<SdkStormMode, StormResult[]>(SDK_STORM_MODES.map((mode) => [mode, []]));
  for (let i = 0; i < repeats; i++) {
    const order = i % 2 === 0 ? SDK_STORM_MODES : [...SDK_STORM_MODES].reverse();
    for (const mode of order) runs.get(mode)!.push(await sdkStorm(n, mode));
  }
  const summary = {} as Record<SdkStormMode, StormResult>;
  for (const [mode, results] of runs) {
    const ms = results.map((r) => r.ms).sort((a, b) => a - b);
    summary[mode] = {
      ms: ms[Math.floor(ms.length / 2)]!,
      zohoCalls: Math.max(...results.map((r) => r.zohoCalls)),
      gotToken: Math.min(...results.map((r) => r.gotToken)),
    };
  }
  return summary;
}

export async function sdkStorm(n: number, mode: SdkStormMode): Promise<StormResult> {
  const served = await serveLocalZoho({ grantsPerWindow: 1000, refreshTokensPerWindow: 1000 });
  try {
    const dir = mkdtempSync(join(tmpdir(), 'ets-bench-sdk-'));
    const memory = createMemoryStore();
    const oauth = zohoOAuth({ accountsUrl: served.url, ...DEFAULT_CLIENT, redirectUrl: REDIRECT });
    const store =
      mode === 'zoho-sdk + its FileStore'
        ? new Zoho.FileStore(join(dir, 'tokens.csv'))
        : createZohoSdkStore({ sdk: Zoho, store: memory, manager: createTokenManager({ store: memory, oauth, lock: null }) });
    const token = await initializeSdk(served.url, grantToken(served.zoho, 'ana@example.com', REDIRECT), store, dir);
    const call = async () => {
      const response = await getLeads();
      if (response.getStatusCode() >= 400) throw new Error(`HTTP ${response.getStatusCode()}`);
    };
    await call(); // the SDK reads field metadata on its first record call: keep that out of the storm

    // Expire the token: at Zoho (an hour later) and in the store (expiry in the past).
    served.zoho.advance(3_600_000);
    if (mode === 'zoho-sdk + its FileStore') {
      token.setExpiresIn(String(Date.now() - 1_000));
      await (store as InstanceType<typeof Zoho.FileStore>).saveToken(token);
    } else {
      await memory.saveToken({ id: token.getId()!, expiryTime: Date.now() - 1_000 });
    }
    const before = served.zoho.countsFor(DEFAULT_CLIENT.clientId).refreshes;
    const begin = performance.now();
    const outcomes = await Promise.allSettled(Array.from({ length: n }, call));
    return {
      ms: performance.now() - begin,
      zohoCalls: served.zoho.countsFor(DEFAULT_CLIENT.clientId).refreshes - before,
      gotToken: outcomes.filter((o) => o.status === 'fulfilled').length,
    };
  } finally {
    await served.close();
  }
}
