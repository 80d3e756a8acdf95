import { createHmac, hkdfSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { KAT_INDEX, KAT_SECRET, runCipherSuite } from '../shared/cipher-suite.ts';

runCipherSuite('node');

describe('cipher key derivation, checked against node:crypto', () => {
  it('derives the blind-index key with HKDF-SHA-256 exactly as documented', () => {
    const ikm = Buffer.from(KAT_SECRET, 'base64url');
    const key = Buffer.from(hkdfSync('sha256', ikm, 'edge-token-store', 'edge-token-store/v1/blind-index', 32));
    const digest = createHmac('sha256', key).update(`${KAT_INDEX.context}\u0000${KAT_INDEX.value}`).digest('base64url');
    expect(digest).toBe(KAT_INDEX.digest);
  });
});
