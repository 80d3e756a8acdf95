/**
 * The attacks of the security review (issue 19), each tried against the Worker or the library
 * in workerd with the local Zoho, and each refused. One test per attack; what it proves is in
 * its name. The attacks on logins and app routes of a user's own Worker (issue 25: leaked
 * callback URLs, code injection in both PKCE modes of the local Zoho, tossed cookies, hooks,
 * sessions that end) run through the fixture Workers, in test/fixtures/suite.ts.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { TokenStoreObject } from '../../src/backends/durable-object.ts';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import { tokenErrorOf } from '../shared/token-error.ts';
import './env.ts';
import { admin, client, codeOutcome, grant, liveRefreshTokens, refreshesOf, usageOf } from './local-zoho.ts';
import { MAX_BODY_BYTES, proxiedHeaders } from '../../src/worker/proxy.ts';
import { ZohoUserObject } from '../../src/worker/user-object.ts';
import { limiterKey, MAX_PENDING_LOGINS } from '../../src/worker/auth.ts';
import type { Env } from '../../src/worker/env.ts';
import worker from '../../worker/index.ts';
import { APP, call, consent, cookieFrom, loginAs, recordLogs, startLogin, userNameOf, userStore, userStub, type LoggedIn } from './worker-client.ts';

recordLogs();

const REDIRECT = 'https://app.example.com/callback';
/** An origin only this file uses at the local Zoho, so its redirect switches touch no other test. */
const DETOUR = 'http://detour.zoho.local';
const SINK = 'http://elsewhere.example/__sink/stolen';

const sinkHits = async () => ((await admin('sink', {})) as { hits: number }).hits;

describe('the back channel never follows a redirect', () => {
  it('a 307 from the token endpoint: exchange, refresh and revoke fail typed, and nothing reaches its target', async () => {
    await admin('redirect', { url: `${DETOUR}/oauth/v2/token`, to: SINK });
    await admin('redirect', { url: `${DETOUR}/oauth/v2/token/revoke`, to: SINK });
    const before = await sinkHits();
    const oauth = zohoOAuth({ accountsUrl: DETOUR, ...client, redirectUrl: REDIRECT });
    const code = await grant(client.clientId, REDIRECT);
    for (const attempt of [oauth.exchangeGrant(code), oauth.refresh('1000.some-refresh-token'), oauth.revoke('1000.some-refresh-token')]) {
      const error = await tokenErrorOf(attempt);
      expect(error.code).toBe('ZOHO_BAD_RESPONSE');
      expect(error.message).toContain('redirect');
    }
    // The form (client secret, code, refresh token) went nowhere.
    expect(await sinkHits()).toBe(before);
  });

  it('fetchCrm: a redirect from the CRM is an error, and the access token goes nowhere', async () => {
    await admin('redirect', { url: `${DETOUR}/crm/v8/Leads`, to: SINK });
    const before = await sinkHits();
    const store = createMemoryStore();
    const manager = createTokenManager({
      store,
      oauth: zohoOAuth({ accountsUrl: DETOUR, ...client, redirectUrl: REDIRECT }),
      isAllowedApiDomain: (origin) => origin === DETOUR,
    });
    const token = await store.saveToken({
      userName: 'ana@example.com:7001',
      accessToken: 'at-1',
      refreshToken: 'rt-1',
      apiDomain: DETOUR,
      expiryTime: Date.now() + 3_600_000,
    });
    const error = await tokenErrorOf(manager.fetchCrm({ id: token.id }, '/crm/v8/Leads?fields=Last_Name', { method: 'POST', body: '{"data":[]}' }));
    expect(error.code).toBe('ZOHO_BAD_RESPONSE');
    expect(await sinkHits()).toBe(before);
  });
});

