/**
 * Fidelity of the local Zoho's accounts side: each case states one documented behaviour of
 * Zoho's accounts server and names its source ("notes": the project's digest of Zoho's OAuth
 * docs, zoho.com/accounts/protocol/oauth, by section and table row). Every data center and
 * every client type has a case. This file keeps the stand-in honest when someone changes it.
 */
import { describe, expect, it } from 'vitest';
import { APP_SCOPE, DEFAULT_CLIENT, LocalZoho, pkceChallenge, type LocalZohoClient, type LocalZohoOptions } from 'edge-token-store/testing';
import { DATA_CENTERS } from '../../src/zoho/data-centers.ts';

const REDIRECT = DEFAULT_CLIENT.redirectUris[0]!;
const DCS = Object.keys(DATA_CENTERS);
const ORIGINS: Record<string, string> = Object.fromEntries(DCS.map((dc) => [dc, `http://${dc}.zoho.local`]));
const VERIFIER = 'v'.repeat(43);

function zohoWith(clients: LocalZohoClient[] = [DEFAULT_CLIENT], dataCenters?: Record<string, string>, options: LocalZohoOptions = {}) {
  const zoho = new LocalZoho({ clients, dataCenters, ...options });
  const at = dataCenters?.us ?? 'http://zoho.local';
  const post = async (path: string, form: Record<string, string>, origin = at) => {
    const response = await zoho.fetch(new Request(`${origin}${path}`, { method: 'POST', body: new URLSearchParams(form) }));
    return {
      response,
      body: (await response
        .clone()
        .json()
        .catch(() => null)) as Record<string, unknown> | null,
    };
  };
  const token = (form: Record<string, string>, origin?: string) => post('/oauth/v2/token', form, origin);
  const secretOf = (c: LocalZohoClient) => (typeof c.clientSecret === 'string' ? c.clientSecret : '');
  const exchange = (client: LocalZohoClient, code: string, extra: Record<string, string> = {}, origin?: string) =>
    token(
      {
        grant_type: 'authorization_code',
        client_id: client.clientId,
        client_secret: secretOf(client),
        redirect_uri: client.redirectUris?.[0] ?? '',
        code,
        ...extra,
      },
      origin,
    );
  /** The consent page's approval, as a person's click sends it (asking offline access unless `params` say otherwise); the redirect's URL. */
  const approve = async (params: Record<string, string>, email = 'ana@example.com', origin = at) => {
    const form = new URLSearchParams({ access_type: 'offline', prompt: 'consent', ...params, email });
    const response = await zoho.fetch(new Request(`${origin}/oauth/v2/auth/approve`, { method: 'POST', body: form }));
    return { status: response.status, location: response.headers.get('location') };
  };
  return { zoho, token, exchange, approve, at };
}

