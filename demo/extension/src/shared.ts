// What the service worker, the popup and the callback page share: one IndexedDB store
// (same extension origin), keys from browserCipher(), and a token manager each. Web Locks,
// which the manager takes by default, make their refreshes single-flight across contexts.
import { browserCipher, openIndexedDBStore } from '../../../src/idb.ts';
import { createTokenManager, type TokenManager } from '../../../src/token-manager.ts';
import type { TokenStore } from '../../../src/types.ts';
import { zohoOAuth, type ZohoOAuth } from '../../../src/zoho.ts';

export interface ExtensionConfig {
  accountsUrl: string;
  clientId: string;
  clientSecret: string;
}

export const SCOPE = 'ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ';

export async function open(): Promise<{ store: TokenStore; manager: TokenManager; oauth: ZohoOAuth }> {
  const config = (await (await fetch(chrome.runtime.getURL('dist/config.json'))).json()) as ExtensionConfig;
  const oauth = zohoOAuth({ ...config, redirectUrl: chrome.runtime.getURL('callback.html') });
  const store = await openIndexedDBStore({ name: 'zoho-tokens', cipher: await browserCipher('zoho-token-keys') });
  const manager = createTokenManager({ store, oauth });
  // On open: a token nobody used for 90 days is revoked at Zoho and deleted (best effort offline).
  await manager.purgeIdle({ idleMs: 90 * 86_400_000 }).catch(() => undefined);
  return { store, oauth, manager };
}

export interface LeadsAnswer {
  user?: string;
  leads?: string[];
  error?: string;
}
