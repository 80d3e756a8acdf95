/**
 * The attacks of the security review (issue 19), each tried against the Worker or the library
 * in workerd with the local Zoho, and each refused. One test per attack; what it proves is in
 * its name.
 */
import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/memory.ts';
import { createTokenManager } from '../../src/token-manager.ts';
import { zohoOAuth } from '../../src/zoho.ts';
import { tokenErrorOf } from '../shared/token-error.ts';
import './env.ts';
import { admin, client, grant } from './local-zoho.ts';
import { APP, call, consent, recordLogs, startLogin } from './worker-client.ts';

recordLogs();

const REDIRECT = 'https://app.example.com/callback';
/** An origin only this file uses at the local Zoho, so its redirect switches touch no other test. */
const DETOUR = 'http://detour.zoho.local';
const SINK = 'http://elsewhere.example/__sink/stolen';

const sinkHits = async () => ((await admin('sink', {})) as { hits: unknown[] }).hits.length;

describe('code injection', () => {
  it("a victim's code in the attacker's login (code injection) gives no session: PKCE fails at Zoho", async () => {
    // The victim's login reached Zoho and came back with a code they have not redeemed yet.
    const victim = await startLogin();
    const victimBack = await consent(victim.consent, 'ana@example.com');
    // The attacker starts a login of their own and calls the callback with their state and cookie, and the victim's code.
    const attacker = await startLogin();
    const injected = new URL(`${APP}/auth/callback`);
    injected.searchParams.set('state', attacker.consent.searchParams.get('state')!);
    injected.searchParams.set('code', victimBack.searchParams.get('code')!);
    injected.searchParams.set('accounts-server', victimBack.searchParams.get('accounts-server')!);
    const before = (await admin('counts', { client_id: client.clientId })) as { grantExchanges: number; grantsRefused: number };
    const refused = await call(injected.toString(), { cookie: attacker.stateCookie });
    expect(refused.status).toBe(400);
    expect(refused.headers.getSetCookie().some((c) => c.startsWith('__Host-ets-session=') && !c.includes('Max-Age=0'))).toBe(false);
    // Zoho saw the exchange and refused it: the verifier was derived from the attacker's login, the challenge from the victim's.
    const after = (await admin('counts', { client_id: client.clientId })) as { grantExchanges: number; grantsRefused: number };
    expect(after.grantExchanges - before.grantExchanges).toBe(1);
    expect(after.grantsRefused - before.grantsRefused).toBe(1);
  });

});

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
    const token = await store.saveToken({ userName: 'ana@example.com:7001', accessToken: 'at-1', refreshToken: 'rt-1', apiDomain: DETOUR, expiryTime: Date.now() + 3_600_000 });
    const error = await tokenErrorOf(manager.fetchCrm({ id: token.id }, '/crm/v8/Leads?fields=Last_Name', { method: 'POST', body: '{"data":[]}' }));
    expect(error.code).toBe('ZOHO_BAD_RESPONSE');
    expect(await sinkHits()).toBe(before);
  });
});