describe('local Zoho accounts: the data centers table [notes: Accounts servers]', () => {
  for (const dc of DCS) {
    it(`${dc}: users sign in, and exchange, refresh and revoke only at ${DATA_CENTERS[dc as keyof typeof DATA_CENTERS].accounts}'s stand-in`, async () => {
      const { zoho, exchange, approve, token } = zohoWith([DEFAULT_CLIENT], ORIGINS);
      const email = dc === 'us' ? 'user1@org1.example' : `user1@org1.${dc}.example`;
      // China's users start at their own server; everyone else at the global (US) sign-in.
      const signIn = dc === 'cn' ? ORIGINS.cn! : ORIGINS.us!;
      const { location } = await approve(
        { response_type: 'code', client_id: DEFAULT_CLIENT.clientId, redirect_uri: REDIRECT, scope: APP_SCOPE, state: 's' },
        email,
        signIn,
      );
      const back = new URL(location!);
      expect([back.searchParams.get('location'), back.searchParams.get('accounts-server'), back.searchParams.get('state')]).toEqual([dc, ORIGINS[dc], 's']);
      const code = back.searchParams.get('code')!;
      const elsewhere = dc === 'eu' ? ORIGINS.us! : ORIGINS.eu!;
      expect((await exchange(DEFAULT_CLIENT, code, {}, elsewhere)).body).toEqual({ error: 'invalid_code' });
      const { body } = await exchange(DEFAULT_CLIENT, code, {}, ORIGINS[dc]);
      expect(body!.api_domain).toBe(ORIGINS[dc]);
      const refresh = {
        grant_type: 'refresh_token',
        client_id: DEFAULT_CLIENT.clientId,
        client_secret: DEFAULT_CLIENT.clientSecret,
        refresh_token: String(body!.refresh_token),
      };
      expect((await token(refresh, elsewhere)).body).toEqual({ error: 'invalid_client' });
      expect((await token(refresh, ORIGINS[dc])).body).toHaveProperty('access_token');
      const revoke = (origin: string) => zoho.fetch(new Request(`${origin}/oauth/v2/token/revoke?token=${body!.refresh_token}`, { method: 'POST' }));
      expect((await revoke(elsewhere)).status).toBe(400);
      expect(await (await revoke(ORIGINS[dc]!)).json()).toEqual({ status: 'success' });
    });
  }

  it("China's users cannot start at the global sign-in, nor others at China's [notes: Accounts servers, CRM multi-DC page]", async () => {
    const { approve } = zohoWith([DEFAULT_CLIENT], ORIGINS);
    const params = { response_type: 'code', client_id: DEFAULT_CLIENT.clientId, redirect_uri: REDIRECT, scope: APP_SCOPE };
    expect((await approve(params, 'user1@org1.cn.example', ORIGINS.us)).status).toBe(400);
    expect((await approve(params, 'user1@org1.eu.example', ORIGINS.cn)).status).toBe(400);
  });

  it('a multi-DC secret may be one per data center [notes: Accounts servers, accounts multi-DC page]', async () => {
    const perDc = { ...DEFAULT_CLIENT, clientId: '1000.PERDC', clientSecret: { us: 'us-secret', eu: 'eu-secret' } };
    const { zoho, exchange } = zohoWith([perDc], ORIGINS);
    const code = zoho.issueGrant({ clientId: perDc.clientId, email: 'user1@org1.eu.example', redirectUri: REDIRECT })!;
    expect((await exchange({ ...perDc, clientSecret: 'us-secret' }, code, {}, ORIGINS.eu)).body).toEqual({ error: 'invalid_client_secret' });
    const again = zoho.issueGrant({ clientId: perDc.clientId, email: 'user1@org1.eu.example', redirectUri: REDIRECT })!;
    expect((await exchange({ ...perDc, clientSecret: 'eu-secret' }, again, {}, ORIGINS.eu)).body).toHaveProperty('refresh_token');
  });
});

