// The drop-in store driven by the real Zoho TypeScript SDK (from npm), talking HTTP to the
// local Zoho through an Environment that points there.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_CLIENT } from 'edge-token-store/testing';
import { serveLocalZoho } from 'edge-token-store/testing/node';
import { getLeads, grantToken, initializeSdk, ZohoSdk as Zoho } from '../shared/official-sdk.ts';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import type { TokenStore } from '../../src/store/types.ts';
import { createZohoSdkStore } from '../../src/zoho/sdk-store.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';

const REDIRECT = 'https://app.example.com/callback';
const ANA = 'ana@example.com:7001';
const HOUR = 3_600_000;

/** A memory store that counts saves (the SDK saves after each refresh it makes). */
function countingStore() {
  const inner = createMemoryStore();
  const counts = { saves: 0 };
  const store: TokenStore = { ...inner, saveToken: (token) => (counts.saves++, inner.saveToken(token)) };
  return { store, counts };
}

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

async function sdkAgainstLocalZoho({ withManager = false } = {}) {
  const served = await serveLocalZoho();
  closers.push(served.close);
  const { store, counts } = countingStore();
  const oauth = zohoOAuth({ accountsUrl: served.url, ...DEFAULT_CLIENT, redirectUrl: REDIRECT });
  const manager = createTokenManager({ store, oauth, lock: null });
  const adapter = createZohoSdkStore({ sdk: Zoho, store, manager: withManager ? manager : undefined });
  const resourcePath = mkdtempSync(join(tmpdir(), 'ets-sdk-'));
  const zohoCounts = () => served.zoho.countsFor(DEFAULT_CLIENT.clientId);
  const initialize = (token: InstanceType<typeof Zoho.OAuthToken>) => initializeSdk(served.url, token, adapter, resourcePath);

  return {
    served,
    store,
    counts,
    adapter,
    zohoCounts,
    initialize,
    /** Initializes the SDK the way a new user does: with a grant token. */
    initWithGrant: (email = 'ana@example.com') => initialize(grantToken(served.zoho, email, REDIRECT)),
    /** A CRM record call through the SDK: the first Lead's last name, or the HTTP status when there is none. */
    async firstLead(): Promise<string | number> {
      const response = await getLeads();
      const body = response.getObject();
      if (body instanceof Zoho.Record.ResponseWrapper) return String(body.getData()[0]?.getKeyValue('Last_Name'));
      return response.getStatusCode();
    },
    /** Adds a Lead directly at the local Zoho, as the stored token's user. */
    async addLead(lastName: string) {
      const [token] = await store.getTokens();
      const response = await served.zoho.fetch(
        new Request(`${served.url}/crm/v8/Leads`, {
          method: 'POST',
          headers: { authorization: `Zoho-oauthtoken ${token!.accessToken}`, 'content-type': 'application/json' },
          body: JSON.stringify({ data: [{ Last_Name: lastName, Company: 'Analytical Engines' }] }),
        }),
      );
      expect(response.status).toBe(201);
    },
    /** Makes the stored access token expired, at Zoho and in the store. */
    async expire(id: string) {
      served.zoho.advance(HOUR);
      await store.saveToken({ id, expiryTime: Date.now() - 1_000 });
    },
  };
}

async function sdkError(promise: Promise<unknown>) {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(Zoho.SDKException);
  // The SDK declares `code` and `cause` private; they are set and readable at run time.
  return error as { code: string | null; message: string; cause: unknown };
}

