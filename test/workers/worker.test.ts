/**
 * The Worker through its real entry point (SELF), against the local Zoho in Node.
 * Every response body and every log line is checked for secrets at the end.
 */
import { env, runInDurableObject, SELF } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import './env.ts';
import { admin, client, grant, usageOf, ZOHO } from './local-zoho.ts';
import {
  APP,
  call,
  consent,
  pkceVerifierOf,
  expectNothingLeaked,
  loginAs,
  recordLogs,
  startLogin,
  userStore,
  userStub,
  type LoggedIn,
} from './worker-client.ts';
import { sign } from '../../src/worker/signing.ts';
import { sessionOf } from '../../src/worker/callers.ts';
import { configOf } from '../../src/worker/config.ts';
import type { Env } from '../../src/worker/env.ts';

const logSpy = recordLogs();

let ana: LoggedIn;
let bo: LoggedIn;

beforeAll(async () => {
  ana = await loginAs('ana@example.com');
  bo = await loginAs('bo@example.com');
});

describe('worker: login and proxy', () => {
  it('answers /healthz', async () => {
    expect(await (await call('/healthz')).json()).toEqual({ ok: true });
  });

  it('sends the browser to Zoho with offline access, consent and a state bound to a host-only cookie', async () => {
    const start = await call('/auth/login');
    const location = new URL(start.headers.get('location')!);
    expect(location.origin).toBe(ZOHO);
    expect(location.searchParams.get('access_type')).toBe('offline');
    expect(location.searchParams.get('prompt')).toBe('consent');
    expect(location.searchParams.get('redirect_uri')).toBe(`${APP}/auth/callback`);
    expect(location.searchParams.get('code_challenge_method')).toBe('S256');
    expect(location.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // An ID token with this login's nonce (Zoho answers one for the email scope).
    expect(location.searchParams.get('scope')!.split(',')).toContain('email');
    expect(location.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const state = location.searchParams.get('state')!;
    const cookie = start.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^__Host-ets-state=[^;]+; Max-Age=600; Path=\/; HttpOnly; Secure; SameSite=Lax$/);
    // The state carries a keyed hash of the secret the cookie holds, never the secret itself.
    const secret = cookie.split(';')[0]!.split('=')[1]!;
    expect(state).not.toContain(secret);
    expect(state.split('.')[0]).toBe(await sign(env.SESSION_SECRET, 'login-binding', secret));
  });

  it('logs in: an HttpOnly, Secure, SameSite=Lax session cookie that holds no Zoho token', async () => {
    const { consent: consentUrl, stateCookie } = await startLogin();
    const done = await call((await consent(consentUrl, 'ana@example.com')).toString(), { cookie: stateCookie });
    const line = done.headers.getSetCookie().find((c) => c.startsWith('__Host-ets-session='))!;
    expect(line).toMatch(/; HttpOnly; Secure; SameSite=Lax$/);
    const me = await (await call('/auth/me', { cookie: line.split(';')[0] })).json();
    expect(me).toMatchObject({ loggedIn: true, user: 'ana@example.com:7001' });
    expect(line).not.toContain(ana.token.accessToken);
  });

  it('lists, creates and reads Leads through the proxy', async () => {
    const created = await call('/crm/v8/Leads', {
      method: 'POST',
      cookie: ana.cookie,
      headers: { 'content-type': 'application/json', origin: APP },
      body: JSON.stringify({ data: [{ Last_Name: 'Lovelace', Company: 'Engines' }] }),
    });
    expect(created.status).toBe(201);
    const id = ((await created.json()) as { data: { details: { id: string } }[] }).data[0]!.details.id;
    const one = await call(`/crm/v8/Leads/${id}`, { cookie: ana.cookie });
    expect(((await one.json()) as { data: { Last_Name: string }[] }).data[0]!.Last_Name).toBe('Lovelace');
    const list = await call('/crm/v8/Leads?fields=Last_Name,Company&per_page=10', { cookie: ana.cookie });
    expect(list.status).toBe(200);
    expect(list.headers.get('content-type')).toContain('application/json');
    expect(((await list.json()) as { data: Record<string, string>[] }).data).toContainEqual({ id, Last_Name: 'Lovelace', Company: 'Engines' });
  });

  it("keeps users apart: Bo's session never reaches Ana's token or data", async () => {
    await call('/crm/v8/Leads', {
      method: 'POST',
      cookie: ana.cookie,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [{ Last_Name: 'OnlyAna' }] }),
    });
    const before = await usageOf(ana.token.refreshToken!);
    const boList = await call('/crm/v8/Leads?fields=Last_Name', { cookie: bo.cookie });
    expect([200, 204]).toContain(boList.status);
    expect(await boList.text()).not.toContain('OnlyAna');
    expect((await usageOf(ana.token.refreshToken!)).crmCalls).toBe(before.crmCalls);
    expect(await (await call('/auth/me', { cookie: bo.cookie })).json()).toMatchObject({ user: 'bo@example.com:7002' });
  });

  it('accepts a server API key (stored hashed) mapped to one token', async () => {
    const oauth = zohoOAuth({ accountsUrl: ZOHO, ...client, redirectUrl: `${APP}/auth/callback` });
    const tokens = await oauth.exchangeGrant(await grant(client.clientId, `${APP}/auth/callback`, 'bo@example.com'));
    // The key names this token in bo's object (vitest.config.ts).
    await (await userStore('bo@example.com:7002')).saveToken({ id: 'api-key-token', ...client, ...tokens });
    const ok = await call('/crm/v8/org', { headers: { authorization: `Bearer ${env.TEST_API_KEY}` } });
    expect(ok.status).toBe(200);
    const wrong = await call('/crm/v8/org', { headers: { authorization: 'Bearer not-a-key' } });
    expect(wrong.status).toBe(401);
  });
});