describe('local Zoho accounts: the client types table [notes: Client types and redirect URIs]', () => {
  it('server-based: the code flow to a registered redirect, a secret at the token endpoint, a refresh token', async () => {
    const { exchange, approve } = zohoWith();
    const { location } = await approve({
      response_type: 'code',
      client_id: DEFAULT_CLIENT.clientId,
      redirect_uri: REDIRECT,
      scope: APP_SCOPE,
      access_type: 'offline',
    });
    const code = new URL(location!).searchParams.get('code')!;
    expect((await exchange({ ...DEFAULT_CLIENT, clientSecret: 'wrong' }, code)).body).toEqual({ error: 'invalid_client_secret' });
    const { body } = await exchange(DEFAULT_CLIENT, code);
    expect(body).toEqual({
      access_token: expect.any(String),
      refresh_token: expect.any(String),
      api_domain: 'http://zoho.local',
      token_type: 'Bearer',
      expires_in: 3600,
    });
  });

  it('client-based (JavaScript): implicit flow only, the token in the fragment, no refresh token, never the token endpoint', async () => {
    const js = { clientId: '1000.JS', type: 'client' as const, redirectUris: ['https://page.example/'], jsDomains: ['https://page.example'] };
    const { approve, token } = zohoWith([DEFAULT_CLIENT, js]);
    const params = { client_id: js.clientId, redirect_uri: 'https://page.example/', scope: APP_SCOPE, state: 'st' };
    expect((await approve({ ...params, response_type: 'code' })).status).toBe(400);
    const { location } = await approve({ ...params, response_type: 'token' });
    const back = new URL(location!);
    expect(back.search).toBe('');
    const fragment = Object.fromEntries(new URLSearchParams(back.hash.slice(1)));
    expect(fragment).toEqual({
      access_token: expect.stringMatching(/^1000\.access\./),
      token_type: 'Bearer',
      expires_in: '3600',
      api_domain: 'http://zoho.local',
      location: 'us',
      state: 'st',
    });
    expect((await token({ grant_type: 'refresh_token', client_id: js.clientId, client_secret: '', refresh_token: 'x' })).body).toEqual({
      error: 'invalid_client',
    });
  });

  it('mobile/desktop: PKCE must be used (a challenge at consent, its verifier at the exchange), and the secret too', async () => {
    const mobile = {
      clientId: '1000.MOBILE',
      type: 'mobile' as const,
      clientSecret: 'mobile-secret',
      redirectUris: ['https://abcdefghijklmnopabcdefghijklmnop.chromiumapp.org/'],
    };
    const { zoho, exchange, approve } = zohoWith([mobile]);
    const params = { response_type: 'code', client_id: mobile.clientId, redirect_uri: mobile.redirectUris[0]!, scope: APP_SCOPE };
    expect((await approve(params)).status).toBe(400);
    expect(zoho.issueGrant({ clientId: mobile.clientId, email: 'ana@example.com', redirectUri: mobile.redirectUris[0]! })).toBeNull();
    const challenge = await pkceChallenge(VERIFIER, 'S256');
    const code = async () =>
      new URL((await approve({ ...params, code_challenge: challenge, code_challenge_method: 'S256' })).location!).searchParams.get('code')!;
    expect((await exchange(mobile, await code())).body).toEqual({ error: 'invalid_code' });
    expect((await exchange(mobile, await code(), { code_verifier: 'w'.repeat(43) })).body).toEqual({ error: 'invalid_code' });
    expect((await exchange({ ...mobile, clientSecret: 'wrong' }, await code(), { code_verifier: VERIFIER })).body).toEqual({ error: 'invalid_client_secret' });
    expect((await exchange(mobile, await code(), { code_verifier: VERIFIER })).body).toHaveProperty('refresh_token');
    const plain = new URL((await approve({ ...params, code_challenge: VERIFIER, code_challenge_method: 'plain' })).location!).searchParams.get('code')!;
    expect((await exchange(mobile, plain, { code_verifier: VERIFIER })).body).toHaveProperty('refresh_token');
  });

  it('non-browser (device): a user code, authorization_pending, slow_down faster than every 30 s, then tokens; other_dc at the wrong server', async () => {
    const device = { clientId: '1000.DEVICE', type: 'device' as const, clientSecret: 'device-secret' };
    const { zoho } = zohoWith([device], ORIGINS);
    const start = async () => {
      const form = new URLSearchParams({ client_id: device.clientId, scope: APP_SCOPE, grant_type: 'device_request', access_type: 'offline' });
      const response = await zoho.fetch(new Request(`${ORIGINS.us}/oauth/v3/device/code`, { method: 'POST', body: form }));
      return (await response.json()) as { device_code: string; user_code: string; interval: number };
    };
    const poll = (code: string, origin = ORIGINS.us) =>
      zoho
        .fetch(
          new Request(`${origin}/oauth/v3/device/token`, {
            method: 'POST',
            body: new URLSearchParams({ client_id: device.clientId, client_secret: device.clientSecret, grant_type: 'device_token', code }),
          }),
        )
        .then((r) => r.json());
    const started = await start();
    expect(started.interval).toBe(30);
    expect(await poll(started.device_code)).toEqual({ error: 'authorization_pending' });
    expect(await poll(started.device_code)).toEqual({ error: 'slow_down' });
    await zoho.fetch(new Request(`${ORIGINS.us}/__admin/device?user_code=${started.user_code}&email=ana@example.com`, { method: 'POST' }));
    zoho.advance(30_000);
    expect(await poll(started.device_code)).toHaveProperty('refresh_token');
    const eu = await start();
    await zoho.fetch(new Request(`${ORIGINS.us}/__admin/device?user_code=${eu.user_code}&email=eva@example.eu`, { method: 'POST' }));
    zoho.advance(30_000);
    // The polling page's feedback names the user's data center as `user_location`.
    expect(await poll(eu.device_code)).toEqual({ error: 'other_dc', user_location: 'eu' });
  });

  it('self client: codes made in the console, no redirect URI, exchanged with the secret', async () => {
    const self = { clientId: '1000.SELF', type: 'self' as const, clientSecret: 'self-secret' };
    const { zoho, token, approve } = zohoWith([self]);
    expect((await approve({ response_type: 'code', client_id: self.clientId, redirect_uri: REDIRECT, scope: APP_SCOPE })).status).toBe(400);
    const code = zoho.issueGrant({ clientId: self.clientId, email: 'ana@example.com', redirectUri: null, scope: APP_SCOPE })!;
    expect((await token({ grant_type: 'authorization_code', client_id: self.clientId, client_secret: self.clientSecret, code })).body).toHaveProperty(
      'refresh_token',
    );
  });

  it('redirect URIs: http(s) only, registered, matched exactly; chrome-extension:// cannot be registered', async () => {
    const ext = { clientId: '1000.EXT', clientSecret: 's', redirectUris: ['chrome-extension://abc/callback.html', 'https://app.example.com/callback'] };
    const { approve } = zohoWith([ext]);
    const params = { response_type: 'code', client_id: ext.clientId, scope: APP_SCOPE };
    expect((await approve({ ...params, redirect_uri: 'chrome-extension://abc/callback.html' })).status).toBe(400);
    expect((await approve({ ...params, redirect_uri: 'https://app.example.com/callback/' })).status).toBe(400);
    expect((await approve({ ...params, redirect_uri: 'https://elsewhere.example/callback' })).status).toBe(400);
    expect((await approve({ ...params, redirect_uri: 'https://app.example.com/callback' })).status).toBe(302);
  });

  it('the authorization request needs a scope; state comes back unchanged', async () => {
    const { approve } = zohoWith();
    const params = { response_type: 'code', client_id: DEFAULT_CLIENT.clientId, redirect_uri: REDIRECT };
    expect((await approve(params)).status).toBe(400);
    expect(new URL((await approve({ ...params, scope: APP_SCOPE, state: 'a.b~c' })).location!).searchParams.get('state')).toBe('a.b~c');
  });

  it('no CORS on the token and revoke endpoints, even for a JavaScript domain [notes: Client types: treat it as absent]', async () => {
    const js = { clientId: '1000.JS', type: 'client' as const, redirectUris: ['https://page.example/'], jsDomains: ['https://page.example'] };
    const { zoho } = zohoWith([DEFAULT_CLIENT, js]);
    for (const path of ['/oauth/v2/token', '/oauth/v2/token/revoke?token=x']) {
      for (const method of ['OPTIONS', 'POST']) {
        const response = await zoho.fetch(new Request(`http://zoho.local${path}`, { method, headers: { origin: 'https://page.example' } }));
        expect(response.headers.get('access-control-allow-origin')).toBeNull();
      }
    }
  });
});