describe('edge-token-store/zoho-sdk driven by the official SDK', () => {
  it('grant init exchanges once, stores the user under the SDK name, and sets the id on the given token', async () => {
    const sdk = await sdkAgainstLocalZoho();
    const token = await sdk.initWithGrant();
    const [stored, ...others] = await sdk.store.getTokens();
    expect(others).toEqual([]);
    expect(stored).toMatchObject({ userName: ANA, clientId: DEFAULT_CLIENT.clientId, redirectUrl: REDIRECT, apiDomain: sdk.served.url });
    expect(stored!.refreshToken).toBeTruthy();
    expect(stored!.expiryTime).toBeGreaterThan(Date.now());
    expect(token.getId()).toBe(stored!.id);
    expect(sdk.zohoCounts().grantExchanges).toBe(1);

    await sdk.addLead('Lovelace');
    expect(await sdk.firstLead()).toBe('Lovelace');
  });

  it('re-init by user name and by id reuses the stored token: no grant exchange, no refresh', async () => {
    const sdk = await sdkAgainstLocalZoho();
    const first = await sdk.initWithGrant();
    await sdk.addLead('Hopper');

    const byName = await sdk.initialize(new Zoho.OAuthBuilder().userSignature(new Zoho.UserSignature(ANA)).build());
    expect(byName.getId()).toBe(first.getId());
    expect(await sdk.firstLead()).toBe('Hopper');

    await sdk.initialize(new Zoho.OAuthBuilder().id(first.getId()!).build());
    expect(await sdk.firstLead()).toBe('Hopper');

    expect(sdk.zohoCounts()).toMatchObject({ grantExchanges: 1, refreshes: 0 });
    expect(await sdk.store.getTokens()).toHaveLength(1);
  });

  it('an expired token is refreshed once by the SDK and saved on the same id', async () => {
    const sdk = await sdkAgainstLocalZoho();
    const token = await sdk.initWithGrant();
    const id = token.getId()!;
    const before = await sdk.store.findTokenById(id);
    await sdk.expire(id);

    expect(await sdk.firstLead()).toBe(204);
    const after = await sdk.store.getTokens();
    expect(after).toHaveLength(1);
    expect(after[0]).toMatchObject({ id, userName: ANA, refreshToken: before!.refreshToken });
    expect(after[0]!.accessToken).not.toBe(before!.accessToken);
    expect(after[0]!.expiryTime).toBeGreaterThan(Date.now());
    expect(sdk.zohoCounts().refreshes).toBe(1);
  });

  it('token.remove() deletes the record through deleteToken', async () => {
    const sdk = await sdkAgainstLocalZoho();
    const token = await sdk.initWithGrant();
    await sdk.initWithGrant('bo@example.com');
    expect(await sdk.store.getTokens()).toHaveLength(2);
    expect(await token.remove()).toBe(true);
    expect((await sdk.store.getTokens()).map((t) => t.userName)).toEqual(['bo@example.com:7002']);
  });

  it('an unknown id fails with an SDKException, and the SDK makes no grant exchange', async () => {
    const sdk = await sdkAgainstLocalZoho();
    const error = await sdkError(sdk.initialize(new Zoho.OAuthBuilder().id('no-such-id').build()));
    expect(String(error.message)).toContain('no stored token has this id');
    expect(sdk.zohoCounts().grantExchanges).toBe(0);
    expect(await sdk.store.getTokens()).toEqual([]);
  });

  it('100 concurrent SDK calls with an expired token: 100 refreshes alone, 1 with the token manager', async () => {
    for (const withManager of [false, true]) {
      const sdk = await sdkAgainstLocalZoho({ withManager });
      const id = (await sdk.initWithGrant()).getId()!;
      await sdk.firstLead(); // the SDK fetches field metadata once; keep it out of the storm
      await sdk.expire(id);
      sdk.counts.saves = 0;

      const answers = await Promise.allSettled(Array.from({ length: 100 }, () => sdk.firstLead()));
      const served = answers.filter((a) => a.status === 'fulfilled').length;
      if (withManager) {
        expect(sdk.zohoCounts().refreshes).toBe(1);
        expect(sdk.counts.saves).toBe(1);
        expect(served).toBe(100);
      } else {
        // Every caller refreshes on its own; Zoho serves 10 and refuses the rest.
        expect(sdk.zohoCounts().refreshes).toBe(100);
        expect(sdk.zohoCounts().rateLimited).toBe(90);
        expect(served).toBe(10);
      }
    }
  });
});

