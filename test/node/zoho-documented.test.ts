/**
 * The client library against the strict local Zoho, where Zoho's documentation and the old
 * lenient stand-in differed: PKCE, the implicit flow, INVALID_OAUTHTOKEN, scope mismatch, the
 * UK and China, a secret per data center, and revokes that Zoho did not confirm.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT, LocalZoho } from 'edge-token-store/testing';
import { TokenStoreError } from '../../src/store/errors.ts';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { createPkce, zohoOAuth } from '../../src/zoho/oauth.ts';
import { localZoho, REDIRECT, ZOHO_ORIGIN } from '../shared/local-zoho.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

describe('PKCE (S256)', () => {
  it('sends the challenge at consent and the verifier at the exchange; another verifier, or none, gets no token', async () => {
    const mobile = { clientId: '1000.MOBILE', clientSecret: 'mobile-secret', type: 'mobile' as const, redirectUris: [REDIRECT] };
    const zoho = new LocalZoho({ clients: [mobile] });
    const oauth = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, ...mobile, redirectUrl: REDIRECT, fetch: (i, n) => zoho.fetch(new Request(i, n)) });
    const { verifier, challenge } = await createPkce();
    const consent = new URL(oauth.authorizationUrl({ scope: 'ZohoCRM.modules.ALL', state: 's', codeChallenge: challenge }));
    expect([consent.searchParams.get('code_challenge'), consent.searchParams.get('code_challenge_method')]).toEqual([challenge, 'S256']);
    const approve = async () => {
      const form = new URLSearchParams(consent.searchParams);
      form.set('email', 'ana@example.com');
      const back = await zoho.fetch(new Request(`${ZOHO_ORIGIN}/oauth/v2/auth/approve`, { method: 'POST', body: form }));
      return new URL(back.headers.get('location')!).searchParams.get('code')!;
    };
    expect((await tokenErrorOf(oauth.exchangeGrant(await approve()))).code).toBe('ZOHO_INVALID_CODE');
    expect((await tokenErrorOf(oauth.exchangeGrant(await approve(), { codeVerifier: (await createPkce()).verifier }))).code).toBe('ZOHO_INVALID_CODE');
    expect((await oauth.exchangeGrant(await approve(), { codeVerifier: verifier })).refreshToken).toMatch(/^1000\.refresh\./);
    expect((await tokenErrorOf(oauth.exchangeGrant('c', { codeVerifier: 'short' }))).code).toBe('INVALID_INPUT');
  });
});

describe('the implicit flow (client-based apps)', () => {
  it('asks for response_type=token with no secret, and reads the token from the fragment, checking state and API domain', async () => {
    const page = { clientId: '1000.PAGE', type: 'client' as const, redirectUris: ['https://page.example/'], jsDomains: ['https://page.example'] };
    const zoho = new LocalZoho({ clients: [page] });
    const oauth = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, clientId: page.clientId, redirectUrl: 'https://page.example/' });
    const consent = new URL(oauth.authorizationUrl({ scope: 'ZohoCRM.modules.ALL', state: 'st', responseType: 'token' }));
    expect(consent.searchParams.get('response_type')).toBe('token');
    expect(consent.searchParams.has('access_type')).toBe(false);
    const form = new URLSearchParams(consent.searchParams);
    form.set('email', 'ana@example.com');
    const fragment = new URL((await zoho.fetch(new Request(`${ZOHO_ORIGIN}/oauth/v2/auth/approve`, { method: 'POST', body: form }))).headers.get('location')!)
      .hash;
    expect((await tokenErrorOf(Promise.resolve().then(() => oauth.tokenFromRedirect(fragment, { state: 'other' })))).code).toBe('INVALID_INPUT');
    const token = oauth.tokenFromRedirect(fragment, { state: 'st' });
    expect(token).toMatchObject({ refreshToken: null, apiDomain: ZOHO_ORIGIN });
    expect(token.expiryTime).toBeGreaterThan(Date.now() + 3_590_000);
    const forged = fragment.replace(encodeURIComponent(ZOHO_ORIGIN), encodeURIComponent('https://evil.example'));
    expect((await tokenErrorOf(Promise.resolve().then(() => oauth.tokenFromRedirect(forged, { state: 'st' })))).code).toBe('INVALID_INPUT');
    // No secret: nothing goes to the token endpoint.
    expect((await tokenErrorOf(oauth.refresh('1000.refresh.x'))).code).toBe('INVALID_INPUT');
  });

  it('an expired implicit token is not refreshable: REAUTH_REQUIRED, the record deleted, no call to Zoho', async () => {
    const store = createMemoryStore();
    const calls: string[] = [];
    const oauth = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, clientId: '1000.PAGE', fetch: async (i) => (calls.push(String(i)), new Response('{}')) });
    const manager = createTokenManager({ store, oauth, lock: null });
    const saved = await store.saveToken({ userName: 'ana@example.com:7001', accessToken: '1000.access.a', expiryTime: Date.now() - 1, apiDomain: ZOHO_ORIGIN });
    expect(await store.findToken({ accessToken: '1000.access.a' })).toMatchObject({ id: saved.id });
    expect((await tokenErrorOf(manager.getAccessToken({ id: saved.id }))).code).toBe('REAUTH_REQUIRED');
    expect(await store.findTokenById(saved.id)).toBeNull();
    expect(calls).toEqual([]);
  });
});

describe('CRM answers the old stand-in never gave', () => {
  it('INVALID_OAUTHTOKEN (pushed out by a 16th access token): one refresh, one retry', async () => {
    const z = localZoho();
    const manager = z.manager();
    const saved = await manager.exchangeGrant(z.grant());
    const other = zohoOAuth({ accountsUrl: ZOHO_ORIGIN, ...DEFAULT_CLIENT, fetch: z.zohoFetch });
    // Another holder of the same refresh token mints 15 more across two windows: ours is the oldest, pushed out.
    for (let i = 0; i < 10; i++) await other.refresh(saved.refreshToken!);
    z.zoho.advance(10 * 60_000);
    for (let i = 0; i < 5; i++) await other.refresh(saved.refreshToken!);
    const refreshes = z.zoho.usageOf(saved.refreshToken!).refreshes;
    const response = await manager.fetchCrm({ id: saved.id }, '/crm/v8/org');
    expect(response.status).toBe(200);
    expect(z.zoho.usageOf(saved.refreshToken!).refreshes).toBe(refreshes + 1);
  });

  it('OAUTH_SCOPE_MISMATCH: fetchCrm passes the 401 on without a refresh; naming the user fails as ZOHO_SCOPE_MISMATCH and the new refresh token is revoked', async () => {
    const z = localZoho();
    const manager = z.manager();
    const narrow = z.zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: REDIRECT, scope: 'ZohoCRM.modules.ALL' })!;
    const revokes = z.zoho.counts().revokes;
    expect((await tokenErrorOf(manager.exchangeGrant(narrow))).code).toBe('ZOHO_SCOPE_MISMATCH');
    expect(z.zoho.counts().revokes).toBe(revokes + 1);
    expect(await manager.exchangeGrant(narrow).catch((e: TokenStoreError) => e.code)).toBe('ZOHO_INVALID_CODE');
    const saved = await manager.exchangeGrant(
      z.zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'bo@example.com', redirectUri: REDIRECT, scope: 'ZohoCRM.modules.ALL' })!,
      { userName: 'bo' },
    );
    const response = await manager.fetchCrm({ id: saved.id }, '/crm/v8/org');
    expect([response.status, ((await response.json()) as { code: string }).code]).toEqual([401, 'OAUTH_SCOPE_MISMATCH']);
    expect(z.zoho.usageOf(saved.refreshToken!).refreshes).toBe(0);
    expect(await manager.getAccessToken({ id: saved.id })).toMatchObject({ accessToken: saved.accessToken });
  });
});

describe('data centers Zoho lists that the old client did not serve', () => {
  const recorder = () => {
    const sent: string[] = [];
    const fetch: typeof globalThis.fetch = async (input) => {
      const url = new URL(String(input));
      sent.push(`${url.origin}${url.pathname}`);
      if (url.pathname.endsWith('/revoke')) return Response.json({ status: 'success' });
      return Response.json({ access_token: 'a', refresh_token: 'r', api_domain: 'https://www.zohoapis.uk', token_type: 'Bearer', expires_in: 3600 });
    };
    return { sent, fetch };
  };

  it('the United Kingdom: exchange, refresh and revoke at accounts.zoho.uk', async () => {
    const { sent, fetch } = recorder();
    const oauth = zohoOAuth({ dataCenter: 'any', ...DEFAULT_CLIENT, redirectUrl: REDIRECT, fetch });
    const tokens = await oauth.exchangeGrant('g', { accountsServer: 'https://accounts.zoho.uk' });
    await oauth.refresh(tokens.refreshToken!, { apiDomain: tokens.apiDomain });
    await oauth.revoke(tokens.refreshToken!, { apiDomain: 'https://sandbox.zohoapis.uk' });
    expect(sent).toEqual([
      'https://accounts.zoho.uk/oauth/v2/token',
      'https://accounts.zoho.uk/oauth/v2/token',
      'https://accounts.zoho.uk/oauth/v2/token/revoke',
    ]);
  });

  it("China's users start at accounts.zoho.com.cn (signInAt), others at the global sign-in", () => {
    const oauth = zohoOAuth({ dataCenter: 'any', ...DEFAULT_CLIENT, redirectUrl: REDIRECT });
    expect(new URL(oauth.authorizationUrl({ scope: 's', state: 'x' })).origin).toBe('https://accounts.zoho.com');
    expect(new URL(oauth.authorizationUrl({ scope: 's', state: 'x', signInAt: 'cn' })).origin).toBe('https://accounts.zoho.com.cn');
    const usOnly = zohoOAuth({
      dataCenter: 'any',
      dataCenters: { us: { accounts: 'https://accounts.zoho.com', apiDomain: 'https://www.zohoapis.com' } },
      ...DEFAULT_CLIENT,
      redirectUrl: REDIRECT,
    });
    expect(() => usOnly.authorizationUrl({ scope: 's', state: 'x', signInAt: 'cn' })).toThrow(TokenStoreError);
  });

  it('a secret per data center: each token endpoint gets its own, and one without a secret gets nothing', async () => {
    const forms: [string, string | null][] = [];
    const fetch: typeof globalThis.fetch = async (input, init) => {
      forms.push([new URL(String(input)).origin, new URLSearchParams(String(init?.body)).get('client_secret')]);
      return Response.json({ access_token: 'a', refresh_token: 'r', api_domain: 'https://www.zohoapis.eu', expires_in: 3600 });
    };
    const oauth = zohoOAuth({ dataCenter: 'any', clientId: '1000.X', clientSecret: { us: 'us-secret', eu: 'eu-secret' }, fetch });
    await oauth.exchangeGrant('g', { accountsServer: 'https://accounts.zoho.eu' });
    await oauth.refresh('r', { apiDomain: 'https://www.zohoapis.com' });
    expect((await tokenErrorOf(oauth.refresh('r', { apiDomain: 'https://www.zohoapis.in' }))).code).toBe('INVALID_INPUT');
    expect(forms).toEqual([
      ['https://accounts.zoho.eu', 'eu-secret'],
      ['https://accounts.zoho.com', 'us-secret'],
    ]);
    expect(oauth.clientSecretFor('https://www.zohoapis.eu')).toBe('eu-secret');
    expect(() => zohoOAuth({ dataCenter: 'us', clientId: '1000.X', clientSecret: { us: 's' } })).toThrow(TokenStoreError);
  });
});

describe('revokes Zoho did not confirm', () => {
  it('a throttled revoke (HTTP 400, Access Denied) is ZOHO_RATE_LIMITED, and erase reports revokedAtZoho: false', async () => {
    const z = localZoho();
    const manager = z.manager();
    const saved = await manager.exchangeGrant(z.grant());
    await z.zohoFetch(`${ZOHO_ORIGIN}/__admin/throttle-revokes?on=1`, { method: 'POST' });
    expect((await tokenErrorOf(z.oauth.revoke(saved.refreshToken!))).code).toBe('ZOHO_RATE_LIMITED');
    expect(await manager.erase({ id: saved.id })).toEqual({ found: true, revokedAtZoho: false, deleted: 1 });
    expect(z.zoho.usageOf(saved.refreshToken!).live).toBe(true);
  });
});
