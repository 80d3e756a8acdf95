/**
 * Encryption at rest with Web Crypto only.
 *
 * Each key-ring secret (32 random bytes) yields, through HKDF-SHA-256 with distinct `info`,
 * an AES-256-GCM key for records and an HMAC-SHA-256 key for blind indexes, so the two uses
 * never share a key. Only `current` seals; every key in the ring still opens, so keys can be
 * rotated without downtime.
 *
 * Sealed form: `v1.<keyId>.<iv>.<ciphertext+tag>` (base64url). The associated data binds the
 * ciphertext to its key id and to a caller-given context (store and record id), so a record
 * copied onto another id or into another store fails to open.
 */
import { TokenStoreError } from './errors.ts';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from './encoding.ts';

export interface CipherKeys {
  /** AES-GCM, 256 bits, usages encrypt and decrypt. */
  encryption: CryptoKey;
  /** HMAC with SHA-256, usage sign. */
  blindIndex: CryptoKey;
}

export interface Cipher {
  /** The key id that seals and computes new blind indexes. */
  readonly currentKeyId: string;
  /** Every key id in the ring, current first. */
  readonly keyIds: readonly string[];
  seal(plaintext: string, context: string): Promise<string>;
  open(sealed: string, context: string): Promise<string>;
  /** The key id a sealed value names (without opening it). */
  keyIdOf(sealed: string): string;
  /** HMAC-SHA-256 digest of `value` under one key (current by default), base64url. */
  blindIndex(value: string, context: string, keyId?: string): Promise<string>;
}

export interface CipherOptions {
  /** Key id -> base64url of a 32-byte random secret. */
  keys: Record<string, string>;
  /** The key id that seals. */
  current: string;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,32}$/;
const IV_BYTES = 12;
const HKDF_SALT = utf8.encode('edge-token-store');

function badOptions(message: string): TokenStoreError {
  return new TokenStoreError('INVALID_INPUT', `createCipher: ${message}`);
}

function decryptFailed(message: string, cause?: unknown): TokenStoreError {
  return new TokenStoreError('DECRYPT_FAILED', message, { cause });
}

/** A fresh base64url secret for `createCipher({ keys })` (32 bytes from the platform CSPRNG). */
export function generateSecret(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

async function deriveKeys(secret: Uint8Array<ArrayBuffer>): Promise<CipherKeys> {
  const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  const hkdf = (info: string) => ({ name: 'HKDF', hash: 'SHA-256', salt: HKDF_SALT, info: utf8.encode(info) });
  const [encryption, blindIndex] = await Promise.all([
    crypto.subtle.deriveKey(hkdf('edge-token-store/v1/records'), ikm, { name: 'AES-GCM', length: 256 }, false, [
      'encrypt',
      'decrypt',
    ]),
    crypto.subtle.deriveKey(
      hkdf('edge-token-store/v1/blind-index'),
      ikm,
      { name: 'HMAC', hash: 'SHA-256', length: 256 },
      false,
      ['sign'],
    ),
  ]);
  return { encryption, blindIndex };
}

/** A cipher from base64url secrets; keys are derived once, on first use. */
export function createCipher(options: CipherOptions): Cipher {
  if (typeof options !== 'object' || options === null) throw badOptions('options must be an object');
  const { keys, current } = options;
  if (typeof keys !== 'object' || keys === null) throw badOptions('keys must be an object of keyId -> secret');
  const secrets = new Map<string, Uint8Array<ArrayBuffer>>();
  for (const [keyId, secret] of Object.entries(keys)) {
    if (!KEY_ID.test(keyId)) throw badOptions(`key id "${keyId.slice(0, 40)}" must match ${KEY_ID}`);
    let bytes: Uint8Array<ArrayBuffer>;
    try {
      bytes = fromBase64Url(String(secret));
    } catch {
      throw badOptions(`the secret for key "${keyId}" is not base64url`);
    }
    if (bytes.length !== 32) throw badOptions(`the secret for key "${keyId}" must be 32 bytes (got ${bytes.length})`);
    secrets.set(keyId, bytes);
  }
  if (typeof current !== 'string' || !secrets.has(current)) throw badOptions('current must name a key in keys');
  const derived = new Map<string, Promise<CipherKeys>>();
  return cipherFromKeyRing(current, [...secrets.keys()], (keyId) => {
    let keysFor = derived.get(keyId);
    if (!keysFor) derived.set(keyId, (keysFor = deriveKeys(secrets.get(keyId)!)));
    return keysFor;
  });
}

/** A cipher over keys that already exist as `CryptoKey`s (such as non-extractable browser keys). */
export function cipherFromKeys(ring: Record<string, CipherKeys>, current: string): Cipher {
  const ids = Object.keys(ring);
  if (!ids.every((id) => KEY_ID.test(id)) || !(current in ring)) {
    throw new TokenStoreError('INVALID_INPUT', 'cipherFromKeys: key ids must be short identifiers and include current');
  }
  return cipherFromKeyRing(current, ids, async (keyId) => ring[keyId]!);
}

function cipherFromKeyRing(
  current: string,
  ids: string[],
  keysOf: (keyId: string) => Promise<CipherKeys>,
): Cipher {
  const keyIds = [current, ...ids.filter((id) => id !== current)];
  const known = new Set(keyIds);
  const aad = (keyId: string, context: string) => utf8.encode(`edge-token-store/v1|${keyId}|${context}`);

  function parse(sealed: string): { keyId: string; iv: Uint8Array<ArrayBuffer>; data: Uint8Array<ArrayBuffer> } {
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    if (parts.length !== 4 || parts[0] !== 'v1') throw decryptFailed('sealed value is malformed');
    const keyId = parts[1]!;
    if (!known.has(keyId)) throw decryptFailed(`sealed with key id "${keyId.slice(0, 40)}", which is not in the key ring`);
    try {
      const iv = fromBase64Url(parts[2]!);
      const data = fromBase64Url(parts[3]!);
      if (iv.length !== IV_BYTES) throw new Error('bad iv length');
      return { keyId, iv, data };
    } catch (cause) {
      throw decryptFailed('sealed value is malformed', cause);
    }
  }

  return {
    currentKeyId: current,
    keyIds,
    keyIdOf: (sealed) => parse(sealed).keyId,

    async seal(plaintext, context) {
      const { encryption } = await keysOf(current);
      // A fresh random 96-bit IV per seal: with at most a few million writes per key the
      // collision probability stays far below NIST's 2^-32 bound.
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const data = await crypto.subtle.encrypt(
        { name: 'AES-GCM', iv, additionalData: aad(current, context) },
        encryption,
        utf8.encode(plaintext),
      );
      return `v1.${current}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(data))}`;
    },

    async open(sealed, context) {
      const { keyId, iv, data } = parse(sealed);
      const { encryption } = await keysOf(keyId);
      let plain: ArrayBuffer;
      try {
        plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad(keyId, context) }, encryption, data);
      } catch (cause) {
        throw decryptFailed('record failed authentication: wrong key, altered bytes, or moved to another id or store', cause);
      }
      return fromUtf8.decode(plain);
    },

    async blindIndex(value, context, keyId = current) {
      if (!known.has(keyId)) throw decryptFailed(`key id "${keyId.slice(0, 40)}" is not in the key ring`);
      const { blindIndex } = await keysOf(keyId);
      const mac = await crypto.subtle.sign('HMAC', blindIndex, utf8.encode(`${context}\u0000${value}`));
      return toBase64Url(new Uint8Array(mac));
    },
  };
}
