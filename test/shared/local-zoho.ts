// Wires a LocalZoho instance in as `fetch`, in-process, at a made-up origin.
import { DEFAULT_CLIENT, LocalZoho, type LocalZohoOptions } from 'edge-token-store/testing';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createTokenManager, type TokenManagerOptions } from '../../src/zoho/token-manager.ts';
import type { TokenStore } from '../../src/store/types.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';

export const ZOHO_ORIGIN = 'http://zoho.local';
export const REDIRECT = 'https://app.example.com/callback';

export function localZoho(options: LocalZohoOptions = {}) {
  const zoho = new LocalZoho(options);
  const zohoFetch: typeof fetch = (input, init) => zoho.fetch(new Request(input, init));
  const oauth = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, ...DEFAULT_CLIENT, redirectUrl: REDIRECT, fetch: zohoFetch });
  return {
    zoho,
    zohoFetch,
    oauth,
    manager(store: TokenStore = createMemoryStore(), extra: Partial<TokenManagerOptions> = {}) {
      return createTokenManager({ store, oauth, fetch: zohoFetch, lock: null, ...extra });
    },
    /** A grant code as if `email` had consented. */
    grant(email = 'ana@example.com') {
      const code = zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: email, redirectUri: REDIRECT });
      if (!code) throw new Error('local Zoho refused to issue a grant');
      return code;
    },
  };
}
