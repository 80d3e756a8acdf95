/**
 * Encryption at rest with Web Crypto only.
 *
 * Format v2 (what seals now): each key-ring secret (32 random bytes) yields, through
 * HKDF-SHA-256, an AES-256-GCM key and an HMAC-SHA-256 blind-index key *per store* (the
 * store's name is in HKDF's `info`), so no key seals more than one store's records: a
 * deployment's many objects each count their own encryptions toward GCM's random-IV bound
 * (NIST SP 800-38D: at most 2^32 seals per key), instead of all of them sharing one key.
 * Associated data and blind-index inputs are length-prefixed, so no two different contexts
 * encode alike. Keys given as `CryptoKey`s (`cipherFromKeys`, the browser's non-extractable
 * keys) cannot be derived from: they seal their one store directly, length-prefixed too.
 *
 * Format v1 (older records): one key pair per secret for every store, contexts joined with
 * `|`. Still opened and still found through its blind indexes; `isCurrent` says it is not
 * current, so rotation re-seals it as v2.
 *
 * Sealed form: `v2.<keyId>.<iv>.<ciphertext+tag>` (base64url). A context is a list of parts,
 * the store's name first (`[store, 'record', id]`): a record copied onto another id or into
 * another store fails to open.
 */
import { misconfigured, TokenStoreError } from './errors.ts';
import { fromBase64Url, fromUtf8, toBase64Url, utf8 } from './encoding.ts';

export interface CipherKeys {
  /** AES-GCM, 256 bits, usages encrypt and decrypt. */
  encryption: CryptoKey;
  /** HMAC with SHA-256, usage sign. */
  blindIndex: CryptoKey;
}

/** Where a sealed value or digest belongs: the store's name first, then what it is in that store. */
export type CipherContext = readonly [store: string, ...rest: string[]];

