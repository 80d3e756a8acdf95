import { describe, expect, it } from 'vitest';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { createMemoryStore } from '../../src/backends/memory.ts';
import { runConformance, sampleToken } from '../conformance.ts';

runConformance('memory', () => createMemoryStore());
runConformance('memory, sealed', () => createMemoryStore({ cipher: createCipher({ keys: { k1: generateSecret() }, current: 'k1' }) }));

describe('memory store', () => {
  it('keeps separate stores apart', async () => {
    const a = createMemoryStore();
    const b = createMemoryStore();
    await a.saveToken(sampleToken(1));
    expect(await b.getTokens()).toEqual([]);
  });

  it('returns copies: changing a returned token changes nothing stored', async () => {
    const store = createMemoryStore();
    const saved = await store.saveToken(sampleToken(1));
    saved.accessToken = 'mutated';
    (await store.findTokenById(saved.id))!.userName = 'mutated';
    expect(await store.findTokenById(saved.id)).toEqual({ id: saved.id, ...sampleToken(1) });
  });
});
