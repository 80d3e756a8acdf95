import { expect, it } from 'vitest';

// `npm test` builds before it runs vitest, so this imports what would be published.
it('the built core entry point imports and works in workerd', async () => {
  const { createMemoryStore, createCipher, TokenStoreError } = await import('../../dist/index.js');
  expect(typeof TokenStoreError).toBe('function');
  const store = createMemoryStore({ cipher: createCipher({ keys: { k1: 'A'.repeat(43) }, current: 'k1' }) });
  const saved = await store.saveToken({ userName: 'u:1', refreshToken: 'r' });
  expect(await store.findToken({ userName: 'u:1' })).toEqual(saved);
});
