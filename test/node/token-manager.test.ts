import { describe, expect, it } from 'vitest';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { localZoho, REDIRECT } from '../shared/local-zoho.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

/** A logged-in user whose access token has expired. */
async function expiredUser() {
  const z = localZoho();
  const store = createMemoryStore();
  const manager = z.manager(store);
  const saved = await manager.exchangeGrant(z.grant());
  await store.saveToken({ id: saved.id, expiryTime: Date.now() - 1 });
  z.zoho.resetCounts();
  return { ...z, store, manager, saved };
}

describe('token manager', () => {
  it('exchangeGrant names the user email:orgId and stores every field', async () => {
    const z = localZoho();
    const store = createMemoryStore();
    const token = await z.manager(store).exchangeGrant(z.grant('bo@example.com'));
    expect(token).toMatchObject({
      userName: 'bo@example.com:7002',
      clientId: '1000.LOCALCLIENT',
      grantToken: null,
      redirectUrl: REDIRECT,
      apiDomain: 'http://zoho.local',
    });
    expect(await store.findToken({ userName: 'bo@example.com:7002' })).toEqual(token);
  });

  it('a second login updates the same record and revokes the replaced refresh token', async () => {
    const z = localZoho();
    const store = createMemoryStore();
    const manager = z.manager(store);
    const first = await manager.exchangeGrant(z.grant());
    const second = await manager.exchangeGrant(z.grant());
    expect(second.id).toBe(first.id);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect(await store.getTokens()).toHaveLength(1);
    expect(z.zoho.usageOf(first.refreshToken!).liveAccessTokens).toBe(0);
    expect(z.zoho.counts().revokes).toBe(1);
  });

  it('returns a fresh token without calling Zoho', async () => {
    const z = localZoho();
    const manager = z.manager();
    const saved = await manager.exchangeGrant(z.grant());
    const before = z.zoho.counts().refreshes;
    const got = await manager.getAccessToken({ userName: saved.userName! });
    expect(got.accessToken).toBe(saved.accessToken);
    expect(z.zoho.counts().refreshes).toBe(before);
  });

  it('100 concurrent callers with one expired token cause exactly one refresh', async () => {
    const { manager, zoho, saved, store } = await expiredUser();
    const queries = [{ id: saved.id }, { userName: saved.userName! }, { refreshToken: saved.refreshToken!, clientId: saved.clientId!, clientSecret: 'x' }];
    const results = await Promise.all(Array.from({ length: 100 }, (_, i) => manager.getAccessToken(queries[i % 3]!)));
    expect(zoho.counts().refreshes).toBe(1);
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    const stored = (await store.findTokenById(saved.id))!;
    expect(stored.accessToken).toBe(results[0]!.accessToken);
    expect(stored.refreshToken).toBe(saved.refreshToken); // kept: the refresh answer had none
    expect(stored.expiryTime).toBeGreaterThan(Date.now() + 3_500_000);
  });

  it('refreshes within skewMs of expiry (default 5 s), not before', async () => {
    const { manager, zoho, saved, store } = await expiredUser();
    await store.saveToken({ id: saved.id, expiryTime: Date.now() + 6_000 });
    await manager.getAccessToken({ id: saved.id });
    expect(zoho.counts().refreshes).toBe(0);
    await store.saveToken({ id: saved.id, expiryTime: Date.now() + 4_000 });
    await manager.getAccessToken({ id: saved.id });
    expect(zoho.counts().refreshes).toBe(1);
  });

  it('refreshes a token that has no access token', async () => {
    const { manager, zoho, saved, store } = await expiredUser();
    await store.saveToken({ id: saved.id, accessToken: null });
    expect((await manager.getAccessToken({ id: saved.id })).accessToken).toMatch(/^1000\.access\./);
    expect(zoho.counts().refreshes).toBe(1);
  });

  it('after 11 forced refreshes in 10 minutes, surfaces the retryable Access Denied and keeps the token', async () => {
    const { manager, saved, store } = await expiredUser();
    for (let i = 0; i < 10; i++) await manager.refreshNow({ id: saved.id });
    const before = await store.findTokenById(saved.id);
    const error = await tokenErrorOf(manager.refreshNow({ id: saved.id }));
    expect(error.code).toBe('ZOHO_RATE_LIMITED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThan(0);
    expect(await store.findTokenById(saved.id)).toEqual(before);
  });

  it("after Access Denied, waits out the rest of Zoho's ten-minute window (from the first of its mints there) without calling Zoho [notes: Limits]", async () => {
    const z = localZoho();
    const store = createMemoryStore();
    // The manager's clock is fixed and moved by hand, with Zoho's: the waits are exact.
    let now = Date.now();
    const advance = (ms: number) => ((now += ms), z.zoho.advance(ms));
    const manager = z.manager(store, { now: () => now });
    const saved = await manager.exchangeGrant(z.grant());
    advance(60 * 60_000);
    for (let i = 0; i < 10; i++) await manager.refreshNow({ id: saved.id });
    const denied = await tokenErrorOf(manager.refreshNow({ id: saved.id }));
    expect([denied.code, denied.retryAfterMs]).toEqual(['ZOHO_RATE_LIMITED', 10 * 60_000]);
    // Four minutes on: blocked still, for the six minutes left, and Zoho is not asked again.
    advance(4 * 60_000);
    const refreshes = z.zoho.counts().refreshes;
    const later = await tokenErrorOf(manager.refreshNow({ id: saved.id }));
    expect([later.code, later.retryAfterMs]).toEqual(['ZOHO_RATE_LIMITED', 6 * 60_000]);
    expect(z.zoho.counts().refreshes).toBe(refreshes);
    advance(6 * 60_000);
    await manager.refreshNow({ id: saved.id });
    expect(z.zoho.counts().refreshes).toBe(refreshes + 1);
  });

  it('a revoked refresh token gives REAUTH_REQUIRED and the dead record is not kept', async () => {
    const { manager, oauth, saved, store } = await expiredUser();
    await oauth.revoke(saved.refreshToken!);
    const error = await tokenErrorOf(manager.getAccessToken({ id: saved.id }));
    expect(error.code).toBe('REAUTH_REQUIRED');
    expect(await store.findTokenById(saved.id)).toBeNull();
    expect((await tokenErrorOf(manager.getAccessToken({ id: saved.id }))).code).toBe('NOT_FOUND');
  });

  it('a network failure during refresh leaves the stored token as it was', async () => {
    const { manager, zoho, saved, store } = await expiredUser();
    const before = await store.findTokenById(saved.id);
    zoho.overrideTokenEndpoint(() => {
      throw new TypeError('connection refused');
    });
    const error = await tokenErrorOf(manager.getAccessToken({ id: saved.id }));
    expect([error.code, error.retryable]).toEqual(['ZOHO_UNAVAILABLE', true]);
    expect(await store.findTokenById(saved.id)).toEqual(before);
  });

  it('unknown queries are NOT_FOUND and bad queries INVALID_INPUT', async () => {
    const manager = localZoho().manager();
    expect((await tokenErrorOf(manager.getAccessToken({ userName: 'nobody:1' }))).code).toBe('NOT_FOUND');
    expect((await tokenErrorOf(manager.getAccessToken({ userName: 7 } as never))).code).toBe('INVALID_INPUT');
  });

  it('revoke revokes at Zoho and deletes the record', async () => {
    const z = localZoho();
    const store = createMemoryStore();
    const manager = z.manager(store);
    const saved = await manager.exchangeGrant(z.grant());
    await manager.revoke({ userName: saved.userName! });
    expect(await store.getTokens()).toEqual([]);
    expect((await tokenErrorOf(z.oauth.refresh(saved.refreshToken!))).code).toBe('REAUTH_REQUIRED');
  });
});

describe('token manager: CRM calls with retry once', () => {
  it('calls the CRM with the access token', async () => {
    const z = localZoho();
    const manager = z.manager();
    const saved = await manager.exchangeGrant(z.grant());
    const created = await manager.fetchCrm({ id: saved.id }, '/crm/v8/Leads', {
      method: 'POST',
      body: JSON.stringify({ data: [{ Last_Name: 'Lovelace' }] }),
    });
    expect(created.status).toBe(201);
    const list = await manager.fetchCrm({ id: saved.id }, '/crm/v8/Leads?fields=Last_Name');
    expect(((await list.json()) as { data: { Last_Name: string }[] }).data[0]!.Last_Name).toBe('Lovelace');
  });

  it('gets record ids as Zoho writes them, 19-digit strings, and reads a record back by its id', async () => {
    const z = localZoho();
    const manager = z.manager();
    const saved = await manager.exchangeGrant(z.grant());
    const ids: string[] = [];
    for (const name of ['Lovelace', 'Hopper']) {
      const created = await manager.fetchCrm({ id: saved.id }, '/crm/v8/Leads', { method: 'POST', body: JSON.stringify({ data: [{ Last_Name: name }] }) });
      const text = await created.text();
      const id = (JSON.parse(text) as { data: { details: { id: unknown } }[] }).data[0]!.details.id;
      // A string in the JSON itself, not a number a parser would round.
      expect(text).toContain(`"id":"${String(id)}"`);
      expect(id).toMatch(/^[1-9]\d{18}$/);
      ids.push(id as string);
    }
    expect(new Set(ids).size).toBe(2);
    for (const [i, id] of ids.entries()) {
      const one = await manager.fetchCrm({ id: saved.id }, `/crm/v8/Leads/${id}`);
      expect(((await one.json()) as { data: { id: string; Last_Name: string }[] }).data[0]).toMatchObject({ id, Last_Name: ['Lovelace', 'Hopper'][i] });
    }
  });

  it('on 401 INVALID_TOKEN refreshes once and retries once, resending the body', async () => {
    const z = localZoho();
    const store = createMemoryStore();
    const manager = z.manager(store);
    const saved = await manager.exchangeGrant(z.grant());
    // The stored access token looks fresh but Zoho no longer accepts it (the 15-token limit did this).
    await store.saveToken({ id: saved.id, accessToken: '1000.access.dead' });
    const before = z.zoho.counts().refreshes;
    const body = new Blob([JSON.stringify({ data: [{ Last_Name: 'Hopper' }] })]).stream();
    const response = await manager.fetchCrm({ id: saved.id }, '/crm/v8/Leads', { method: 'POST', body, duplex: 'half' } as RequestInit);
    expect(response.status).toBe(201);
    expect(z.zoho.counts().refreshes).toBe(before + 1);
    expect(z.zoho.counts().crmRejected).toBe(1);
  });

  it('50 concurrent calls that all hit 401 share one refresh', async () => {
    const z = localZoho();
    const store = createMemoryStore();
    const manager = z.manager(store);
    const saved = await manager.exchangeGrant(z.grant());
    await store.saveToken({ id: saved.id, accessToken: '1000.access.dead' });
    const before = z.zoho.counts().refreshes;
    const responses = await Promise.all(Array.from({ length: 50 }, () => manager.fetchCrm({ id: saved.id }, '/crm/v8/org')));
    expect(responses.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(z.zoho.counts().refreshes).toBe(before + 1);
  });

  it('retries at most once', async () => {
    const z = localZoho();
    const manager = z.manager(createMemoryStore(), { fetch: async () => Response.json({ code: 'AUTHENTICATION_FAILURE' }, { status: 401 }) });
    const saved = await manager.exchangeGrant(z.grant());
    const before = z.zoho.counts().refreshes;
    expect((await manager.fetchCrm({ id: saved.id }, '/crm/v8/org')).status).toBe(401);
    expect(z.zoho.counts().refreshes).toBe(before + 1);
  });

  it('refuses a path that leaves the API domain', async () => {
    const z = localZoho();
    const manager = z.manager();
    const saved = await manager.exchangeGrant(z.grant());
    for (const path of ['//evil.example/crm', 'https://evil.example/crm', 'crm/v8/org']) {
      expect((await tokenErrorOf(manager.fetchCrm({ id: saved.id }, path))).code).toBe('INVALID_INPUT');
    }
  });
});

describe('token manager: API domains', () => {
  it('sends a token only to an allowed API domain', async () => {
    const z = localZoho();
    const store = createMemoryStore();
    const manager = z.manager(store);
    const saved = await manager.exchangeGrant(z.grant());
    await store.saveToken({ id: saved.id, apiDomain: 'https://www.zohoapis.evil.example' });
    expect((await tokenErrorOf(manager.fetchCrm({ id: saved.id }, '/crm/v8/org'))).code).toBe('INVALID_INPUT');
    const strict = z.manager(store, { isAllowedApiDomain: (origin) => origin === 'https://www.zohoapis.eu' });
    await store.saveToken({ id: saved.id, apiDomain: 'http://zoho.local' });
    expect((await tokenErrorOf(strict.fetchCrm({ id: saved.id }, '/crm/v8/org'))).code).toBe('INVALID_INPUT');
  });
});
