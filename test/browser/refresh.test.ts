import { describe, expect, inject, it } from 'vitest';
import { DEFAULT_CLIENT } from 'edge-token-store/testing';
import { browserCipher, openIndexedDBStore } from '../../src/backends/idb.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import type { RefreshJob } from './refresh-worker.ts';
import { localZohoAdmin } from '../shared/local-zoho-admin.ts';

const REDIRECT = 'https://app.example.com/callback';

const admin = localZohoAdmin(
  () => inject('zohoUrl'),
  () => inject('zohoAdminToken'),
);

/** Starts the worker and waits until it is set up; `go()` then releases its callers. */
async function workerReady(job: RefreshJob): Promise<{ go: () => Promise<string[]> }> {
  const worker = new Worker(new URL('./refresh-worker.ts', import.meta.url), { type: 'module' });
  const messages: ((data: { ready?: boolean; accessTokens?: string[]; error?: string }) => void)[] = [];
  worker.onmessage = (event) => messages.shift()?.(event.data);
  const next = () => new Promise<{ ready?: boolean; accessTokens?: string[]; error?: string }>((resolve) => messages.push(resolve));
  const ready = next();
  worker.postMessage(job);
  const first = await ready;
  if (first.error) throw new Error(first.error);
  return {
    async go() {
      const done = next();
      worker.postMessage('go');
      const result = await done;
      worker.terminate();
      if (result.error) throw new Error(result.error);
      return result.accessTokens!;
    },
  };
}

describe('single-flight refresh across browser contexts (Web Locks)', () => {
  it('the page and a worker, 50 callers each, with one expired token: one refresh at Zoho', async () => {
    const zohoUrl = inject('zohoUrl');
    const dbName = `refresh-${Date.now()}`;
    const keysName = `${dbName}-keys`;
    const store = await openIndexedDBStore({ name: dbName, cipher: await browserCipher(keysName) });
    const oauth = zohoOAuth({ accountsUrl: zohoUrl, ...DEFAULT_CLIENT, redirectUrl: REDIRECT });
    const manager = createTokenManager({ store, oauth });
    const { code } = await admin<{ code: string }>('grant', { client_id: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirect_uri: REDIRECT });
    const saved = await manager.exchangeGrant(code);
    await store.saveToken({ id: saved.id, expiryTime: Date.now() - 1 });

    const worker = await workerReady({ dbName, keysName, zohoUrl, ...DEFAULT_CLIENT, userName: saved.userName!, callers: 50 });
    const fromWorker = worker.go();
    const fromPage = Promise.all(Array.from({ length: 50 }, () => manager.getAccessToken({ userName: saved.userName! })));
    const [workerTokens, pageResults] = await Promise.all([fromWorker, fromPage]);

    const all = new Set([...workerTokens, ...pageResults.map((r) => r.accessToken)]);
    expect(all.size).toBe(1);
    expect(all.has(saved.accessToken!)).toBe(false);
    expect((await admin<{ refreshes: number }>('counts', { refresh_token: saved.refreshToken! })).refreshes).toBe(1);
  });
});
