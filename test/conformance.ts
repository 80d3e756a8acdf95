/**
 * The one conformance suite. Every backend runs it unchanged, in its own runtime:
 *   runConformance('memory', () => createMemoryStore())
 * Each test gets a fresh, empty store from the factory.
 */
import { beforeEach, describe, expect, it } from 'vitest';
import { TokenStoreError } from '../src/store/errors.ts';
import type { OAuthToken, TokenQuery, TokenStore } from '../src/store/types.ts';

export type StoreFactory = () => TokenStore | Promise<TokenStore>;

const client = { clientId: '1000.CLIENTAAAA', clientSecret: 'client-secret-0001' };

/** A complete token for user n, every secret distinct. */
export function sampleToken(n: number, extra: TokenQuery = {}): TokenQuery {
  return {
    userName: `user${n}@example.com:org${n}`,
    ...client,
    refreshToken: `1000.refresh.${n}.aaaaaaaaaaaaaaaa`,
    accessToken: `1000.access.${n}.bbbbbbbbbbbbbbbb`,
    grantToken: null,
    expiryTime: 1_800_000_000_000 + n,
    redirectUrl: 'https://app.example.com/oauth/callback',
    apiDomain: 'https://www.zohoapis.eu',
    ...extra,
  };
}

async function expectCode(promise: Promise<unknown>, code: TokenStoreError['code']): Promise<TokenStoreError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected TokenStoreError ${code}, but the call succeeded`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenStoreError);
  expect((error as TokenStoreError).code).toBe(code);
  return error as TokenStoreError;
}

const byId = (a: OAuthToken, b: OAuthToken) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function runConformance(name: string, factory: StoreFactory): void {
  describe(`TokenStore conformance: ${name}`, () => {
    let store: TokenStore;
    beforeEach(async () => {
      store = await factory();
    });

    async function snapshot(): Promise<OAuthToken[]> {
      return (await store.getTokens()).sort(byId);
    }

    describe('saveToken and findTokenById', () => {
      it('assigns an id on first save and returns exactly what is stored', async () => {
        const saved = await store.saveToken(sampleToken(1));
        expect(saved.id).toMatch(/\S/);
        expect(saved).toEqual({ id: saved.id, ...sampleToken(1) });
        expect(await store.findTokenById(saved.id)).toEqual(saved);
      });

      it('fills fields the first save leaves out with null', async () => {
        const saved = await store.saveToken({ refreshToken: 'r-only', ...client });
        expect(saved).toEqual({
          id: saved.id,
          userName: null,
          ...client,
          refreshToken: 'r-only',
          accessToken: null,
          grantToken: null,
          expiryTime: null,
          redirectUrl: null,
          apiDomain: null,
        });
      });

      it('keeps a caller-given id on insert', async () => {
        const saved = await store.saveToken({ id: 'given-id-7', ...sampleToken(7) });
        expect(saved.id).toBe('given-id-7');
        expect((await store.findTokenById('given-id-7'))?.userName).toBe(sampleToken(7).userName);
      });

      it('returns null from findTokenById when nothing has the id', async () => {
        await store.saveToken(sampleToken(1));
        expect(await store.findTokenById('no-such-id')).toBeNull();
      });
    });

    describe('findToken precedence', () => {
      let one: OAuthToken;
      let two: OAuthToken;
      beforeEach(async () => {
        one = await store.saveToken(sampleToken(1));
        two = await store.saveToken(sampleToken(2, { grantToken: '1000.grant.2.cccc' }));
      });

      it('rule 1: a user name matches on the user name alone', async () => {
        expect(await store.findToken({ userName: one.userName! })).toEqual(one);
        // other fields, even ones pointing at another record, are ignored
        expect(await store.findToken({ userName: one.userName!, accessToken: two.accessToken!, id: two.id })).toEqual(one);
      });

      it('rule 1: an unknown user name does not fall through to other fields', async () => {
        expect(await store.findToken({ userName: 'nobody@example.com:1', accessToken: one.accessToken! })).toBeNull();
      });

      it('rule 1: an empty user name counts as absent', async () => {
        expect(await store.findToken({ userName: '', accessToken: one.accessToken! })).toEqual(one);
      });

      it('rule 2: an access token without client credentials matches on the access token', async () => {
        expect(await store.findToken({ accessToken: two.accessToken! })).toEqual(two);
        expect(await store.findToken({ accessToken: 'unknown-access' })).toBeNull();
      });

      it('rule 2 does not apply when a client id or secret is given', async () => {
        expect(await store.findToken({ accessToken: one.accessToken!, clientId: client.clientId })).toBeNull();
        expect(await store.findToken({ accessToken: one.accessToken!, clientSecret: client.clientSecret })).toBeNull();
      });

      it('rule 3: a refresh token with client id and secret matches', async () => {
        expect(await store.findToken({ refreshToken: one.refreshToken!, ...client })).toEqual(one);
      });

      it('rule 3: a refresh token alone does not match (the SDK slip)', async () => {
        expect(await store.findToken({ refreshToken: one.refreshToken! })).toBeNull();
        expect(await store.findToken({ refreshToken: one.refreshToken!, clientId: client.clientId })).toBeNull();
        expect(await store.findToken({ refreshToken: one.refreshToken!, clientSecret: client.clientSecret })).toBeNull();
      });

      it('rule 3: a different client id does not match', async () => {
        expect(await store.findToken({ refreshToken: one.refreshToken!, clientId: '1000.OTHER', clientSecret: client.clientSecret })).toBeNull();
        expect(await store.findToken({ grantToken: two.grantToken!, clientId: '1000.OTHER', clientSecret: client.clientSecret })).toBeNull();
      });

      it('rule 3: a grant token takes precedence over the refresh token', async () => {
        expect(await store.findToken({ grantToken: two.grantToken!, refreshToken: one.refreshToken!, ...client })).toEqual(two);
        expect(await store.findToken({ grantToken: 'unknown-grant', refreshToken: one.refreshToken!, ...client })).toBeNull();
      });

      it('rule 4: an id alone matches on the id', async () => {
        expect(await store.findToken({ id: two.id })).toEqual(two);
        expect(await store.findToken({ id: 'no-such-id' })).toBeNull();
      });

      it('a query no rule covers matches nothing', async () => {
        expect(await store.findToken({})).toBeNull();
        expect(await store.findToken({ ...client })).toBeNull();
        expect(await store.findToken({ apiDomain: one.apiDomain!, expiryTime: one.expiryTime! })).toBeNull();
        expect(await store.findToken({ grantToken: two.grantToken! })).toBeNull();
      });
    });

    describe('upsert', () => {
      it('updates the record with the given id, keeping fields the save leaves out', async () => {
        const first = await store.saveToken(sampleToken(1));
        const next = await store.saveToken({ id: first.id, accessToken: 'new-access', expiryTime: 42 });
        expect(next).toEqual({ ...first, accessToken: 'new-access', expiryTime: 42 });
        expect(await snapshot()).toEqual([next]);
        expect(await store.findToken({ accessToken: first.accessToken! })).toBeNull();
        expect(await store.findToken({ accessToken: 'new-access' })).toEqual(next);
      });

      it('clears a field saved as null', async () => {
        const first = await store.saveToken(sampleToken(1, { grantToken: 'g-1' }));
        const next = await store.saveToken({ id: first.id, grantToken: null });
        expect(next.grantToken).toBeNull();
        expect(await store.findToken({ grantToken: 'g-1', ...client })).toBeNull();
      });

      it('updates the record rules 1-3 find when the save has no stored id', async () => {
        const first = await store.saveToken(sampleToken(1));
        const byUser = await store.saveToken({ userName: first.userName!, accessToken: 'a-2' });
        expect(byUser.id).toBe(first.id);
        const byRefresh = await store.saveToken({ refreshToken: first.refreshToken!, ...client, accessToken: 'a-3' });
        expect(byRefresh.id).toBe(first.id);
        const byUnstoredId = await store.saveToken({ id: 'not-stored', userName: first.userName!, expiryTime: 7 });
        expect(byUnstoredId.id).toBe(first.id);
        expect(await snapshot()).toEqual([{ ...first, accessToken: 'a-3', expiryTime: 7 }]);
      });

      it('never duplicates a token: the same save twice gives one record', async () => {
        const a = await store.saveToken(sampleToken(1));
        const b = await store.saveToken(sampleToken(1));
        expect(b.id).toBe(a.id);
        expect(await store.getTokens()).toHaveLength(1);
      });

      it('refuses to give a second record a token another record holds', async () => {
        await store.saveToken(sampleToken(1));
        const before = await snapshot();
        const error = await expectCode(store.saveToken(sampleToken(2, { refreshToken: sampleToken(1).refreshToken })), 'CONFLICT');
        expect(error.message).not.toContain(sampleToken(1).refreshToken);
        await expectCode(store.saveToken({ userName: 'other:1', accessToken: sampleToken(1).accessToken }), 'CONFLICT');
        expect(await snapshot()).toEqual(before);
      });

      it('keeps many users apart', async () => {
        const saved = [];
        for (let n = 0; n < 20; n++) saved.push(await store.saveToken(sampleToken(n)));
        expect(new Set(saved.map((t) => t.id)).size).toBe(20);
        for (let n = 0; n < 20; n++) {
          expect(await store.findToken({ userName: sampleToken(n).userName! })).toEqual(saved[n]);
          expect(await store.findToken({ refreshToken: sampleToken(n).refreshToken!, ...client })).toEqual(saved[n]);
        }
        expect(await snapshot()).toEqual([...saved].sort(byId));
      });

      it('50 concurrent saves for one user leave exactly one record', async () => {
        const saves = Array.from({ length: 50 }, (_, i) => store.saveToken(sampleToken(1, { accessToken: `concurrent-access-${i}`, expiryTime: 1000 + i })));
        const results = await Promise.all(saves);
        expect(new Set(results.map((t) => t.id)).size).toBe(1);
        const all = await store.getTokens();
        expect(all).toHaveLength(1);
        expect(results.map((t) => t.accessToken)).toContain(all[0]!.accessToken);
      });
    });

    describe('delete and list', () => {
      it('deleteToken removes one record and nothing else', async () => {
        const a = await store.saveToken(sampleToken(1));
        const b = await store.saveToken(sampleToken(2));
        await store.deleteToken(a.id);
        expect(await store.findTokenById(a.id)).toBeNull();
        expect(await store.findToken({ userName: a.userName! })).toBeNull();
        expect(await store.findToken({ refreshToken: a.refreshToken!, ...client })).toBeNull();
        expect(await snapshot()).toEqual([b]);
      });

      it('deleteToken of an id that is not stored changes nothing', async () => {
        const a = await store.saveToken(sampleToken(1));
        await store.deleteToken('no-such-id');
        expect(await snapshot()).toEqual([a]);
      });

      it('a deleted user can be saved again', async () => {
        const a = await store.saveToken(sampleToken(1));
        await store.deleteToken(a.id);
        const again = await store.saveToken(sampleToken(1));
        expect(again.id).not.toBe(a.id);
        expect(await store.findToken({ userName: a.userName! })).toEqual(again);
      });

      it('deleteTokens removes everything; getTokens then lists nothing', async () => {
        for (let n = 0; n < 5; n++) await store.saveToken(sampleToken(n));
        expect(await store.getTokens()).toHaveLength(5);
        await store.deleteTokens();
        expect(await store.getTokens()).toEqual([]);
        expect(await store.findToken({ userName: sampleToken(3).userName! })).toBeNull();
        expect(await store.findToken({ accessToken: sampleToken(3).accessToken! })).toBeNull();
      });

      it('getTokens on an empty store is an empty list', async () => {
        expect(await store.getTokens()).toEqual([]);
      });
    });

    describe('awkward values', () => {
      const awkward: Record<string, string> = {
        quotes: `it's "quoted" \\ back\\slash`,
        sql: `x'; DROP TABLE oauthtoken; --`,
        csv: 'a,b\r\nc,"d"',
        unicode: 'Zoë 東京 مرحبا 🔑 \u0000 \u2028',
        long: 'L'.repeat(4096),
      };
      for (const [label, value] of Object.entries(awkward)) {
        it(`stores and finds ${label} values exactly`, async () => {
          const token = sampleToken(1, {
            userName: `${value}:user`,
            refreshToken: `${value}:refresh`,
            accessToken: `${value}:access`,
            clientSecret: `${value}:secret`,
            redirectUrl: value,
          });
          const saved = await store.saveToken(token);
          expect(saved).toEqual({ id: saved.id, ...token });
          expect(await store.findToken({ userName: token.userName! })).toEqual(saved);
          expect(await store.findToken({ accessToken: token.accessToken! })).toEqual(saved);
          expect(await store.findToken({ refreshToken: token.refreshToken!, clientId: token.clientId!, clientSecret: 'x' })).toEqual(saved);
          expect(await store.findTokenById(saved.id)).toEqual(saved);
        });
      }
    });

    describe('bad input is rejected and changes nothing', () => {
      const secretUser = 'secret-user@example.com:99';
      const badQueries: [string, unknown][] = [
        ['null', null],
        ['a string', 'user@example.com'],
        ['an array', [sampleToken(1)]],
        ['a number field', { userName: 5 }],
        ['an object field', { accessToken: { value: 'x' } }],
        ['a string expiry', { userName: secretUser, expiryTime: '1700000000000' }],
        ['a fractional expiry', { expiryTime: 1.5 }],
        ['a negative expiry', { expiryTime: -1 }],
        ['an unknown field', { refresh_token: 'snake-case' }],
        ['an empty id', { id: '' }],
        ['a non-string id', { id: 12 }],
        ['an overlong value', { accessToken: 'x'.repeat(100_000) }],
      ];

      for (const [label, query] of badQueries) {
        it(`findToken rejects ${label}`, async () => {
          await store.saveToken(sampleToken(1));
          const before = await snapshot();
          await expectCode(store.findToken(query as TokenQuery), 'INVALID_INPUT');
          expect(await snapshot()).toEqual(before);
        });

        it(`saveToken rejects ${label}`, async () => {
          await store.saveToken(sampleToken(1));
          const before = await snapshot();
          const error = await expectCode(store.saveToken(query as TokenQuery), 'INVALID_INPUT');
          expect(error.message).not.toContain(secretUser);
          expect(await snapshot()).toEqual(before);
        });
      }

      it('saveToken rejects a save that carries no token at all', async () => {
        await store.saveToken(sampleToken(1));
        const before = await snapshot();
        await expectCode(store.saveToken({}), 'INVALID_INPUT');
        await expectCode(store.saveToken({ userName: 'new-user:1', ...client }), 'INVALID_INPUT');
        await expectCode(store.saveToken({ id: 'not-stored', expiryTime: 5 }), 'INVALID_INPUT');
        expect(await snapshot()).toEqual(before);
      });

      it('saveToken rejects clearing the last token of a stored record', async () => {
        const a = await store.saveToken({ userName: 'u:1', refreshToken: 'r', ...client });
        await expectCode(store.saveToken({ id: a.id, refreshToken: null }), 'INVALID_INPUT');
        expect(await snapshot()).toEqual([a]);
      });

      for (const [label, id] of [
        ['an empty id', ''],
        ['a number', 7],
        ['undefined', undefined],
        ['an object', { id: 'x' }],
        ['an overlong id', 'i'.repeat(1000)],
      ] as const) {
        it(`findTokenById and deleteToken reject ${label}`, async () => {
          await store.saveToken(sampleToken(1));
          const before = await snapshot();
          await expectCode(store.findTokenById(id as string), 'INVALID_INPUT');
          await expectCode(store.deleteToken(id as string), 'INVALID_INPUT');
          expect(await snapshot()).toEqual(before);
        });
      }
    });
  });
}
