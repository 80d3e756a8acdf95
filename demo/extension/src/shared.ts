// What the service worker and the popup share: one IndexedDB store (same extension origin),
// keys from browserCipher(), and a token manager each. Web Locks, which the manager takes by
// default, make their refreshes single-flight across contexts.
//
// The extension is a Zoho mobile/desktop client: the code flow with PKCE through
// chrome.identity.launchWebAuthFlow, redirected to https://<extension id>.chromiumapp.org/
// (registered for the client). Zoho's token endpoint requires that client type's secret too,
// so it ships in the bundle: it is not a secret there, PKCE is what protects the codes.
import { browserCipher, openIndexedDBStore } from '../../../src/backends/idb.ts';
import { createTokenManager, type TokenManager } from '../../../src/zoho/token-manager.ts';
import type { TokenStore } from '../../../src/store/types.ts';
import { zohoOAuth, type ZohoOAuth } from '../../../src/zoho/oauth.ts';

export interface ExtensionConfig {
  accountsUrl: string;
  clientId: string;
  /** The mobile/desktop client's secret: Zoho's token endpoint requires it with the verifier. */
  clientSecret: string;
}

export const SCOPE = 'ZohoCRM.modules.ALL,ZohoCRM.users.READ,ZohoCRM.org.READ';

export async function open(): Promise<{ store: TokenStore; manager: TokenManager; oauth: ZohoOAuth }> {
  const config = (await (await fetch(chrome.runtime.getURL('dist/config.json'))).json()) as ExtensionConfig;
  const oauth = zohoOAuth({ ...config, redirectUrl: chrome.identity.getRedirectURL() });
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