describe("proxied answers cannot act on the app's origin", () => {
  let ana: LoggedIn;
  beforeAll(async () => {
    ana = await loginAs('user80@org8.example');
  });

  it('an HTML file a colleague attached to a record arrives as a download that cannot run script', async () => {
    const created = await call('/crm/v8/Leads', {
      method: 'POST',
      cookie: ana.cookie,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ data: [{ Last_Name: 'Attached' }] }),
    });
    const leadId = ((await created.json()) as { data: { details: { id: string } }[] }).data[0]!.details.id;
    const form = new FormData();
    form.set('file', new File(['<script>fetch("/auth/revoke",{method:"POST"})</script>'], 'invoice.html', { type: 'text/html' }));
    const uploaded = await call(`/crm/v8/Leads/${leadId}/Attachments`, { method: 'POST', cookie: ana.cookie, body: form });
    expect(uploaded.status).toBe(200);
    const fileId = ((await uploaded.json()) as { data: { details: { id: string } }[] }).data[0]!.details.id;

    // The victim opens the link in their browser: a same-origin navigation with their cookie.
    const opened = await call(`/crm/v8/Leads/${leadId}/Attachments/${fileId}`, {
      cookie: ana.cookie,
      headers: { 'sec-fetch-site': 'same-origin', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    });
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toBe('text/html');
    expect(opened.headers.get('x-content-type-options')).toBe('nosniff');
    expect(opened.headers.get('content-security-policy')).toMatch(/^sandbox; default-src 'none'/);
    // Zoho names the file; the disposition stays a download whatever it said.
    expect(opened.headers.get('content-disposition')).toMatch(/^attachment(;|$)/);
    expect(opened.headers.get('cache-control')).toBe('private, no-store');
    expect(await opened.text()).toContain('<script>');

    // JSON stays inline, with the same guards.
    const list = await call('/crm/v8/Leads?fields=Last_Name', { cookie: ana.cookie });
    expect(list.headers.get('content-disposition')).toBeNull();
    expect(list.headers.get('x-content-type-options')).toBe('nosniff');
    expect(list.headers.get('cache-control')).toBe('private, no-store');
  });

  it("Zoho's content-disposition is passed on, as an attachment for anything but JSON", () => {
    const answer = (type: string, disposition: string | null, status = 200) =>
      proxiedHeaders(
        new Response(status === 204 ? null : 'x', {
          status,
          headers: { 'content-type': type, ...(disposition ? { 'content-disposition': disposition } : {}) },
        }),
      );
    expect(answer('image/svg+xml', 'inline; filename="logo.svg"').get('content-disposition')).toBe('attachment; filename="logo.svg"');
    expect(answer('application/pdf', 'attachment;filename=q.pdf').get('content-disposition')).toBe('attachment;filename=q.pdf');
    expect(answer('application/json;charset=utf-8', 'inline; filename="x.json"').get('content-disposition')).toBe('inline; filename="x.json"');
    expect(answer('application/vnd.api+json', null).get('content-disposition')).toBeNull();
    expect(answer('text/plain', null, 204).get('content-disposition')).toBeNull();
  });

  it('a cross-site navigation or subresource load to /crm/* is 403, and Zoho is not called', async () => {
    const before = (await usageOf(ana.token.refreshToken!)).crmCalls;
    const loads = [
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'iframe' },
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'image' },
      { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors', 'sec-fetch-dest': 'script' },
      // Another subdomain of the same site is still another origin.
      { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
    ];
    for (const headers of loads) {
      const refused = await call('/crm/v8/Leads?fields=Last_Name', { cookie: ana.cookie, headers });
      expect(refused.status).toBe(403);
    }
    expect((await usageOf(ana.token.refreshToken!)).crmCalls).toBe(before);
    // An allowed origin's CORS call still works: it is the one way in from another site.
    const allowed = await call('/crm/v8/Leads?fields=Last_Name', {
      cookie: ana.cookie,
      headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors', 'sec-fetch-dest': 'empty', origin: 'https://app.example.com' },
    });
    expect(allowed.status).toBe(200);
  });

  it('a cross-site form post to a state-changing route is refused, even without an Origin header', async () => {
    const mine = await loginAs('user81@org8.example');
    for (const path of ['/auth/logout', '/auth/revoke', '/auth/refresh']) {
      const refused = await call(path, {
        method: 'POST',
        cookie: mine.cookie,
        headers: { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate', 'sec-fetch-dest': 'document' },
      });
      expect(refused.status).toBe(403);
    }
    expect((await call('/auth/me', { cookie: mine.cookie })).status).toBe(200);
    expect(((await (await call('/auth/me', { cookie: mine.cookie })).json()) as { loggedIn: boolean }).loggedIn).toBe(true);
  });
});