describe('edge-token-store/zoho-sdk at its boundary', () => {
  async function storeWith(fields: Parameters<TokenStore['saveToken']>[0]) {
    const { store } = countingStore();
    const saved = await store.saveToken(fields);
    return { store, saved, adapter: createZohoSdkStore({ sdk: Zoho, store }) };
  }

  it('builds SDK tokens: expiry as a string of epoch ms, no UserSignature without a name', async () => {
    const named = await storeWith({ userName: ANA, refreshToken: 'r1', accessToken: 'a1', expiryTime: 1_900_000_000_123 });
    const token = await named.adapter.findTokenById(named.saved.id);
    expect(token).toBeInstanceOf(Zoho.OAuthToken);
    expect(token.getExpiresIn()).toBe('1900000000123');
    expect(token.getUserSignature()?.getName()).toBe(ANA);

    const nameless = await storeWith({ refreshToken: 'r2', accessToken: 'a2' });
    const plain = await nameless.adapter.findTokenById(nameless.saved.id);
    expect(plain.getUserSignature()).toBeNull();
    expect(plain.getExpiresIn()).toBeNull();
  });

  it('findToken fills the SDK partial token and returns it; the stored access token and expiry win as a pair', async () => {
    const { adapter, saved } = await storeWith({
      userName: ANA,
      clientId: 'c',
      clientSecret: 's',
      refreshToken: 'r1',
      accessToken: 'a-new',
      expiryTime: 1_900_000_000_000,
    });
    const given = new Zoho.OAuthBuilder().userSignature(new Zoho.UserSignature(ANA)).accessToken('a-stale').build();
    given.setExpiresIn('1000');
    const found = await adapter.findToken(given);
    expect(found).toBe(given);
    expect([given.getId(), given.getRefreshToken(), given.getAccessToken(), given.getExpiresIn()]).toEqual([saved.id, 'r1', 'a-new', '1900000000000']);
    expect(await adapter.findToken(new Zoho.OAuthBuilder().userSignature(new Zoho.UserSignature('nobody:1')).build())).toBeNull();
  });

  it('saveToken keeps stored fields the SDK token leaves empty', async () => {
    const { adapter, store, saved } = await storeWith({ userName: ANA, clientId: 'c', clientSecret: 's', refreshToken: 'r1', redirectUrl: REDIRECT });
    const token = new Zoho.OAuthBuilder().id(saved.id).accessToken('a9').build();
    token.setExpiresIn('1900000000000');
    await adapter.saveToken(token);
    expect(await store.findTokenById(saved.id)).toMatchObject({
      userName: ANA,
      clientId: 'c',
      refreshToken: 'r1',
      redirectUrl: REDIRECT,
      accessToken: 'a9',
      expiryTime: 1_900_000_000_000,
    });
  });

  it('bad input is an SDKException with our code, and nothing stored changes', async () => {
    const { adapter, store, saved } = await storeWith({ userName: ANA, refreshToken: 'r1' });
    const before = await store.getTokens();

    const plain = await sdkError(adapter.saveToken({ getId: () => saved.id } as unknown));
    expect(plain.code).toBe('INVALID_INPUT');

    const odd = new Zoho.OAuthBuilder().id(saved.id).accessToken('a9').build();
    odd.setExpiresIn('in an hour');
    expect((await sdkError(adapter.saveToken(odd))).code).toBe('INVALID_INPUT');

    const tokenless = new Zoho.OAuthBuilder().userSignature(new Zoho.UserSignature('new:1')).build();
    expect((await sdkError(adapter.saveToken(tokenless))).code).toBe('INVALID_INPUT');
    expect((await sdkError(adapter.findTokenById(''))).code).toBe('INVALID_INPUT');
    expect(await store.getTokens()).toEqual(before);
  });

  it('with a manager, a token without expiry is handed over as is (the SDK never refreshes those)', async () => {
    const { store, saved } = await storeWith({ userName: ANA, clientId: DEFAULT_CLIENT.clientId, clientSecret: 's', refreshToken: 'r1', accessToken: 'a1' });
    let refreshes = 0;
    const oauth = {
      ...zohoOAuth({ accountsUrl: 'http://127.0.0.1:9', ...DEFAULT_CLIENT }),
      refresh: async () => (refreshes++, Promise.reject(new Error('no'))),
    };
    const adapter = createZohoSdkStore({ sdk: Zoho, store, manager: createTokenManager({ store, oauth, lock: null }) });
    expect((await adapter.findTokenById(saved.id)).getAccessToken()).toBe('a1');
    expect(refreshes).toBe(0);
  });

  it('refuses a skew inside the SDK window and an incomplete sdk', () => {
    const store = createMemoryStore();
    expect(() => createZohoSdkStore({ sdk: Zoho, store, skewMs: 5_000 })).toThrow(/skewMs/);
    expect(() => createZohoSdkStore({ sdk: { OAuthToken: Zoho.OAuthToken } as never, store })).toThrow(/OAuthToken, UserSignature, SDKException/);
  });
});
