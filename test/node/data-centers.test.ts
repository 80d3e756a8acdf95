/**
 * `zohoOAuth({ dataCenter: 'any' })`: every request goes to the accounts server of the token's
 * own data center, for each of Zoho's eight; anything else gets a typed error and no request.
 */
import { describe, expect, it } from 'vitest';
import { ZohoSdk } from '../shared/official-sdk.ts';
import { APP_SCOPE, DEFAULT_CLIENT, LocalZoho } from 'edge-token-store/testing';
import { TokenStoreError } from '../../src/store/errors.ts';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { createZohoSdkStore } from '../../src/zoho/sdk-store.ts';
import { DATA_CENTERS, type DataCenter } from '../../src/zoho/data-centers.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

/** A fetch that records where each request went and answers as Zoho would, successfully. */
function recorder() {
  const sent: { origin: string; path: string; form: URLSearchParams | null }[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    sent.push({
      origin: url.origin,
      path: url.pathname,
      form: request.method === 'POST' && url.pathname === '/oauth/v2/token' ? new URLSearchParams(await request.text()) : null,
    });
    if (url.pathname.endsWith('/revoke')) return Response.json({ status: 'success' });
    return Response.json({
      access_token: '1000.access.x',
      refresh_token: '1000.refresh.x',
      api_domain: 'https://www.zohoapis.com',
      token_type: 'Bearer',
      expires_in: 3600,
    });
  };
  return { sent, fetch };
}

const client = { clientId: '1000.MULTIDC', clientSecret: 'multi-dc-secret' };
const any = (fetch: typeof globalThis.fetch) => zohoOAuth({ dataCenter: 'any', ...client, redirectUrl: 'https://app.example.com/cb', fetch });
const centers = Object.entries(DATA_CENTERS) as [DataCenter, (typeof DATA_CENTERS)[DataCenter]][];

async function refused(promise: Promise<unknown>): Promise<TokenStoreError> {
  const error = await tokenErrorOf(promise);
  expect(error.code).toBe('INVALID_INPUT');
  return error;
}

describe("zohoOAuth({ dataCenter: 'any' })", () => {
  it("signs users in through Zoho's global accounts server", () => {
    const url = new URL(any(recorder().fetch).authorizationUrl({ scope: 'ZohoCRM.modules.ALL', state: 's' }));
    expect(url.origin).toBe('https://accounts.zoho.com');
  });

  for (const [dc, { accounts, apiDomain }] of centers) {
    it(`${dc}: exchanges at ${accounts}, and refreshes and revokes there for www., sandbox. and developer. tokens`, async () => {
      const { sent, fetch } = recorder();
      const oauth = any(fetch);
      await oauth.exchangeGrant('1000.grant.x', { accountsServer: accounts });
      for (const prefix of ['www.', 'sandbox.', 'developer.']) {
        const domain = apiDomain.replace('://www.', `://${prefix}`);
        await oauth.refresh('1000.refresh.x', { apiDomain: domain });
        await oauth.revoke('1000.refresh.x', { apiDomain: domain });
      }
      expect(sent).toHaveLength(7);
      for (const request of sent) expect(request.origin).toBe(accounts);
      expect(sent.map((r) => r.path)).toEqual(['/oauth/v2/token', ...Array(3).fill(['/oauth/v2/token', '/oauth/v2/token/revoke']).flat()]);
      expect(oauth.dataCenterOf(apiDomain)).toBe(dc);
    });
  }

  it('a foreign accounts server, or an API domain that is not Zoho’s, gets a typed error and no request at all', async () => {
    const { sent, fetch } = recorder();
    const oauth = any(fetch);
    for (const server of ['https://accounts.evil.example', 'https://accounts.zoho.com.evil.example', 'http://accounts.zoho.com', 'not a url']) {
      await refused(oauth.exchangeGrant('1000.grant.x', { accountsServer: server }));
    }
    await refused(oauth.exchangeGrant('1000.grant.x')); // 'any' needs to be told where
    for (const domain of ['https://www.zohoapis.evil', 'https://zohoapis.com', 'https://www.zohoapis.com.evil.example', null, undefined]) {
      await refused(oauth.refresh('1000.refresh.x', { apiDomain: domain }));
      await refused(oauth.revoke('1000.refresh.x', { apiDomain: domain }));
    }
    expect(sent).toEqual([]);
  });

  it('the token manager never refreshes or revokes a token whose API domain is not Zoho’s', async () => {
    const { sent, fetch } = recorder();
    const store = createMemoryStore();
    const manager = createTokenManager({ store, oauth: any(fetch), lock: null });
    const token = await store.saveToken({
      userName: 'x:1',
      ...client,
      refreshToken: '1000.refresh.x',
      accessToken: 'a',
      expiryTime: 1,
      apiDomain: 'https://www.zohoapis.evil',
    });
    await refused(manager.getAccessToken({ id: token.id }));
    await refused(manager.revoke({ id: token.id }));
    expect(sent).toEqual([]);
    expect(await store.findTokenById(token.id)).toEqual(token);
  });

  it('serves only the data centers it is given, at the origins given (a local stand-in)', async () => {
    const { sent, fetch } = recorder();
    const oauth = zohoOAuth({
      dataCenter: 'any',
      dataCenters: { us: { accounts: 'http://us.local', apiDomain: 'http://us.local' }, eu: { accounts: 'http://eu.local', apiDomain: 'http://eu.local' } },
      ...client,
      fetch,
    });
    await oauth.refresh('r', { apiDomain: 'http://eu.local' });
    await refused(oauth.refresh('r', { apiDomain: 'https://www.zohoapis.in' })); // a real data center, but not served here
    await refused(oauth.exchangeGrant('g', { accountsServer: 'https://accounts.zoho.eu' }));
    expect(sent.map((r) => r.origin)).toEqual(['http://eu.local']);
    expect(oauth.accountsUrl).toBe('http://us.local');
  });

  it('a fixed data center keeps working as before, and refuses another server for an exchange', async () => {
    const { sent, fetch } = recorder();
    const oauth = zohoOAuth({ dataCenter: 'eu', ...client, fetch });
    await oauth.refresh('r');
    await oauth.exchangeGrant('g', { accountsServer: 'https://accounts.zoho.eu' });
    await refused(oauth.exchangeGrant('g', { accountsServer: 'https://accounts.zoho.com' }));
    expect(sent.map((r) => r.origin)).toEqual(['https://accounts.zoho.eu', 'https://accounts.zoho.eu']);
  });
});