describe('local Zoho accounts: the token endpoint and the limits [notes: Token endpoint; Limits]', () => {
  it('a grant code is single use and lives 2 minutes; errors come with HTTP 200', async () => {
    const { zoho, exchange } = zohoWith();
    const code = zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: REDIRECT })!;
    expect((await exchange(DEFAULT_CLIENT, code)).body).toHaveProperty('refresh_token');
    const again = await exchange(DEFAULT_CLIENT, code);
    expect([again.response.status, again.body]).toEqual([200, { error: 'invalid_code' }]);
    const late = zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: REDIRECT })!;
    zoho.advance(2 * 60_000 + 1);
    expect((await exchange(DEFAULT_CLIENT, late)).body).toEqual({ error: 'invalid_code' });
    expect((await exchange({ ...DEFAULT_CLIENT, clientId: '1000.NOBODY' }, late)).body).toEqual({ error: 'invalid_client' });
  });

  it('10 access tokens per refresh token per 10 minutes, then Access Denied; a refresh answer has no refresh token', async () => {
    const { zoho, exchange, token } = zohoWith();
    const { body } = await exchange(DEFAULT_CLIENT, zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: REDIRECT })!);
    const refresh = () =>
      token({
        grant_type: 'refresh_token',
        client_id: DEFAULT_CLIENT.clientId,
        client_secret: DEFAULT_CLIENT.clientSecret,
        refresh_token: String(body!.refresh_token),
      });
    for (let i = 0; i < 10; i++) expect((await refresh()).body).not.toHaveProperty('refresh_token');
    expect((await refresh()).body).toMatchObject({ error: 'Access Denied', status: 'failure' });
    zoho.advance(10 * 60_000);
    expect((await refresh()).body).toHaveProperty('access_token');
  });

  it('refresh tokens: 10 made per user and client per 10 minutes; the 21st live one deletes the first, for any lookup of the same user', async () => {
    // The client's own limit (10 codes per 10 minutes, tested in zoho.test.ts) is raised: this is the user's.
    const { zoho, exchange } = zohoWith([DEFAULT_CLIENT], undefined, { grantsPerWindow: 100 });
    const login = async () =>
      (await exchange(DEFAULT_CLIENT, zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'user5@org5.example', redirectUri: REDIRECT })!)).body!;
    const first = await login();
    for (let i = 1; i < 10; i++) await login();
    expect(await login()).toMatchObject({ error: 'Access Denied' });
    zoho.advance(10 * 60_000);
    for (let i = 0; i < 10; i++) await login();
    zoho.advance(10 * 60_000);
    expect(zoho.usageOf(String(first.refresh_token)).live).toBe(true);
    await login();
    expect(zoho.usageOf(String(first.refresh_token)).live).toBe(false);
  });

  it('revoke: success for a live token (its access tokens die too), HTTP 400 for an unknown one, Access Denied when throttled', async () => {
    const { zoho, exchange } = zohoWith();
    const { body } = await exchange(DEFAULT_CLIENT, zoho.issueGrant({ clientId: DEFAULT_CLIENT.clientId, email: 'ana@example.com', redirectUri: REDIRECT })!);
    const revoke = (t: string) => zoho.fetch(new Request(`http://zoho.local/oauth/v2/token/revoke?token=${t}`, { method: 'POST' }));
    await zoho.fetch(new Request('http://zoho.local/__admin/throttle-revokes?on=1', { method: 'POST' }));
    const throttled = await revoke(String(body!.refresh_token));
    expect([throttled.status, await throttled.json()]).toEqual([400, expect.objectContaining({ error: 'Access Denied' })]);
    await zoho.fetch(new Request('http://zoho.local/__admin/throttle-revokes?on=0', { method: 'POST' }));
    expect(await (await revoke(String(body!.refresh_token))).json()).toEqual({ status: 'success' });
    const crm = await zoho.fetch(new Request('http://zoho.local/crm/v8/org', { headers: { authorization: `Zoho-oauthtoken ${body!.access_token}` } }));
    expect(crm.status).toBe(401);
    expect((await revoke(String(body!.refresh_token))).status).toBe(400);
  });
});
