import { createDecipheriv, createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCipher } from '../../src/store/cipher.ts';
import { KAT_INDEX, KAT_SECRET, runCipherSuite } from '../shared/cipher-suite.ts';

runCipherSuite('node');

/** Length-prefixed parts, as documented in docs/storage-schema.md: 4-byte big-endian length, then UTF-8. */
const parts = (...values: string[]) =>
  Buffer.concat(values.flatMap((v) => [Buffer.from([0, 0, 0, 0].map((_, i) => (Buffer.byteLength(v) >>> (24 - 8 * i)) & 0xff)), Buffer.from(v)]));
const ikm = Buffer.from(KAT_SECRET, 'base64url');
const hkdf = (info: Buffer | string) => Buffer.from(hkdfSync('sha256', ikm, 'edge-token-store', info, 32));

describe('cipher key derivation, checked against node:crypto', () => {
  it('v1 (older records): one blind-index key per secret, contexts joined with |', () => {
    const key = hkdf('edge-token-store/v1/blind-index');
    const digest = createHmac('sha256', key)
      .update(`${KAT_INDEX.context.join('|')}\u0000${KAT_INDEX.value}`)
      .digest('base64url');
    expect(digest).toBe(KAT_INDEX.digest);
  });

  it('v2: the blind-index key is HKDF with the store in info, over length-prefixed parts', async () => {
    const cipher = createCipher({ keys: { kat: KAT_SECRET }, current: 'kat' });
    const key = hkdf(parts('edge-token-store/v2/blind-index', 'store-a'));
    const expected = createHmac('sha256', key)
      .update(parts('store-a', 'index', 'refreshToken', KAT_INDEX.value))
      .digest('base64url');
    expect(await cipher.blindIndex(KAT_INDEX.value, ['store-a', 'index', 'refreshToken'])).toBe(expected);
    // Another store: another key, so another digest for the same value.
    expect(await cipher.blindIndex(KAT_INDEX.value, ['store-b', 'index', 'refreshToken'])).not.toBe(expected);
  });

  it('v2: the record key is HKDF with the store in info; the associated data is length-prefixed', async () => {
    const cipher = createCipher({ keys: { kat: KAT_SECRET }, current: 'kat' });
    const sealed = await cipher.seal('{"refreshToken":"r"}', ['store-a', 'record', 'id-1']);
    const [format, keyId, iv, data] = sealed.split('.') as [string, string, string, string];
    expect([format, keyId]).toEqual(['v2', 'kat']);
    const bytes = Buffer.from(data, 'base64url');
    const decipher = createDecipheriv('aes-256-gcm', hkdf(parts('edge-token-store/v2/records', 'store-a')), Buffer.from(iv, 'base64url'));
    decipher.setAAD(parts('edge-token-store/v2', 'kat', 'store-a', 'record', 'id-1'));
    decipher.setAuthTag(bytes.subarray(-16));
    expect(Buffer.concat([decipher.update(bytes.subarray(0, -16)), decipher.final()]).toString()).toBe('{"refreshToken":"r"}');
  });

  it('v2 contexts cannot collide through a separator, as v1 ones could', async () => {
    const cipher = createCipher({ keys: { kat: KAT_SECRET }, current: 'kat' });
    const a = ['store', 'index|x', 'y'] as const;
    const b = ['store', 'index', 'x|y'] as const;
    expect(await cipher.blindIndex('v', a, 'kat', 1)).toBe(await cipher.blindIndex('v', b, 'kat', 1));
    expect(await cipher.blindIndex('v', a)).not.toBe(await cipher.blindIndex('v', b));
  });
});
