/**
 * One deployment, users of several Zoho data centers (here US and EU, as the local Zoho serves
 * them): each logs in through Zoho's global sign-in, is exchanged, refreshed and served at
 * their own data center, and their object is placed by it.
 */
import { env } from 'cloudflare:test';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATA_CENTER_PLACEMENT } from '../../src/worker/naming.ts';
import type { Env } from '../../src/worker/env.ts';
import worker from '../../worker/index.ts';
import './env.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import { admin, client, usageOf, ZOHO } from './local-zoho.ts';
import {
  APP,
  call,
  consent,
  cookieFrom,
  expectNothingLeaked,
  pkceVerifierOf,
  loginAs,
  recordLogs,
  startLogin,
  userNameOf,
  userStore,
  type LoggedIn,
} from './worker-client.ts';

const EU = 'http://eu.zoho.local';
const logSpy = recordLogs();
let ana: LoggedIn;
let eva: LoggedIn;

beforeAll(async () => {
  ana = await loginAs('ana@example.com');
  eva = await loginAs('eva@example.eu');
});

const refreshesAt = async (dc: string) => ((await admin('counts', { dc })) as { refreshes: number }).refreshes;

describe('users of two data centers in one deployment', () => {
  it('signs everyone in through the global sign-in, and sends each back to their own data center', async () => {
    const { consent: consentUrl } = await startLogin();
    expect(consentUrl.origin).toBe(ZOHO); // the US server is Zoho's global sign-in
    const back = await consent(consentUrl, 'eva@example.eu');
    expect([back.searchParams.get('location'), back.searchParams.get('accounts-server')]).toEqual(['eu', EU]);
    expect(eva.token.apiDomain).toBe(EU);
    expect(eva.cookie).toMatch(/^__Host-ets-session=eu\.u-/);
    expect(ana.cookie).toMatch(/^__Host-ets-session=us\.u-/);
  });

  it('shows each user their data center, and proxies each to their own data center’s API', async () => {
    expect(await (await call('/auth/me', { cookie: eva.cookie })).json()).toMatchObject({ loggedIn: true, dataCenter: 'eu', dataCenterName: 'European Union' });
    expect(await (await call('/auth/me', { cookie: ana.cookie })).json()).toMatchObject({ dataCenter: 'us' });
    const [fromEu, fromUs] = await Promise.all([call('/crm/v8/org', { cookie: eva.cookie }), call('/crm/v8/org', { cookie: ana.cookie })]);
    expect(((await fromEu.json()) as { org: { zgid: string }[] }).org[0]!.zgid).toBe('7101');
    expect(((await fromUs.json()) as { org: { zgid: string }[] }).org[0]!.zgid).toBe('7001');
  });

  it('with both tokens expired, calls for both at once: one refresh each, at each one’s own accounts server', async () => {
    for (const [email, user] of [
      ['ana@example.com', ana],
      ['eva@example.eu', eva],
    ] as const) {
      await (await userStore(userNameOf(email))).saveToken({ id: user.token.id, expiryTime: Date.now() - 1 });
    }
    const before = {
      ana: (await usageOf(ana.token.refreshToken!)).refreshes,
      eva: (await usageOf(eva.token.refreshToken!)).refreshes,
      eu: await refreshesAt('eu'),
    };
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => call('/crm/v8/org', { cookie: i % 2 ? eva.cookie : ana.cookie })));
    expect(answers.map((r) => r.status)).toEqual(Array(20).fill(200));
    expect((await usageOf(ana.token.refreshToken!)).refreshes - before.ana).toBe(1);
    expect((await usageOf(eva.token.refreshToken!)).refreshes - before.eva).toBe(1);
    // The EU accounts server saw exactly Eva's refresh (the US one would have refused it: invalid_client).
    expect((await refreshesAt('eu')) - before.eu).toBe(1);
  });

  it('a login from a data center this deployment does not serve gets a sentence, and no secret leaves', async () => {
    const { consent: consentUrl, stateCookie } = await startLogin();
    const back = await consent(consentUrl, 'ana@example.com');
    back.searchParams.set('accounts-server', 'https://accounts.zoho.in');
    back.searchParams.set('location', 'in');
    const refused = await call(back.toString(), { cookie: stateCookie });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain('Your Zoho account is in Zoho&#39;s India data center, which this service does not serve.');
    const unknown = await call(back.toString().replace('accounts.zoho.in', 'accounts.evil.example'), { cookie: stateCookie });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('an accounts server this service does not use');
    // The code was never exchanged: it is still good for one exchange at its own server.
    const oauth = zohoOAuth({ accountsUrl: ZOHO, ...client, redirectUrl: `${APP}/auth/callback` });
    const codeVerifier = await pkceVerifierOf(stateCookie, back.searchParams.get('state')!);
    await expect(oauth.exchangeGrant(back.searchParams.get('code')!, { codeVerifier })).resolves.toMatchObject({ refreshToken: expect.any(String) });
  });
});

