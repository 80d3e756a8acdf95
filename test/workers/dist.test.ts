import { env } from 'cloudflare:workers';
import { expect, it } from 'vitest';
import './env.ts';

// `npm test` builds before it runs vitest, so these import what would be published.
it('every built entry point imports in workerd, and the stores work from dist/', async () => {
  const core = await import('../../dist/index.js');
  const kv = await import('../../dist/backends/kv.js');
  const durable = await import('../../dist/backends/durable-object.js');
  await import('../../dist/backends/idb.js');
  const cipher = core.createCipher({ keys: { k1: core.generateSecret() }, current: 'k1' });
  for (const store of [
    core.createMemoryStore({ cipher }),
    kv.createKVStore({ kv: env.TOKENS_KV, cipher, prefix: `dist-${Date.now()}:` }),
    durable.createDurableObjectStore({ namespace: env.TOKEN_STORE_OBJECTS, name: `dist-${Date.now()}` }),
  ]) {
    const saved = await store.saveToken({ userName: 'u:1', refreshToken: 'r' });
    expect(await store.findToken({ userName: 'u:1' })).toEqual(saved);
  }
  // The class a deployment binds is the one whose stub answered above.
  expect(durable.TokenStoreObject.name).toBe('TokenStoreObject');
});

it('the Worker library imports from dist/ in workerd and makes a handler', async () => {
  const worker = await import('../../dist/worker/index.js');
  const handler = worker.createZohoHandler({ basePath: '/zoho' });
  expect(await handler.route(new Request('https://app.example/elsewhere'), env as never)).toBeNull();
  // Its login route answers, from dist/: off to Zoho's consent page with a state and PKCE.
  const login = (await handler.route(new Request('https://app.example/zoho/auth/login'), env as never))!;
  expect(login.status).toBe(302);
  expect(new URL(login.headers.get('location')!).searchParams.get('code_challenge_method')).toBe('S256');
  // A request without a session has none; the whole Worker answers its health check.
  expect(await worker.getZohoSession(new Request('https://app.example/app'), env as never, {})).toBeNull();
  expect(await (await worker.createZohoWorker().fetch(new Request('https://app.example/healthz'), env as never)).json()).toEqual({ ok: true });
});

it('the Hono adapter imports from dist/ in workerd', async () => {
  const hono = await import('../../dist/hono/index.js');
  const { Hono } = await import('hono');
  const app = new Hono();
  app.route('/zoho', hono.zohoRoutes() as never);
  app.get('/app', hono.zohoSession() as never, hono.requireZoho() as never, (c) => c.text('in'));
  const login = await app.fetch(new Request('https://app.example/zoho/auth/login'), env);
  expect(login.status).toBe(302);
  expect((await app.fetch(new Request('https://app.example/app'), env)).status).toBe(401);
});