describe('request bodies are bounded', () => {
  let bo: LoggedIn;
  beforeAll(async () => {
    bo = await loginAs('user82@org8.example');
  });

  it('a 33 MB body with its length declared: 413 before any object or Zoho call', async () => {
    const before = (await usageOf(bo.token.refreshToken!)).crmCalls;
    const refused = await call('/crm/v8/Leads', {
      method: 'POST',
      cookie: bo.cookie,
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array(33 * 1024 * 1024),
    });
    expect(refused.status).toBe(413);
    expect((await usageOf(bo.token.refreshToken!)).crmCalls).toBe(before);
  });

  it('a chunked body (no length) is cut at the limit: 413, and nothing reaches Zoho', async () => {
    const before = (await usageOf(bo.token.refreshToken!)).crmCalls;
    const chunk = new Uint8Array(1024 * 1024);
    let sent = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        // 40 MiB on offer; the Worker stops reading just past 20 MiB.
        if (sent++ < 40) controller.enqueue(chunk);
        else controller.close();
      },
    });
    const refused = await call('/crm/v8/Leads', { method: 'POST', cookie: bo.cookie, headers: { 'content-type': 'application/json' }, body });
    expect(refused.status).toBe(413);
    expect(sent).toBeLessThan(40);
    expect((await usageOf(bo.token.refreshToken!)).crmCalls).toBe(before);
    // Just under the limit goes through (Zoho answers what it makes of the bytes).
    const fits = await call('/crm/v8/Leads', {
      method: 'POST',
      cookie: bo.cookie,
      headers: { 'content-type': 'application/json' },
      body: new Uint8Array(MAX_BODY_BYTES),
    });
    expect(fits.status).not.toBe(413);
    expect((await usageOf(bo.token.refreshToken!)).crmCalls).toBe(before + 1);
  });
});

describe('forced refreshes cannot exhaust Zoho’s refresh limit', () => {
  it('11 forced refreshes in a row make one refresh at Zoho; the rest answer the current expiry and when to try again', async () => {
    const eva = await loginAs('user83@org8.eu.example');
    const before = await refreshesOf(eva.token.refreshToken!);
    const answers: Response[] = [];
    for (let i = 0; i < 11; i++) answers.push(await call('/auth/refresh', { method: 'POST', cookie: eva.cookie }));
    expect(answers.map((a) => a.status)).toEqual(Array(11).fill(200));
    const bodies = (await Promise.all(answers.map((a) => a.json()))) as { expiryTime: number; refreshed: boolean }[];
    expect(bodies.map((b) => b.refreshed)).toEqual([true, ...Array(10).fill(false)]);
    expect(new Set(bodies.map((b) => b.expiryTime)).size).toBe(1);
    expect(Number(answers[10]!.headers.get('retry-after'))).toBeGreaterThan(0);
    // A burst from many tabs at once, within the interval: no refresh at all.
    await Promise.all(Array.from({ length: 11 }, () => call('/auth/refresh', { method: 'POST', cookie: eva.cookie })));
    expect((await refreshesOf(eva.token.refreshToken!)) - before).toBeLessThanOrEqual(2);
    expect((await refreshesOf(eva.token.refreshToken!)) - before).toBe(1);
  });
});

describe('logins under way in one browser', () => {
  it('two concurrent logins in one cookie jar both succeed', async () => {
    const first = await startLogin();
    const second = await startLogin(first.stateCookie);
    const firstBack = await consent(first.consent, 'user91@org9.example');
    const secondBack = await consent(second.consent, 'user92@org9.example');
    // The first tab comes back first, with the jar as it is now (both nonces).
    const firstDone = await call(firstBack.toString(), { cookie: second.stateCookie });
    expect(firstDone.status).toBe(302);
    const jar = cookieFrom(firstDone, '__Host-ets-state');
    const secondDone = await call(secondBack.toString(), { cookie: jar });
    expect(secondDone.status).toBe(302);
    expect(secondDone.headers.getSetCookie().find((c) => c.startsWith('__Host-ets-state='))).toMatch(/^__Host-ets-state=; Max-Age=0/);
  });

  it('the cookie holds the latest few logins only: a page that starts logins in a loop cannot grow it', async () => {
    let jar: string | undefined;
    const started = [];
    for (let i = 0; i < MAX_PENDING_LOGINS + 3; i++) {
      const login = await startLogin(jar);
      started.push(login);
      jar = login.stateCookie;
    }
    expect(jar!.split('=')[1]!.split('.')).toHaveLength(MAX_PENDING_LOGINS);
    // The oldest login fell out; the newest still completes.
    const oldest = await call((await consent(started[0]!.consent, 'user93@org9.example')).toString(), { cookie: jar });
    expect(oldest.status).toBe(400);
    const newest = await call((await consent(started.at(-1)!.consent, 'user93@org9.example')).toString(), { cookie: jar });
    expect(newest.status).toBe(302);
  });
});