/** The user-object binding, recording where objects are asked for (workerd itself cannot place them). */
function recordingNamespace() {
  const base = env.ZOHO_USERS;
  const seen: { jurisdiction: string | null; locationHint: string | null }[] = [];
  const wrap = (jurisdiction: string | null) => ({
    idFromName: (name: string) => base.idFromName(name),
    idFromString: (id: string) => base.idFromString(id),
    get: (id: DurableObjectId, options?: { locationHint?: string }) => {
      seen.push({ jurisdiction, locationHint: options?.locationHint ?? null });
      return base.get(id);
    },
    jurisdiction: (name: string) => wrap(name),
  });
  return { seen, binding: wrap(null) };
}

describe('residency: where each user’s object is placed', () => {
  it('every data center has a placement: EU in the eu jurisdiction, the others a location hint', () => {
    expect(Object.keys(DATA_CENTER_PLACEMENT).sort()).toEqual(['au', 'ca', 'cn', 'eu', 'in', 'jp', 'sa', 'uk', 'us']);
    // The United Kingdom is not in the EU jurisdiction: a hint for western Europe.
    expect(DATA_CENTER_PLACEMENT.uk).toEqual({ locationHint: 'weur' });
    for (const [dc, placement] of Object.entries(DATA_CENTER_PLACEMENT)) {
      if (dc === 'eu') expect(placement).toEqual({ jurisdiction: 'eu' });
      else expect(Object.keys(placement)).toEqual(['locationHint']);
    }
  });

  it('a login through the Worker asks the binding for the eu jurisdiction for an EU user, a hint for a US user', async () => {
    const recorder = recordingNamespace();
    const placed = { ...env, OBJECT_PLACEMENT: 'on', ZOHO_USERS: recorder.binding } as unknown as Env;
    const fetchWorker = async (url: string, cookie?: string) =>
      worker.fetch(new Request(url.startsWith('http') ? url : `${APP}${url}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' }), placed);
    for (const [email, expected] of [
      ['eva@example.eu', { jurisdiction: 'eu', locationHint: null }],
      ['ana@example.com', { jurisdiction: null, locationHint: 'enam' }],
    ] as const) {
      recorder.seen.length = 0;
      const start = await fetchWorker('/auth/login');
      const back = await consent(new URL(start.headers.get('location')!), email);
      const done = await fetchWorker(back.toString(), cookieFrom(start, '__Host-ets-state'));
      expect(done.status).toBe(302);
      expect(recorder.seen).toContainEqual(expected);
      expect(recorder.seen.every((s) => s.jurisdiction === expected.jurisdiction && s.locationHint === expected.locationHint)).toBe(true);
      const me = await fetchWorker('/auth/me', cookieFrom(done, '__Host-ets-session'));
      expect(await me.json()).toMatchObject({ loggedIn: true, dataCenter: email.endsWith('.eu') ? 'eu' : 'us' });
    }
  });
});

afterAll(async () => {
  logSpy.mockRestore();
  expectNothingLeaked([ana.token, eva.token], ['ana@example', 'eva@example']);
});
