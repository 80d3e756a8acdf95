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
    durable.createDurableObjectStore({ namespace: env.LIBRARY_STORE, name: `dist-${Date.now()}` }),
  ]) {
    const saved = await store.saveToken({ userName: 'u:1', refreshToken: 'r' });
    expect(await store.findToken({ userName: 'u:1' })).toEqual(saved);
  }
  expect(typeof durable.TokenStoreObject).toBe('function');
});

it('the Worker library imports from dist/ in workerd and makes a handler', async () => {
  const worker = await import('../../dist/worker/index.js');
  for (const name of ['ZohoUserObject', 'ZohoLoginStates', 'ZohoDirectory', 'createZohoWorker', 'createZohoHandler', 'getZohoSession']) expect(typeof worker[name as keyof typeof worker]).toBe('function');
  const handler = worker.createZohoHandler({ basePath: '/zoho' });
  expect(await handler.route(new Request('https://app.example/elsewhere'), env as never)).toBeNull();
});

it('the Hono adapter imports from dist/ in workerd', async () => {
  const hono = await import('../../dist/hono/index.js');
  for (const name of ['zohoRoutes', 'zohoSession', 'requireZoho']) expect(typeof hono[name as keyof typeof hono]).toBe('function');
});