describe('nothing local is served or deployed', () => {
  it("the browser demo's client is not answered outside local runs (assets: test/e2e/demo.test.ts)", async () => {
    expect((await call('/demo/browser-client')).status).toBe(404);
  });
});

describe('least privilege: the user object hands out only what a CRM call needs', () => {
  it("its RPC has no raw store methods; a session answers id, access token, API domain, expiry and the user's org id only", async () => {
    const ana = await loginAs('user84@org8.example');
    const stub = await userStub(userNameOf('user84@org8.example'));
    // Tried over RPC as another Worker holding the binding would (workerd logs the refusal on its side)...
    const rpc = stub as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    const outcome = await rpc.findToken!({ userName: userNameOf('user84@org8.example') }).then(
      () => null,
      (error: Error) => error.message,
    );
    expect(outcome).toBe('The RPC receiver does not implement "findToken".');
    // ...and none of the store's other methods is there to call.
    for (const method of ['saveToken', 'getTokens', 'deleteTokens', 'findTokenById', 'freshToken', 'rotate', 'deleteToken']) {
      expect(method in ZohoUserObject.prototype).toBe(false);
    }
    expect('getTokens' in TokenStoreObject.prototype).toBe(true);
    const sessionId = ana.cookie.split('=')[1]!.split('.')[2]!;
    const answer = (await stub.session(sessionId, null)) as { ok: true; value: Record<string, unknown> };
    expect(Object.keys(answer.value).sort()).toEqual(['accessToken', 'apiDomain', 'expiryTime', 'id', 'org']);
    // The org is the zgid the user name ends with (for the app's hook), never the name.
    expect(answer.value.org).toBe(userNameOf('user84@org8.example').split(':')[1]);
  });

  it('records keep no client secret: new logins store none, and older records lose theirs in the alarm', async () => {
    const bo = await loginAs('user85@org8.example');
    const store = await userStore(userNameOf('user85@org8.example'));
    expect((await store.findTokenById(bo.token.id))?.clientSecret).toBeNull();
    // A record from before this change, with the secret in it.
    await store.saveToken({ id: bo.token.id, clientSecret: client.clientSecret });
    const stub = await userStub(userNameOf('user85@org8.example'));
    await runInDurableObject(stub, (_o, state) => void state.storage.sql.exec("DELETE FROM ets_meta WHERE key = 'secrets_dropped'"));
    await runDurableObjectAlarm(stub);
    expect((await store.findTokenById(bo.token.id))?.clientSecret).toBeNull();
  });
});