export interface Cipher {
  /** The key id that seals and computes new blind indexes. */
  readonly currentKeyId: string;
  /** Every key id in the ring, current first. */
  readonly keyIds: readonly string[];
  seal(plaintext: string, context: CipherContext): Promise<string>;
  /** Opens values of either format. */
  open(sealed: string, context: CipherContext): Promise<string>;
  /** The key id a sealed value names (without opening it). */
  keyIdOf(sealed: string): string;
  /** Whether a sealed value is in the current format under the current key (else: re-seal it). */
  isCurrent(sealed: string): boolean;
  /**
   * HMAC-SHA-256 digest of `value` under one key (current by default), base64url. `format` 1
   * computes the digest v1 records were indexed under, to find them until they are re-sealed.
   */
  blindIndex(value: string, context: CipherContext, keyId?: string, format?: 1 | 2): Promise<string>;
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

/** Length-prefixed parts (4-byte big-endian length, then UTF-8): no two lists encode alike. */
function encodeParts(parts: readonly string[]): Uint8Array<ArrayBuffer> {
  const encoded = parts.map((part) => utf8.encode(part));
  const out = new Uint8Array(encoded.reduce((n, bytes) => n + 4 + bytes.length, 0));
  const view = new DataView(out.buffer);
  let at = 0;
  for (const bytes of encoded) {
    view.setUint32(at, bytes.length);
    out.set(bytes, at + 4);
    at += 4 + bytes.length;
  }
  return out;
}

async function deriveKeys(secret: Uint8Array<ArrayBuffer>, info: (use: string) => Uint8Array<ArrayBuffer>): Promise<CipherKeys> {
  const ikm = await crypto.subtle.importKey('raw', secret, 'HKDF', false, ['deriveKey']);
  const hkdf = (use: string) => ({ name: 'HKDF', hash: 'SHA-256', salt: HKDF_SALT, info: info(use) });
  const [encryption, blindIndex] = await Promise.all([
    crypto.subtle.deriveKey(hkdf('records'), ikm, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']),
    crypto.subtle.deriveKey(hkdf('blind-index'), ikm, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign']),
  ]);
  return { encryption, blindIndex };
}

/** v1: one pair per secret, for every store. */
const v1Info = (use: string): Uint8Array<ArrayBuffer> => utf8.encode(`edge-token-store/v1/${use}`) as Uint8Array<ArrayBuffer>;
/** v2: one pair per secret and store. */
const v2Info = (store: string) => (use: string) => encodeParts([`edge-token-store/v2/${use}`, store]);

/** Where a cipher's keys come from: by key id, format and store (v1 and `cipherFromKeys` ignore the store). */
type KeysOf = (keyId: string, format: 1 | 2, store: string) => Promise<CipherKeys>;

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
  return cipherFromKeyRing(current, [...secrets.keys()], (keyId, format, store) => {
    const cacheKey = format === 1 ? `1\u0000${keyId}` : `2\u0000${keyId}\u0000${store}`;
    let keysFor = derived.get(cacheKey);
    if (!keysFor) derived.set(cacheKey, (keysFor = deriveKeys(secrets.get(keyId)!, format === 1 ? v1Info : v2Info(store))));
    return keysFor;
  });
}

/** A cipher over keys that already exist as `CryptoKey`s (such as non-extractable browser keys). */
export function cipherFromKeys(ring: Record<string, CipherKeys>, current: string): Cipher {
  const ids = Object.keys(ring);
  if (!ids.every((id) => KEY_ID.test(id)) || !(current in ring)) {
    throw new TokenStoreError('INVALID_INPUT', 'cipherFromKeys: key ids must be short identifiers and include current');
  }
  // Already keys, nothing to derive from: both formats use them as given (one store per ring).
  return cipherFromKeyRing(current, ids, async (keyId) => ring[keyId]!);
}

function cipherFromKeyRing(current: string, ids: string[], keysOf: KeysOf): Cipher {
  const keyIds = [current, ...ids.filter((id) => id !== current)];
  const known = new Set(keyIds);
  const aad = (format: 1 | 2, keyId: string, context: CipherContext) =>
    format === 1 ? utf8.encode(`edge-token-store/v1|${keyId}|${context.join('|')}`) : encodeParts(['edge-token-store/v2', keyId, ...context]);

  function parse(sealed: string): { format: 1 | 2; keyId: string; iv: Uint8Array<ArrayBuffer>; data: Uint8Array<ArrayBuffer> } {
    const parts = typeof sealed === 'string' ? sealed.split('.') : [];
    const format = parts[0] === 'v2' ? 2 : parts[0] === 'v1' ? 1 : null;
    if (parts.length !== 4 || format === null) throw decryptFailed('sealed value is malformed');
    const keyId = parts[1]!;
    if (!known.has(keyId)) throw decryptFailed(`sealed with key id "${keyId.slice(0, 40)}", which is not in the key ring`);
    try {
      const iv = fromBase64Url(parts[2]!);
      const data = fromBase64Url(parts[3]!);
      if (iv.length !== IV_BYTES) throw new Error('bad iv length');
      return { format, keyId, iv, data };
    } catch (cause) {
      throw decryptFailed('sealed value is malformed', cause);
    }
  }

  function checkContext(context: CipherContext): void {
    if (!Array.isArray(context) || context.length === 0 || !context.every((part) => typeof part === 'string')) {
      throw new TokenStoreError('INVALID_INPUT', 'a cipher context is a list of strings, the store first');
    }
  }

  return {
    currentKeyId: current,
    keyIds,
    keyIdOf: (sealed) => parse(sealed).keyId,
    isCurrent: (sealed) => typeof sealed === 'string' && sealed.startsWith(`v2.${current}.`),

    async seal(plaintext, context) {
      checkContext(context);
      const { encryption } = await keysOf(current, 2, context[0]);
      // A fresh random 96-bit IV per seal, under this store's own key.
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const data = await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: aad(2, current, context) }, encryption, utf8.encode(plaintext));
      return `v2.${current}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(data))}`;
    },

    async open(sealed, context) {
      checkContext(context);
      const { format, keyId, iv, data } = parse(sealed);
      const { encryption } = await keysOf(keyId, format, context[0]);
      let plain: ArrayBuffer;
      try {
        plain = await crypto.subtle.decrypt({ name: 'AES-GCM', iv, additionalData: aad(format, keyId, context) }, encryption, data);
      } catch (cause) {
        throw decryptFailed('record failed authentication: wrong key, altered bytes, or moved to another id or store', cause);
      }
      return fromUtf8.decode(plain);
    },

    async blindIndex(value, context, keyId = current, format = 2) {
      checkContext(context);
      if (!known.has(keyId)) throw decryptFailed(`key id "${keyId.slice(0, 40)}" is not in the key ring`);
      const { blindIndex } = await keysOf(keyId, format, context[0]);
      const input = format === 1 ? utf8.encode(`${context.join('|')}\u0000${value}`) : encodeParts([...context, value]);
      const mac = await crypto.subtle.sign('HMAC', blindIndex, input);
      return toBase64Url(new Uint8Array(mac));
    },
  };
}

/**
 * The cipher of a key ring as deployments keep it: `TOKEN_STORE_KEYS` (JSON: key id -> base64url
 * 32-byte secret) and `TOKEN_STORE_CURRENT_KEY`. A `MISCONFIGURED` error names the settings,
 * never a value (JSON.parse's own message quotes its input, and these end up in logs).
 *
 * ```ts
 * const cipher = cipherFromSettings(env.TOKEN_STORE_KEYS, env.TOKEN_STORE_CURRENT_KEY);
 * ```
 */
export function cipherFromSettings(keysJson: string | undefined, current: string | undefined): Cipher {
  let keys: unknown;
  try {
    keys = JSON.parse(keysJson ?? '');
  } catch {
    keys = null;
  }
  // Key id -> base64url secret, e.g. {"k1": "..."}.
  if (typeof keys !== 'object' || keys === null || Array.isArray(keys)) throw misconfigured('TOKEN_STORE_KEYS must be a JSON object');
  if (!current) throw misconfigured('TOKEN_STORE_CURRENT_KEY is not set');
  try {
    return createCipher({ keys: keys as Record<string, string>, current });
  } catch (error) {
    // createCipher's message names the key id or the rule broken, never a secret.
    throw misconfigured((error as Error).message);
  }
}
