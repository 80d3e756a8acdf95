// A second browsing context (a dedicated worker) that refreshes through its own token
// manager over the shared IndexedDB store. Only Web Locks coordinate it with the page.
import { browserCipher, openIndexedDBStore } from '../../src/backends/idb.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';

export interface RefreshJob {
  dbName: string;
  keysName: string;
  zohoUrl: string;
  clientId: string;
  clientSecret: string;
  userName: string;
  callers: number;
}

// Two messages: the job (set up, then answer "ready"), then "go" (start all callers at once),
// so the page and this worker really race.
self.onmessage = async (event: MessageEvent<RefreshJob>) => {
  const job = event.data;
  try {
    const store = await openIndexedDBStore({ name: job.dbName, cipher: await browserCipher(job.keysName) });
    const oauth = zohoOAuth({ accountsUrl: job.zohoUrl, clientId: job.clientId, clientSecret: job.clientSecret });
    const manager = createTokenManager({ store, oauth });
    const go = new Promise((resolve) => (self.onmessage = resolve));
    self.postMessage({ ready: true });
    await go;
    const results = await Promise.all(Array.from({ length: job.callers }, () => manager.getAccessToken({ userName: job.userName })));
    self.postMessage({ accessTokens: results.map((r) => r.accessToken) });
  } catch (error) {
    self.postMessage({ error: String(error) });
  }
};
