import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createDurableObjectStore } from '../../src/backends/durable-object.ts';
import { createTokenManager } from '../../src/zoho/token-manager.ts';
import { zohoOAuth } from '../../src/zoho/oauth.ts';
import './env.ts';
import { client, grant, refreshesOf, ZOHO } from './local-zoho.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

const REDIRECT = 'https://app.example.com/callback';

describe("single-flight refresh across Worker isolates, through the Durable Object store's lease", () => {
  it('20 isolates x 5 callers with one expired token cause exactly one refresh at Zoho', async () => {
    const name = `refresh-${Date.now()}`;

    const oauth = zohoOAuth({ accountsUrl: ZOHO, ...client, redirectUrl: REDIRECT });
    const login = createTokenManager({ store: createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name }), oauth });
    const saved = await login.exchangeGrant(await grant(client.clientId, REDIRECT));
    await createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name }).saveToken({ id: saved.id, expiryTime: Date.now() - 1 });

    // Each "isolate" has its own store client and manager, so nothing is shared but the object.
    const isolates = Array.from({ length: 20 }, () =>
      createTokenManager({ store: createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name }), oauth }),
    );
    const results = await Promise.all(isolates.flatMap((manager) => Array.from({ length: 5 }, () => manager.getAccessToken({ userName: saved.userName! }))));
    expect(new Set(results.map((r) => r.accessToken)).size).toBe(1);
    expect(results[0]!.accessToken).not.toBe(saved.accessToken);
    expect(await refreshesOf(saved.refreshToken!)).toBe(1);

    // A fresh token needs no refresh for a CRM call.
    const crm = await isolates[0]!.fetchCrm({ id: saved.id }, '/crm/v8/org');
    expect(crm.status).toBe(200);
    expect(await refreshesOf(saved.refreshToken!)).toBe(1);
  });

  it('reports a revoked refresh token as REAUTH_REQUIRED across RPC', async () => {
    const name = `revoked-${Date.now()}`;
    const store = createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name });
    const oauth = zohoOAuth({ accountsUrl: ZOHO, ...client, redirectUrl: REDIRECT });
    const manager = createTokenManager({ store, oauth });
    const saved = await manager.exchangeGrant(await grant(client.clientId, REDIRECT));
    await oauth.revoke(saved.refreshToken!);
    await store.saveToken({ id: saved.id, expiryTime: 0 });
    const error = await tokenErrorOf(manager.getAccessToken({ id: saved.id }));
    expect(error.code).toBe('REAUTH_REQUIRED');
    expect(await store.findTokenById(saved.id)).toBeNull();
  });
});
