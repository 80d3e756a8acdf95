import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT } from 'edge-token-store/testing';
import { TokenStoreError } from '../../src/store/errors.ts';
import { DATA_CENTERS } from '../../src/zoho/data-centers.ts';
import { isKnownAccountsServer, zohoOAuth } from '../../src/zoho/oauth.ts';
import { localZoho, REDIRECT, ZOHO_ORIGIN } from '../shared/local-zoho.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

const answering =
  (body: string, status = 200): typeof fetch =>
  async () =>
    new Response(body, { status });

describe('zohoOAuth', () => {
  it("knows Zoho's nine data centers, with Canada on zohocloud.ca and the United Kingdom", () => {
    expect(Object.keys(DATA_CENTERS).sort()).toEqual(['au', 'ca', 'cn', 'eu', 'in', 'jp', 'sa', 'uk', 'us']);
    expect(DATA_CENTERS.uk).toEqual({ accounts: 'https://accounts.zoho.uk', apiDomain: 'https://www.zohoapis.uk', name: 'United Kingdom' });
    expect(zohoOAuth({ dataCenter: 'ca', ...DEFAULT_CLIENT }).accountsUrl).toBe('https://accounts.zohocloud.ca');
    expect(isKnownAccountsServer('https://accounts.zoho.eu')).toBe(true);
    expect(isKnownAccountsServer('https://accounts.zoho.ca')).toBe(false);
    expect(isKnownAccountsServer('https://accounts.zoho.eu.evil.example')).toBe(false);
    expect(isKnownAccountsServer('http://zoho.local/x', ZOHO_ORIGIN)).toBe(true);
    expect(isKnownAccountsServer('not a url')).toBe(false);
  });

  it('builds the authorization URL with offline access, consent and state, and no secret', () => {
    const oauth = zohoOAuth({ dataCenter: 'eu', ...DEFAULT_CLIENT, redirectUrl: REDIRECT });
    const url = new URL(oauth.authorizationUrl({ scope: ['ZohoCRM.modules.ALL', 'ZohoCRM.users.READ'], state: 's-1' }));
    expect(url.origin + url.pathname).toBe('https://accounts.zoho.eu/oauth/v2/auth');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      response_type: 'code',
      client_id: DEFAULT_CLIENT.clientId,
      scope: 'ZohoCRM.modules.ALL,ZohoCRM.users.READ',
      redirect_uri: REDIRECT,
      access_type: 'offline',
      prompt: 'consent',
      state: 's-1',
    });
    expect(url.toString()).not.toContain(DEFAULT_CLIENT.clientSecret);
  });

  it('exchanges a grant once, names the user, refreshes keeping no refresh token, and revokes', async () => {
    const { oauth, grant, zoho } = localZoho();
    const code = grant('bo@example.com');
    const tokens = await oauth.exchangeGrant(code);
    expect(tokens.refreshToken).toMatch(/^1000\.refresh\./);
    expect(tokens.apiDomain).toBe(ZOHO_ORIGIN);
    expect(tokens.expiryTime).toBeGreaterThan(Date.now() + 3_590_000);
    expect(await oauth.currentUser(tokens)).toBe('bo@example.com:7002');
    expect((await tokenErrorOf(oauth.exchangeGrant(code))).code).toBe('ZOHO_INVALID_CODE');

    const refreshed = await oauth.refresh(tokens.refreshToken!);
    expect(refreshed.refreshToken).toBeNull();
    expect(refreshed.accessToken).not.toBe(tokens.accessToken);

    await oauth.revoke(tokens.refreshToken!);
    expect(zoho.counts().revokes).toBe(1);
    const dead = await tokenErrorOf(oauth.refresh(tokens.refreshToken!));
    expect(dead.code).toBe('REAUTH_REQUIRED');
    // A second revoke: Zoho answers HTTP 400, not success, so it is not reported as revoked.
    expect((await tokenErrorOf(oauth.revoke(tokens.refreshToken!))).code).toBe('ZOHO_BAD_RESPONSE');
  });

  it("retries the user lookup after Zoho's 429 (its concurrency limit), and surfaces a retryable error if it persists [notes: CRM API v8, concurrency]", async () => {
    const { oauth, grant, zoho } = localZoho({ edition: 'free' });
    const tokens = await oauth.exchangeGrant(grant('bo@example.com'));
    const crm = () => zoho.fetch(new Request(`${ZOHO_ORIGIN}/crm/v8/org`, { headers: { authorization: `Zoho-oauthtoken ${tokens.accessToken}` } }));
    // The org's five calls in flight (held), so the lookup's calls get 429 until they finish.
    const release = zoho.holdCrm();
    const busy = Array.from({ length: 5 }, crm);
    const lookup = oauth.currentUser(tokens);
    await expect.poll(() => zoho.counts().crmThrottled).toBeGreaterThan(0);
    release();
    await Promise.all(busy);
    expect(await lookup).toBe('bo@example.com:7002');
    const stuck = zoho.holdCrm();
    const more = Array.from({ length: 5 }, crm);
    const error = await tokenErrorOf(oauth.currentUser(tokens));
    expect([error.code, error.retryable]).toEqual(['ZOHO_RATE_LIMITED', true]);
    stuck();
    await Promise.all(more);
  });

  it('reads expires_in in seconds, and in milliseconds beside expires_in_sec', async () => {
    const { oauth, grant } = localZoho({ legacyExpiresIn: true });
    const tokens = await oauth.exchangeGrant(grant());
    expect(tokens.expiryTime - Date.now()).toBeGreaterThan(3_590_000);
    expect(tokens.expiryTime - Date.now()).toBeLessThanOrEqual(3_600_000);
  });

  it('the local Zoho issues at most 10 grant codes per client per 10 minutes, as Zoho does', () => {
    const { zoho } = localZoho();
    for (let i = 0; i < 10; i++) expect(zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: REDIRECT })).toBeTruthy();
    expect(zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: REDIRECT })).toBeNull();
    zoho.advance(10 * 60_000);
    expect(zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: REDIRECT })).toBeTruthy();
  });

  it('an expired grant code is invalid_code', async () => {
    const { oauth, grant, zoho } = localZoho();
    const code = grant();
    zoho.advance(3 * 60_000 + 1);
    expect((await tokenErrorOf(oauth.exchangeGrant(code))).code).toBe('ZOHO_INVALID_CODE');
  });

  it('a code issued to another client is invalid_code', async () => {
    const other = { clientId: '1000.OTHER', clientSecret: 'other-secret', redirectUris: [REDIRECT] };
    const { zoho, zohoFetch } = localZoho({ clients: [DEFAULT_CLIENT, other] });
    const code = zoho.issueGrant({ clientId: other.clientId, email: 'ana@example.com', redirectUri: REDIRECT })!;
    const oauth = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, ...DEFAULT_CLIENT, redirectUrl: REDIRECT, fetch: zohoFetch });
    expect((await tokenErrorOf(oauth.exchangeGrant(code))).code).toBe('ZOHO_INVALID_CODE');
  });

  it('maps invalid_client and invalid_client_secret (both HTTP 200), without secrets in messages', async () => {
    const { zohoFetch, grant } = localZoho();
    const code = grant();
    const wrongClient = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, clientId: '1000.NOPE', clientSecret: 's3cr3t-x', fetch: zohoFetch });
    const a = await tokenErrorOf(wrongClient.exchangeGrant(code));
    expect(a.code).toBe('ZOHO_INVALID_CLIENT');
    const wrongSecret = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, clientId: DEFAULT_CLIENT.clientId, clientSecret: 's3cr3t-y', fetch: zohoFetch });
    const b = await tokenErrorOf(wrongSecret.refresh('1000.refresh.zzz'));
    expect(b.code).toBe('ZOHO_INVALID_CLIENT_SECRET');
    for (const e of [a, b]) {
      expect(e.message).not.toMatch(/s3cr3t|1000\.refresh|1000\.grant/);
      expect(e.retryable).toBe(false);
    }
  });

  it('maps Access Denied to a retryable error with a time to wait', async () => {
    const { oauth, grant } = localZoho();
    const tokens = await oauth.exchangeGrant(grant());
    for (let i = 0; i < 10; i++) await oauth.refresh(tokens.refreshToken!);
    const error = await tokenErrorOf(oauth.refresh(tokens.refreshToken!));
    expect(error.code).toBe('ZOHO_RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThan(0);
  });

  it('maps a network failure, a server error and a body that is not JSON', async () => {
    const base = { accountsUrl: ZOHO_ORIGIN, ...DEFAULT_CLIENT };
    const down = zohoOAuth({ ...base, fetch: async () => Promise.reject(new TypeError('fetch failed')) });
    const e1 = await tokenErrorOf(down.refresh('r'));
    expect([e1.code, e1.retryable, e1.cause instanceof TypeError]).toEqual(['ZOHO_UNAVAILABLE', true, true]);
    const e2 = await tokenErrorOf(zohoOAuth({ ...base, fetch: answering('oops', 502) }).refresh('r'));
    expect(e2.code).toBe('ZOHO_UNAVAILABLE');
    const e3 = await tokenErrorOf(zohoOAuth({ ...base, fetch: answering('<html>maintenance</html>') }).refresh('r'));
    expect(e3.code).toBe('ZOHO_BAD_RESPONSE');
    const e4 = await tokenErrorOf(zohoOAuth({ ...base, fetch: answering('{"access_token":"a"}') }).refresh('r'));
    expect(e4.code).toBe('ZOHO_BAD_RESPONSE');
  });

  it('sends secrets only in POST bodies, except the refresh token on revoke', async () => {
    const seen: { url: string; body: string }[] = [];
    const { zoho } = localZoho();
    const spy: typeof fetch = async (input, init) => {
      const request = new Request(input, init);
      seen.push({ url: request.url, body: await request.clone().text() });
      return zoho.fetch(request);
    };
    const oauth = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, ...DEFAULT_CLIENT, redirectUrl: REDIRECT, fetch: spy });
    const code = zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: REDIRECT })!;
    const tokens = await oauth.exchangeGrant(code);
    await oauth.refresh(tokens.refreshToken!);
    await oauth.revoke(tokens.refreshToken!);
    for (const { url } of seen.slice(0, 2)) {
      expect(url).not.toContain(DEFAULT_CLIENT.clientSecret);
      expect(url).not.toContain(code);
      expect(url).not.toContain(tokens.refreshToken!);
    }
    expect(seen[2]!.url).toContain('/oauth/v2/token/revoke?token=');
  });

  it('rejects bad options at the boundary', () => {
    expect(() => zohoOAuth({ clientId: 'x', clientSecret: 'y' })).toThrow(TokenStoreError);
    expect(() => zohoOAuth({ dataCenter: 'zz' as never, clientId: 'x', clientSecret: 'y' })).toThrow(/dataCenter/);
    expect(() => zohoOAuth({ dataCenter: 'us', clientId: '', clientSecret: 'y' })).toThrow(/clientId/);
  });
});

describe('local Zoho', () => {
  it('restores tokens and leads from a snapshot, so a restart keeps logins working', async () => {
    const { oauth, grant, zoho } = localZoho();
    const tokens = await oauth.exchangeGrant(grant());
    const restarted = new (zoho.constructor as typeof import('edge-token-store/testing').LocalZoho)();
    restarted.restore(JSON.parse(JSON.stringify(zoho.snapshot())));
    const again = zohoOAuth({
      accountsUrl: ZOHO_ORIGIN,
      ...DEFAULT_CLIENT,
      fetch: (input, init) => restarted.fetch(new Request(input, init)),
    });
    expect((await again.refresh(tokens.refreshToken!)).accessToken).toMatch(/^1000\.access\./);
    expect(await again.currentUser(tokens)).toBe('ana@example.com:7001');
  });
});
