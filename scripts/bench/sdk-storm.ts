// Refresh storms through the official Zoho SDK's own flow, against a local Zoho over HTTP:
// N concurrent SDK record calls with one expired token. The peer is the SDK with its own
// FileStore (no coordination); beside it, the SDK with edge-token-store/zoho-sdk and a
// token manager. The SDK keeps one global initializer, so storms run one after another.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveLocalZoho } from '../../local-zoho/node.ts';
import { getLeads, grantToken, initializeSdk, ZohoSdk as Zoho } from '../../local-zoho/official-sdk.ts';
import { DEFAULT_CLIENT } from '../../local-zoho/server.ts';
import { createMemoryStore } from '../../src/memory.ts';
import { createTokenManager } from '../../src/token-manager.ts';
import { createZohoSdkStore } from '../../src/zoho-sdk.ts';
import { zohoOAuth } from '../../src/zoho.ts';

const REDIRECT = 'https://bench.local/cb';

export type SdkStormMode = 'zoho-sdk + its FileStore' | 'zoho-sdk + edge-token-store/zoho-sdk + manager';

export async function sdkStorm(n: number, mode: SdkStormMode) {
  const served = await serveLocalZoho({ grantsPerWindow: 1000 });
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
    served.zoho.clockOffset += 3_600_000;
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
