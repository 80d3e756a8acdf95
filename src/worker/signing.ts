// HMAC-SHA-256 signatures for cookies and login state, and SHA-256 for ids kept at rest.
import { toBase64Url, utf8 } from '../store/encoding.ts';

const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = crypto.subtle.importKey('raw', utf8.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    keys.set(secret, key);
  }
  return key;
}

export async function sign(secret: string, purpose: string, value: string): Promise<string> {
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), utf8.encode(`${purpose}\u0000${value}`));
  return toBase64Url(new Uint8Array(mac));
}

/** Whether two strings of the same kind (MACs, digests) are equal, in time that does not depend on where they differ. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Constant-time check of a signature made by `sign`. */
export async function verify(secret: string, purpose: string, value: string, signature: string): Promise<boolean> {
  return constantTimeEqual(await sign(secret, purpose, value), signature);
}

export async function sha256(value: string): Promise<string> {
  return toBase64Url(new Uint8Array(await crypto.subtle.digest('SHA-256', utf8.encode(value))));
}

export function randomId(bytes = 32): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(bytes)));
}
