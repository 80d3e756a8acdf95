// Purging idle tokens where a page keeps them: IndexedDB, sealed, in Chromium, with the
// manager's clock moved by the test. A page or extension does this when it opens its store.
import { describe, expect, inject, it } from 'vitest';
import { browserCipher, openIndexedDBStore } from '../../src/backends/idb.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import { localZohoAdmin } from '../shared/local-zoho-admin.ts';

const REDIRECT = 'https://app.example.com/callback';
const DAY = 86_400_000;
const client = { clientId: '1000.BROWSERPURGE', clientSecret: 'browser-purge-secret' };

const admin = localZohoAdmin(
  () => inject('zohoUrl'),
  () => inject('zohoAdminToken'),
);

describe('purge idle tokens in IndexedDB', () => {
  it('revokes at Zoho, then deletes, the tokens idle for the period; keeps the one in use', async () => {
    await admin('clients', { client_id: client.clientId, client_secret: client.clientSecret, redirect_uri: REDIRECT });
    const name = `purge-${Date.now()}`;
    const store = await openIndexedDBStore({ name, cipher: await browserCipher(`${name}-keys`) });
    const clock = { now: Date.now() };
    const oauth = zohoOAuth({ accountsUrl: inject('zohoUrl'), ...client, redirectUrl: REDIRECT, now: () => clock.now });
    const manager = createTokenManager({ store, oauth, now: () => clock.now, lock: null });
    const grant = async (email: string) => (await admin<{ code: string }>('grant', { client_id: client.clientId, email, redirect_uri: REDIRECT })).code;
    const idle = await manager.exchangeGrant(await grant('ana@example.com'));
    const inUse = await manager.exchangeGrant(await grant('bo@example.com'));

    clock.now += 91 * DAY;
    await manager.getAccessToken({ id: inUse.id }); // used today, so refreshed today
    expect(await manager.purgeIdle({ idleMs: 90 * DAY })).toEqual({ purged: 1, revokeFailed: 0 });
    expect((await store.getTokens()).map((t) => t.id)).toEqual([inUse.id]);
    await expect(oauth.refresh(idle.refreshToken!)).rejects.toMatchObject({ code: 'REAUTH_REQUIRED' });
  });
});
