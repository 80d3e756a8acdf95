/**
 * Cipher behaviour that must be identical in Node, workerd and Chromium. The known-answer
 * values were produced once and are checked in every runtime, so a record sealed in one
 * opens in the others.
 */
import { describe, expect, it } from 'vitest';
import { createCipher, generateSecret } from '../../src/store/cipher.ts';
import { TokenStoreError } from '../../src/store/errors.ts';
import { fromBase64Url, toBase64Url } from '../../src/store/encoding.ts';

export const KAT_SECRET = 'AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8'; // bytes 0..31
/** Known answers of format v1 (what older records hold): they must keep opening and being found. */
export const KAT_INDEX = {
  value: '1000.refresh.token',
  context: ['store', 'index', 'refreshToken'] as const,
  digest: 'wf4WvN9CBOrqsvyFQ6lgCrufmtY5khI5sWws1I1EuKc',
};
const KAT_SEALED = {
  plaintext: '{"refreshToken":"known-answer"}',
  context: ['store', 'record', 'id-1'] as const,
  sealed: 'v1.kat.3yF_ayHltbRIvT1S.ieHcnRxCr0m5AsGUU7N-y4A5reSOeRUtvgr-AT7y0BvxXM0UYDZcUHH5bbwGY5A',
};

const CTX = ['store', 'ctx'] as const;

async function decryptError(promise: Promise<unknown>): Promise<TokenStoreError> {
  const error = await promise.then(
    () => new Error('opened, but should have failed'),
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenStoreError);
  expect((error as TokenStoreError).code).toBe('DECRYPT_FAILED');
  return error as TokenStoreError;
}

function flipByte(sealed: string, part: 2 | 3, index: number): string {
  const parts = sealed.split('.');
  const bytes = fromBase64Url(parts[part]!);
  bytes[index % bytes.length]! ^= 0x01;
  parts[part] = toBase64Url(bytes);
  return parts.join('.');
}

export function runCipherSuite(runtime: string): void {
  describe(`cipher in ${runtime}`, () => {
    const k1 = generateSecret();
    const k2 = generateSecret();
    const cipher = createCipher({ keys: { k1 }, current: 'k1' });

    it('opens the known-answer record and reproduces the known blind index', async () => {
      const kat = createCipher({ keys: { kat: KAT_SECRET }, current: 'kat' });
      expect(await kat.open(KAT_SEALED.sealed, KAT_SEALED.context)).toBe(KAT_SEALED.plaintext);
      expect(await kat.blindIndex(KAT_INDEX.value, KAT_INDEX.context, 'kat', 1)).toBe(KAT_INDEX.digest);
      expect(kat.isCurrent(KAT_SEALED.sealed)).toBe(false);
    });

    it('round-trips and never shows the plaintext', async () => {
      const secret = '1000.secret-refresh-token 🔑';
      const sealed = await cipher.seal(secret, CTX);
      expect(sealed).not.toContain('secret-refresh');
      expect(sealed.startsWith('v2.k1.')).toBe(true);
      expect(cipher.isCurrent(sealed)).toBe(true);
      expect(await cipher.open(sealed, CTX)).toBe(secret);
    });

    it('uses a fresh 96-bit IV for every seal', async () => {
      const seals = await Promise.all(Array.from({ length: 20 }, () => cipher.seal('same', CTX)));
      const ivs = seals.map((s) => s.split('.')[2]!);
      expect(new Set(ivs).size).toBe(20);
      for (const iv of ivs) expect(fromBase64Url(iv)).toHaveLength(12);
      expect(new Set(seals).size).toBe(20);
    });

    it('detects every flipped byte, in the IV and in the ciphertext or tag', async () => {
      const sealed = await cipher.seal('{"accessToken":"a"}', CTX);
      const ciphertextLength = fromBase64Url(sealed.split('.')[3]!).length;
      for (let i = 0; i < 12; i++) await decryptError(cipher.open(flipByte(sealed, 2, i), CTX));
      for (let i = 0; i < ciphertextLength; i++) await decryptError(cipher.open(flipByte(sealed, 3, i), CTX));
    });

    it('detects a record moved to another context (id or store)', async () => {
      const sealed = await cipher.seal('payload', ['store-a', 'record', 'id-1']);
      const error = await decryptError(cipher.open(sealed, ['store-a', 'record', 'id-2']));
      expect(error.message).not.toContain('payload');
      await decryptError(cipher.open(sealed, ['store-b', 'record', 'id-1']));
    });

    it('detects a wrong key under the same key id, and an unknown key id', async () => {
      const sealed = await cipher.seal('payload', CTX);
      await decryptError(createCipher({ keys: { k1: k2 }, current: 'k1' }).open(sealed, CTX));
      await decryptError(createCipher({ keys: { k2 }, current: 'k2' }).open(sealed, CTX));
    });

    it('detects a relabelled key id', async () => {
      const both = createCipher({ keys: { k1, k2 }, current: 'k2' });
      const sealed = await both.seal('payload', CTX);
      await decryptError(both.open(sealed.replace('v2.k2.', 'v2.k1.'), CTX));
      // Nor does relabelling the format open it.
      await decryptError(both.open(sealed.replace('v2.k2.', 'v1.k2.'), CTX));
    });

    it('rejects malformed sealed values as decrypt failures', async () => {
      for (const bad of ['', 'v1', 'v3.k1.aaaa.bbbb', 'v2.k1.aaaa.bbbb', 'v1.k1.!!.bbbb', 'v2.k1.AAAA.bbbb']) {
        await decryptError(cipher.open(bad, CTX));
      }
    });

    it('keeps old keys readable while only the current key seals', async () => {
      const old = await cipher.seal('old record', CTX);
      const ring = createCipher({ keys: { k1, k2 }, current: 'k2' });
      expect(ring.keyIds).toEqual(['k2', 'k1']);
      expect(await ring.open(old, CTX)).toBe('old record');
      const fresh = await ring.seal('new record', CTX);
      expect(ring.keyIdOf(fresh)).toBe('k2');
    });

    it('computes blind indexes that are stable per key and context and differ otherwise', async () => {
      const ring = createCipher({ keys: { k1, k2 }, current: 'k1' });
      const a = await ring.blindIndex('refresh-1', ['store', 'index', 'refreshToken']);
      expect(await cipher.blindIndex('refresh-1', ['store', 'index', 'refreshToken'])).toBe(a);
      expect(await ring.blindIndex('refresh-2', ['store', 'index', 'refreshToken'])).not.toBe(a);
      expect(await ring.blindIndex('refresh-1', ['store', 'index', 'accessToken'])).not.toBe(a);
      expect(await ring.blindIndex('refresh-1', ['store', 'index', 'refreshToken'], 'k2')).not.toBe(a);
      expect(a).toMatch(/^[A-Za-z0-9_-]{43}$/);
    });

    it('rejects bad options with INVALID_INPUT and no secret in the message', () => {
      const cases: unknown[] = [
        undefined,
        { keys: { k1 }, current: 'k9' },
        { keys: { k1: 'too-short' }, current: 'k1' },
        { keys: { 'bad.id': k1 }, current: 'bad.id' },
        { keys: { k1: k1 + '!' }, current: 'k1' },
      ];
      for (const options of cases) {
        let caught: unknown;
        try {
          createCipher(options as never);
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(TokenStoreError);
        expect((caught as TokenStoreError).code).toBe('INVALID_INPUT');
        expect((caught as Error).message).not.toContain(k1);
      }
    });
  });
}