describe('the local Zoho as several data centers', () => {
  const origins = { us: 'http://us.zoho.local', eu: 'http://eu.zoho.local' };

  function multiDc() {
    const zoho = new LocalZoho({ dataCenters: origins });
    const fetch: typeof globalThis.fetch = (input, init) => zoho.fetch(new Request(input, init));
    const oauth = zohoOAuth({
      dataCenter: 'any',
      dataCenters: { us: { accounts: origins.us, apiDomain: origins.us }, eu: { accounts: origins.eu, apiDomain: origins.eu } },
      ...DEFAULT_CLIENT,
      redirectUrl: 'https://app.example.com/cb',
      fetch,
    });
    return { zoho, oauth, fetch };
  }

  it('sends each user back to their own data center, and refreshes each there only', async () => {
    const { zoho, oauth, fetch } = multiDc();
    const manager = createTokenManager({ store: createMemoryStore(), oauth, fetch, lock: null });
    const users = [];
    for (const [email, dc] of [
      ['ana@example.com', 'us'],
      ['eva@example.eu', 'eu'],
    ] as const) {
      // Global sign-in at the US server: the redirect names the user's data center.
      const form = new URLSearchParams({
        response_type: 'code',
        client_id: DEFAULT_CLIENT.clientId,
        redirect_uri: 'https://app.example.com/cb',
        scope: APP_SCOPE,
        access_type: 'offline',
        prompt: 'consent',
        email,
      });
      const approved = await zoho.fetch(new Request(`${origins.us}/oauth/v2/auth/approve`, { method: 'POST', body: form }));
      const back = new URL(approved.headers.get('location')!);
      expect([back.searchParams.get('location'), back.searchParams.get('accounts-server')]).toEqual([dc, origins[dc]]);
      const token = await manager.exchangeGrant(back.searchParams.get('code')!, { accountsServer: back.searchParams.get('accounts-server')! });
      expect(token.apiDomain).toBe(origins[dc]);
      users.push(token);
    }
    for (const token of users) await manager.refreshNow({ id: token.id });
    expect([zoho.countsAt('us').refreshes, zoho.countsAt('eu').refreshes]).toEqual([1, 1]);
  });

  it('the SDK adapter with such a manager hands the SDK an EU token refreshed at the EU server', async () => {
    const { zoho, oauth, fetch } = multiDc();
    const store = createMemoryStore();
    const manager = createTokenManager({ store, oauth, fetch, lock: null });
    const code = zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'eva@example.eu', redirectUri: 'https://app.example.com/cb' })!;
    const saved = await manager.exchangeGrant(code, { accountsServer: origins.eu });
    await store.saveToken({ id: saved.id, expiryTime: Date.now() - 1 });
    const sdkStore = createZohoSdkStore({ sdk: ZohoSdk, store, manager });
    const handed = await sdkStore.findTokenById(saved.id);
    expect(handed.getAPIDomain()).toBe(origins.eu);
    expect(Number(handed.getExpiresIn())).toBeGreaterThan(Date.now() + 60_000);
    expect([zoho.countsAt('us').refreshes, zoho.countsAt('eu').refreshes]).toEqual([0, 1]);
  });

  it("refuses a token at another data center's servers, as Zoho does", async () => {
    const { zoho, oauth } = multiDc();
    const code = zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'eva@example.eu', redirectUri: 'https://app.example.com/cb' })!;
    await expect(oauth.exchangeGrant(code, { accountsServer: origins.us })).rejects.toMatchObject({ code: 'ZOHO_INVALID_CODE' });
    const tokens = await oauth.exchangeGrant(code, { accountsServer: origins.eu });
    // Refreshed at the US server (as a wrongly routed client would), or used at the US API: refused.
    const wrong = zohoOAuth({ accountsUrl: origins.us, ...DEFAULT_CLIENT, fetch: (i, n) => zoho.fetch(new Request(i, n)) });
    await expect(wrong.refresh(tokens.refreshToken!)).rejects.toMatchObject({ code: 'ZOHO_INVALID_CLIENT' });
    const crm = await zoho.fetch(new Request(`${origins.us}/crm/v8/org`, { headers: { authorization: `Zoho-oauthtoken ${tokens.accessToken}` } }));
    expect(crm.status).toBe(401);
    const right = await zoho.fetch(new Request(`${origins.eu}/crm/v8/org`, { headers: { authorization: `Zoho-oauthtoken ${tokens.accessToken}` } }));
    expect(right.status).toBe(200);
  });
});