describe('smaller gaps', () => {
  it('/auth/* pages send no referrer (their URL holds a code and a state) and cannot be framed', async () => {
    const { consent: consentUrl, stateCookie } = await startLogin();
    const back = await consent(consentUrl, 'user94@org9.example');
    back.searchParams.set('accounts-server', 'https://accounts.evil.example');
    const refused = await call(back.toString(), { cookie: stateCookie });
    expect(refused.status).toBe(400);
    expect(refused.headers.get('referrer-policy')).toBe('no-referrer');
    expect(refused.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect((await call('/auth/login')).headers.get('referrer-policy')).toBe('no-referrer');
  });

  it('a callback whose code is not shaped like a grant code is refused without a call to Zoho', async () => {
    const { consent: consentUrl, stateCookie } = await startLogin();
    const back = await consent(consentUrl, 'user94@org9.example');
    const issued = back.searchParams.get('code')!;
    const shapes = ['<script>', 'x'.repeat(5000), 'short', '1000.a b'];
    for (const code of shapes) {
      back.searchParams.set('code', code);
      expect((await call(back.toString(), { cookie: stateCookie })).status).toBe(400);
    }
    // None of them reached Zoho's token endpoint, and neither did the real code.
    for (const code of [...shapes, issued]) expect(await codeOutcome(code)).toBeNull();
  });

  it('one client address cannot drive /auth/callback without limit (Rate Limiting binding): 429 and no call to Zoho', async () => {
    const from = { 'cf-connecting-ip': '203.0.113.9' };
    // 20 per minute, in windows aligned to the clock: a run that crosses one boundary may pass
    // up to 40 before the first 429, never more (it would have to take a minute).
    let passed = 0;
    let limited: Response | undefined;
    while (!limited && passed <= 100) {
      const response = await call('/auth/callback?code=1000.grant.abcdef&state=x.1.0.y', { headers: from });
      if (response.status === 429) limited = response;
      else (expect(response.status).toBe(400), passed++);
    }
    expect(limited?.headers.get('retry-after')).toBe('60');
    expect(passed).toBeGreaterThanOrEqual(1);
    expect(passed).toBeLessThanOrEqual(40);
    // Another address is not affected.
    expect((await call('/auth/callback?code=1000.grant.abcdef&state=x.1.0.y', { headers: { 'cf-connecting-ip': '203.0.113.10' } })).status).toBe(400);
  });

  it('the callback limit counts an IPv6 client by its /64: a new address of the same block each time still gets 429', async () => {
    expect(limiterKey('2001:DB8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(limiterKey('2001:0db8:0001:0002:ffff:0:0:9')).toBe('2001:db8:1:2::/64');
    expect(limiterKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(limiterKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(limiterKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(limiterKey('203.0.113.7')).toBe('203.0.113.7');
    let passed = 0;
    let limited: Response | undefined;
    while (!limited && passed <= 100) {
      // Each request from another address of 2001:db8:77:1::/64.
      const from = { 'cf-connecting-ip': `2001:db8:77:1:${(passed + 1).toString(16)}::${(passed * 7 + 1).toString(16)}` };
      const response = await call('/auth/callback?code=1000.grant.abcdef&state=x.1.0.y', { headers: from });
      if (response.status === 429) limited = response;
      else (expect(response.status).toBe(400), passed++);
    }
    expect(limited?.headers.get('retry-after')).toBe('60');
    expect(passed).toBeLessThanOrEqual(40);
    // The next /64 is another client.
    expect((await call('/auth/callback?code=1000.grant.abcdef&state=x.1.0.y', { headers: { 'cf-connecting-ip': '2001:db8:77:2::1' } })).status).toBe(400);
  });

  it('a callback that fails after the exchange revokes the new refresh token at Zoho', async () => {
    const { consent: consentUrl, stateCookie } = await startLogin();
    // The person unticks the users and org scopes: the exchange works, the user lookup does not.
    consentUrl.searchParams.set('scope', 'ZohoCRM.modules.ALL,email');
    const back = await consent(consentUrl, 'user88@org8.example');
    const live = await liveRefreshTokens('user88@org8.example');
    const refused = await call(back.toString(), { cookie: stateCookie });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('accept every permission');
    // The code was exchanged, and the refresh token it made is no longer live.
    expect(await codeOutcome(back.searchParams.get('code')!)).toBe('redeemed');
    expect(await liveRefreshTokens('user88@org8.example')).toBe(live);
  });

  it('an unexpected exception is logged with its class, never its message', async () => {
    const lines: string[] = [];
    const spy = vi.spyOn(console, 'info').mockImplementation((line: unknown) => void lines.push(String(line)));
    const ana = await loginAs('user86@org8.example');
    const broken = {
      ...env,
      ZOHO_USERS: {
        idFromName: () => {
          throw new RangeError('object name u-secretish');
        },
      },
    } as unknown as Env;
    try {
      const response = await worker.fetch(new Request(`${APP}/auth/me`, { headers: { cookie: ana.cookie } }), broken);
      expect(response.status).toBe(500);
    } finally {
      spy.mockRestore();
    }
    const line = lines.find((l) => l.includes('"event":"exception"'))!;
    expect(JSON.parse(line)).toMatchObject({ event: 'exception', errorClass: 'RangeError', status: 500 });
    expect(line).not.toContain('secretish');
  });
});
