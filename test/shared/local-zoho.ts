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

/**
 * A user's tokens at `zoho`, as the default client's grant exchange answers them (a grant
 * `email` consented to with `scope`), for tests that call the stand-in's CRM directly.
 */
export async function exchangedTokens(zoho: LocalZoho, scope: string, email = 'ana@example.com'): Promise<{ access_token: string; refresh_token: string }> {
  const code = zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email, redirectUri: REDIRECT, scope });
  if (!code) throw new Error('local Zoho refused to issue a grant');
  const body = new URLSearchParams({
    grant_type: 'authorization_code',
    client_id: DEFAULT_CLIENT.clientId,
    client_secret: DEFAULT_CLIENT.clientSecret,
    redirect_uri: REDIRECT,
    code,
  });
  return (await (await zoho.fetch(new Request(`${ZOHO_ORIGIN}/oauth/v2/token`, { method: 'POST', body }))).json()) as {
    access_token: string;
    refresh_token: string;
  };
}
