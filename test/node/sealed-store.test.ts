import { describe, expect, it } from 'vitest';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { cipherCodec } from '../../src/store/codec.ts';
import { memoryBackend } from '../../src/backends/memory.ts';
import { createRecordStore } from '../../src/store/record-store.ts';
import { sampleToken } from '../conformance.ts';
import { expectNothingInClear } from '../shared/in-clear.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

const k1 = generateSecret();
const k2 = generateSecret();
const onlyK1 = createCipher({ keys: { k1 }, current: 'k1' });
const rotating = createCipher({ keys: { k1, k2 }, current: 'k2' });
const onlyK2 = createCipher({ keys: { k2 }, current: 'k2' });

async function storedRecords(backend: ReturnType<typeof memoryBackend>) {
  const out = [];
  for await (const record of backend.list()) out.push(record);
  return out;
}

describe('sealed record store', () => {
  it('stores no token, secret or user name in clear', async () => {
    const backend = memoryBackend();
    const store = createRecordStore(backend, cipherCodec(onlyK1, 'test'));
    const token = sampleToken(1, { grantToken: '1000.grant.secret' });
    await store.saveToken(token);
    expectNothingInClear(JSON.stringify(await storedRecords(backend)), [token]);
  });

  it('refuses a record moved onto another id', async () => {
    const backend = memoryBackend();
    const store = createRecordStore(backend, cipherCodec(onlyK1, 'test'));
    const a = await store.saveToken(sampleToken(1));
    const b = await store.saveToken(sampleToken(2));
    const [recordA] = (await storedRecords(backend)).filter((r) => r.id === a.id);
    const recordB = (await backend.get(b.id))!;
    // An attacker with write access copies A's sealed bytes over B's.
    await backend.write({ ...recordB, data: recordA!.data }, recordB);
    const error = await tokenErrorOf(store.findTokenById(b.id));
    expect(error.code).toBe('DECRYPT_FAILED');
  });

  it('refuses records from a store with another name', async () => {
    const backend = memoryBackend();
    const a = await createRecordStore(backend, cipherCodec(onlyK1, 'store-a')).saveToken(sampleToken(1));
    const error = await tokenErrorOf(createRecordStore(backend, cipherCodec(onlyK1, 'store-b')).findTokenById(a.id));
    expect(error.code).toBe('DECRYPT_FAILED');
  });

  it('rotates: old records stay readable and findable, rotate re-seals them under the current key', async () => {
    const backend = memoryBackend();
    const before = createRecordStore(backend, cipherCodec(onlyK1, 'test'));
    const saved = [];
    for (let n = 0; n < 5; n++) saved.push(await before.saveToken(sampleToken(n)));

    const during = createRecordStore(backend, cipherCodec(rotating, 'test'));
    // Before rotation: found through the old key's blind index.
    expect(await during.findToken({ userName: sampleToken(3).userName! })).toEqual(saved[3]);
    // A save during rotation re-seals that record under k2.
    await during.saveToken({ id: saved[0]!.id, expiryTime: 1 });
    expect((await backend.get(saved[0]!.id))!.keyId).toBe('k2');

    expect(await during.rotate()).toBe(4);
    expect((await storedRecords(backend)).map((r) => r.keyId)).toEqual(['k2', 'k2', 'k2', 'k2', 'k2']);
    expect(await during.rotate()).toBe(0);

    // After rotation the old key can leave the ring.
    const after = createRecordStore(backend, cipherCodec(onlyK2, 'test'));
    for (let n = 1; n < 5; n++) {
      expect(await after.findToken({ userName: sampleToken(n).userName! })).toEqual(saved[n]);
      expect(await after.findToken({ refreshToken: sampleToken(n).refreshToken!, clientId: sampleToken(n).clientId!, clientSecret: 'x' })).toEqual(saved[n]);
    }
  });

  it('without the old key, unrotated records fail loudly rather than vanish', async () => {
    const backend = memoryBackend();
    const a = await createRecordStore(backend, cipherCodec(onlyK1, 'test')).saveToken(sampleToken(1));
    const error = await tokenErrorOf(createRecordStore(backend, cipherCodec(onlyK2, 'test')).findTokenById(a.id));
    expect(error.code).toBe('DECRYPT_FAILED');
  });

  it("a new user saved by another context between this save's lookup and its write is updated, not a CONFLICT", async () => {
    const backend = memoryBackend();
    const other = createRecordStore(backend, cipherCodec(onlyK1, 'test'));
    let raced = false;
    // This context's first lookup misses; right after it, the other context commits the same user.
    const racing: typeof backend = {
      ...backend,
      async findByIndex(field, digest) {
        const found = await backend.findByIndex(field, digest);
        if (!raced) {
          raced = true;
          await other.saveToken(sampleToken(1, { accessToken: 'from-the-other-tab' }));
        }
        return found;
      },
    };
    const mine = createRecordStore(racing, cipherCodec(onlyK1, 'test'));
    const saved = await mine.saveToken(sampleToken(1, { accessToken: 'from-this-tab' }));
    expect(raced).toBe(true);
    const all = await mine.getTokens();
    expect(all).toHaveLength(1);
    expect(all[0]).toEqual(saved);
    expect(saved.accessToken).toBe('from-this-tab');
  });
});
