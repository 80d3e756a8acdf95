/**
 * Format v1, written out independently of src/store/cipher.ts: what versions before format v2 stored.
 * Tests use it to start from records of that time (the known answer in cipher-suite.ts pins the
 * same format from the other side).
 */
import { fromBase64Url, toBase64Url } from '../../src/store/encoding.ts';

const utf8 = new TextEncoder();

export async function sealV1(secret: string, keyId: string, plaintext: string, context: readonly string[]): Promise<string> {
  const ikm = await crypto.subtle.importKey('raw', fromBase64Url(secret), 'HKDF', false, ['deriveKey']);
  const key = await crypto.subtle.deriveKey(
    { name: 'HKDF', hash: 'SHA-256', salt: utf8.encode('edge-token-store'), info: utf8.encode('edge-token-store/v1/records') },
    ikm,
    { name: 'AES-GCM', length: 256 },
    false,
    ['encrypt'],
  );
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const additionalData = utf8.encode(`edge-token-store/v1|${keyId}|${context.join('|')}`);
  const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData }, key, utf8.encode(plaintext));
  return `v1.${keyId}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(data))}`;
}