describe("worker: the example's app route (getZohoSession, session.fetch)", () => {
  it("answers the user's Leads through their session, hardened as /crm/* is; 401 without one or from another site", async () => {
    const leads = await call('/app/leads', { cookie: ana.cookie });
    expect(leads.status).toBe(200);
    expect(leads.headers.get('x-content-type-options')).toBe('nosniff');
    expect(leads.headers.get('cache-control')).toBe('private, no-store');
    expect((await call('/app/leads')).status).toBe(401);
    expect((await call('/app/leads', { cookie: ana.cookie, headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' } })).status).toBe(401);
  });
});

describe('worker: sessions', () => {
  it('refuses /crm/* without a session, and with a forged, tampered or expired cookie; nothing reaches Zoho', async () => {
    const before = await usageOf(ana.token.refreshToken!);
    const [dc, object, id, expires, signature] = ana.cookie.split('=')[1]!.split('.');
    const flipped = signature!.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    const [, boObject] = bo.cookie.split('=')[1]!.split('.');
    const signed = async (value: string) => `__Host-ets-session=${value}.${await sign(env.SESSION_SECRET, 'session', value)}`;
    const cookies = [
      undefined,
      `__Host-ets-session=${dc}.${object}.${crypto.randomUUID()}.${expires}.${signature}`,
      `__Host-ets-session=${dc}.${object}.${id}.${expires}.${flipped}`,
      // Ana's session id and signature, pointed at Bo's object, or at another data center: the signature covers both.
      `__Host-ets-session=${dc}.${boObject}.${id}.${expires}.${signature}`,
      `__Host-ets-session=eu.${object}.${id}.${expires}.${signature}`,
      // A later expiry under the same signature; a correctly signed expiry that has passed; the form without an expiry.
      `__Host-ets-session=${dc}.${object}.${id}.${Number(expires) + 86_400_000}.${signature}`,
      await signed(`${dc}.${object}.${id}.${Date.now() - 1}`),
      await signed(`${dc}.${object}.${id}`),
      `__Host-ets-session=${id}.${signature}`,
      `__Host-ets-session=${object}.${id}.${signature}`,
      '__Host-ets-session=',
    ];
    for (const cookie of cookies) expect((await call('/crm/v8/Leads', { cookie })).status).toBe(401);

    const short = await loginAs('ana@example.com');
    await runInDurableObject(await userStub('ana@example.com:7001'), (_o, state) => {
      state.storage.sql.exec('UPDATE ets_sessions SET expires_at = 0');
    });
    expect((await call('/crm/v8/Leads', { cookie: short.cookie })).status).toBe(401);
    expect((await usageOf(ana.token.refreshToken!)).crmCalls).toBe(before.crmCalls);
    ana = await loginAs('ana@example.com');
    bo = await loginAs('bo@example.com');
  });

  it('logout ends the session; a cross-site logout is refused', async () => {
    const mine = await loginAs('bo@example.com');
    expect((await call('/auth/logout', { method: 'POST', cookie: mine.cookie, headers: { origin: 'https://evil.example' } })).status).toBe(403);
    expect((await call('/crm/v8/org', { cookie: mine.cookie })).status).toBe(200);
    const out = await call('/auth/logout', { method: 'POST', cookie: mine.cookie, headers: { origin: APP } });
    expect(out.status).toBe(204);
    expect(out.headers.getSetCookie()[0]).toMatch(/^__Host-ets-session=; Max-Age=0/);
    expect((await call('/crm/v8/org', { cookie: mine.cookie })).status).toBe(401);
  });

  it('a cookie whose signature was checked once is still refused under another session secret', async () => {
    const request = () => new Request(`${APP}/crm/v8/Leads`, { headers: { cookie: ana.cookie } });
    const rotated = { ...env, SESSION_SECRET: 'another secret of at least thirty-two characters' } as Env;
    expect(await sessionOf(request(), env, configOf(env))).toMatchObject({ ref: { dataCenter: 'us' } });
    expect(await sessionOf(request(), rotated, configOf(rotated))).toBeNull();
    expect(await sessionOf(request(), env, configOf(env))).not.toBeNull();
  });
});

describe('worker: the callback refuses before any secret leaves', () => {
  /** The Worker did not exchange the code: it is still good for one exchange (with its login's PKCE verifier). */
  async function expectStillUnused(back: URL, stateCookie: string) {
    const oauth = zohoOAuth({ accountsUrl: ZOHO, ...client, redirectUrl: `${APP}/auth/callback` });
    const codeVerifier = await pkceVerifierOf(stateCookie, back.searchParams.get('state')!);
    await expect(oauth.exchangeGrant(back.searchParams.get('code')!, { codeVerifier })).resolves.toMatchObject({ refreshToken: expect.any(String) });
  }

  it('an accounts-server that is not this deployment’s', async () => {
    const { consent: consentUrl, stateCookie } = await startLogin();
    const back = await consent(consentUrl, 'ana@example.com');
    for (const server of ['https://accounts.evil.example', 'https://accounts.zoho.eu', 'http://zoho.local.evil.example']) {
      back.searchParams.set('accounts-server', server);
      const refused = await call(back.toString(), { cookie: stateCookie });
      expect(refused.status).toBe(400);
    }
    await expectStillUnused(back, stateCookie);
  });

  it('a missing state, a state from another browser, a forged state', async () => {
    const { consent: consentUrl, stateCookie } = await startLogin();
    const back = await consent(consentUrl, 'ana@example.com');
    const noState = new URL(back);
    noState.searchParams.delete('state');
    expect((await call(noState.toString(), { cookie: stateCookie })).status).toBe(400);
    expect((await call(back.toString())).status).toBe(400);
    expect((await call(back.toString(), { cookie: '__Host-ets-state=someone-else' })).status).toBe(400);
    const forged = new URL(back);
    const [nonce, expires] = back.searchParams.get('state')!.split('.');
    forged.searchParams.set('state', `${nonce}.${Number(expires) + 3_600_000}.forged`);
    expect((await call(forged.toString(), { cookie: stateCookie })).status).toBe(400);
    await expectStillUnused(back, stateCookie);
  });

  it('a replayed state', async () => {
    const { consent: consentUrl, stateCookie } = await startLogin();
    const back = await consent(consentUrl, 'ana@example.com');
    expect((await call(back.toString(), { cookie: stateCookie })).status).toBe(302);
    const replay = new URL(back);
    const fresh = await grant(client.clientId, `${APP}/auth/callback`);
    replay.searchParams.set('code', fresh);
    const refused = await call(replay.toString(), { cookie: stateCookie });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('already used');
    // A code issued without a challenge (the admin's grant) needs no verifier.
    const oauth = zohoOAuth({ accountsUrl: ZOHO, ...client, redirectUrl: `${APP}/auth/callback` });
    await expect(oauth.exchangeGrant(fresh)).resolves.toMatchObject({ refreshToken: expect.any(String) });
  });

  it('a code for another client gets no session', async () => {
    const other = { clientId: '1000.OTHERCLIENT', clientSecret: 'other-secret' };
    await admin('clients', { client_id: other.clientId, client_secret: other.clientSecret, redirect_uri: `${APP}/auth/callback` });
    const { consent: consentUrl, stateCookie } = await startLogin();
    const back = await consent(consentUrl, 'ana@example.com');
    back.searchParams.set('code', await grant(other.clientId, `${APP}/auth/callback`));
    const refused = await call(back.toString(), { cookie: stateCookie });
    expect(refused.status).toBe(400);
    expect(refused.headers.getSetCookie().some((c) => c.startsWith('__Host-ets-session=') && !c.includes('Max-Age=0'))).toBe(false);
  });
});

describe('worker: a login that meets a busy Zoho', () => {
  it("revokes the refresh token it was given when naming the user meets Zoho's concurrency limit, and asks to try again", async () => {
    const email = 'user1@org78.example';
    const org = '900078';
    const first = await loginAs(email);
    const live = async () => ((await admin('counts', { email })) as { liveRefreshTokens: number }).liveRefreshTokens;
    expect(await live()).toBe(1);
    // The org's 20 calls in flight (Enterprise's limit), held at Zoho.
    await admin('hold', { org });
    const held = Array.from({ length: 20 }, () => fetch(`${ZOHO}/crm/v8/org`, { headers: { authorization: `Zoho-oauthtoken ${first.token.accessToken}` } }));
    await expect.poll(async () => ((await admin('counts', { org })) as { inFlight: number }).inFlight).toBe(20);
    try {
      const { consent: consentUrl, stateCookie } = await startLogin();
      const busy = await call((await consent(consentUrl, email)).toString(), { cookie: stateCookie });
      expect([busy.status, busy.headers.get('retry-after')]).toEqual([503, expect.stringMatching(/^\d+$/)]);
      // The second login's refresh token was revoked: only the first one's is live.
      expect(await live()).toBe(1);
    } finally {
      await admin('hold', { org, on: '0' });
      await Promise.all(held);
    }
  });
});

describe('worker: the proxy reaches only Zoho', () => {
  const tricks = [
    '/crm/v8/../../oauth/v2/token',
    '/crm//evil.example/x',
    '/crm/v8//evil.example',
    '/crm/v8/%2e%2e/%2e%2e/x',
    '/crm/v8/Leads%2F..%2F..',
    '/crm/v8/@evil.example/x',
    '/crm/v8/Leads/%252e%252e',
    '/crm/v8/Leads;evil.example',
    '/crm',
    '/crmx/v8/Leads',
    '/crm/bulkx/v8/read',
    '/crm/bulk/x/v8/read',
  ];
  for (const path of tricks) {
    it(`refuses ${path}`, async () => {
      const before = await usageOf(ana.token.refreshToken!);
      const response = await SELF.fetch(`${APP}${path}`, { headers: { cookie: ana.cookie }, redirect: 'manual' });
      expect([400, 404]).toContain(response.status);
      expect((await usageOf(ana.token.refreshToken!)).crmCalls).toBe(before.crmCalls);
    });
  }

  it('paths the URL standard normalizes before the Worker sees them stay on the CRM of Zoho', async () => {
    // `\` becomes `/` and dot segments are removed by the client's URL parser: what arrives
    // is an ordinary path, answered by the Worker itself or forwarded to the token's API domain.
    const dotted = await call('/crm/v8/./org', { cookie: ana.cookie });
    expect(((await dotted.json()) as { org: { zgid: string }[] }).org[0]!.zgid).toBe('7001');
    expect(await (await call('/crm/../healthz', { cookie: ana.cookie })).json()).toEqual({ ok: true });
    // It arrives as /crm/v8/unknown: Zoho's answer for a module it does not have.
    const backslashed = await call('/crm/v8/Leads\\..\\unknown', { cookie: ana.cookie });
    expect(((await backslashed.json()) as { code: string }).code).toBe('INVALID_MODULE');
  });

  it("forwards the bulk and email APIs Zoho's OpenAPI description serves beside /crm/v8/", async () => {
    for (const path of ['/crm/bulk/v8/read', '/crm/email/v8/Leads/1/actions/associate']) {
      const response = await call(path, { cookie: ana.cookie });
      // The local Zoho's own answer (it checks the token, then does not serve these APIs), so the call reached it.
      expect([response.status, ((await response.json()) as { code: string }).code]).toEqual([404, 'INVALID_URL_PATTERN']);
    }
  });

  it('ignores Host and forwarding headers: the target is always the token’s API domain', async () => {
    const response = await call('/crm/v8/org', {
      cookie: ana.cookie,
      headers: { host: 'evil.example', 'x-forwarded-host': 'evil.example', forwarded: 'host=evil.example' },
    });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { org: { zgid: string }[] }).org[0]!.zgid).toBe('7001');
  });

  it('strips Authorization and cookies both ways', async () => {
    const response = await call('/crm/v8/org', { cookie: ana.cookie });
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get('authorization')).toBeNull();
  });

  it('answers CORS preflights for allowed origins only', async () => {
    const allowed = await call('/crm/v8/Leads', { method: 'OPTIONS', headers: { origin: 'https://app.example.com' } });
    expect(allowed.status).toBe(204);
    expect(allowed.headers.get('access-control-allow-origin')).toBe('https://app.example.com');
    expect(allowed.headers.get('access-control-allow-credentials')).toBe('true');
    const refused = await call('/crm/v8/Leads', { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(refused.status).toBe(403);
    const crossGet = await call('/crm/v8/org', { cookie: ana.cookie, headers: { origin: 'https://evil.example' } });
    expect(crossGet.status).toBe(403);
  });

  it('50 concurrent proxied calls with an expired token: one refresh at Zoho, 50 answers', async () => {
    const fresh = await loginAs('bo@example.com');
    await (await userStore('bo@example.com:7002')).saveToken({ id: fresh.token.id, expiryTime: Date.now() - 1 });
    const before = await usageOf(fresh.token.refreshToken!);
    const responses = await Promise.all(Array.from({ length: 50 }, () => call('/crm/v8/org', { cookie: fresh.cookie })));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect((await usageOf(fresh.token.refreshToken!)).refreshes).toBe(before.refreshes + 1);
  });

  it('revoke: revokes at Zoho, deletes the token, ends the session', async () => {
    const mine = await loginAs('ana@example.com');
    const response = await call('/auth/revoke', { method: 'POST', cookie: mine.cookie, headers: { origin: APP } });
    expect(response.status).toBe(204);
    expect((await call('/crm/v8/org', { cookie: mine.cookie })).status).toBe(401);
    const oauth = zohoOAuth({ accountsUrl: ZOHO, ...client });
    await expect(oauth.refresh(mine.token.refreshToken!)).rejects.toMatchObject({ code: 'REAUTH_REQUIRED' });
  });
});

afterAll(async () => {
  logSpy.mockRestore();
  const stored = [...(await (await userStore('ana@example.com:7001')).getTokens()), ...(await (await userStore('bo@example.com:7002')).getTokens())];
  expectNothingLeaked([ana.token, bo.token, ...stored], ['ana@example', 'bo@example']);
});
