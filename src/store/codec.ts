/**
 * How a token becomes a stored record and back. Backends only ever see `StoredRecord`s:
 * an id, opaque data, and index digests.
 */
import type { Cipher, CipherContext } from './cipher.ts';
import { TokenStoreError } from './errors.ts';
import { indexValues, type IndexField } from './matching.ts';
import { TOKEN_FIELDS, type OAuthToken } from './types.ts';

export interface StoredRecord {
  id: string;
  /** The key that sealed `data` and computed `index` ("plain" when there is no cipher). */
  keyId: string;
  /** The token without its id: sealed (with a cipher) or JSON (memory store without one). */
  data: string;
  /** One digest per identifying field the token holds; the record's own, so stale index entries can be told apart. */
  index: Partial<Record<IndexField, string>>;
}

export interface RecordCodec {
  seal(token: OAuthToken): Promise<StoredRecord>;
  open(record: StoredRecord): Promise<OAuthToken>;
  /** The digest `value` is indexed under by the key that seals now. */
  digest(field: IndexField, value: string): Promise<string>;
  /** The other digests `value` may still be indexed under (older keys and formats), asked only when `digest` found nothing. */
  olderDigests(field: IndexField, value: string): Promise<string[]>;
  /** Whether the record is sealed under the key that seals now. */
  isCurrent(record: StoredRecord): boolean;
}

const PLAIN_KEY_ID = 'plain';

function toBody(token: OAuthToken): string {
  const { id: _id, ...body } = token;
  return JSON.stringify(body);
}

function fromBody(id: string, json: string): OAuthToken {
  let body: unknown;
  try {
    body = JSON.parse(json);
  } catch (cause) {
    throw new TokenStoreError('DECRYPT_FAILED', 'record body is not valid JSON', { cause });
  }
  if (typeof body !== 'object' || body === null) throw new TokenStoreError('DECRYPT_FAILED', 'record body is not an object');
  const token = { id } as Record<string, unknown>;
  for (const field of TOKEN_FIELDS) if (field !== 'id') token[field] = (body as Record<string, unknown>)[field] ?? null;
  return token as unknown as OAuthToken;
}

/** No encryption: for the memory store, whose records never leave the process. */
export function plainCodec(): RecordCodec {
  return {
    async seal(token) {
      return { id: token.id, keyId: PLAIN_KEY_ID, data: toBody(token), index: Object.fromEntries(indexValues(token)) };
    },
    async open(record) {
      return fromBody(record.id, record.data);
    },
    async digest(_field, value) {
      return value;
    },
    async olderDigests() {
      return [];
    },
    isCurrent: () => true,
  };
}

/**
 * AES-GCM records bound to `storeId` and their id; HMAC blind indexes bound to `storeId` and field,
 * so the same refresh token has unrelated digests in two stores or two fields. Records of the
 * older format (v1) still open and are found through their v1 digests until rotation re-seals them.
 */
export function cipherCodec(cipher: Cipher, storeId: string): RecordCodec {
  const recordContext = (id: string): CipherContext => [storeId, 'record', id];
  const indexContext = (field: IndexField): CipherContext => [storeId, 'index', field];
  return {
    async seal(token) {
      const keyId = cipher.currentKeyId;
      const index: StoredRecord['index'] = {};
      await Promise.all(
        indexValues(token).map(async ([field, value]) => {
          index[field] = await cipher.blindIndex(value, indexContext(field), keyId);
        }),
      );
      return { id: token.id, keyId, data: await cipher.seal(toBody(token), recordContext(token.id)), index };
    },
    async open(record) {
      return fromBody(record.id, await cipher.open(record.data, recordContext(record.id)));
    },
    digest: (field, value) => cipher.blindIndex(value, indexContext(field), cipher.currentKeyId, 2),
    async olderDigests(field, value) {
      const context = indexContext(field);
      const older = cipher.keyIds.flatMap((keyId) => (keyId === cipher.currentKeyId ? [[keyId, 1] as const] : [[keyId, 2] as const, [keyId, 1] as const]));
      return Promise.all(older.map(([keyId, format]) => cipher.blindIndex(value, context, keyId, format)));
    },
    isCurrent: (record) => record.keyId === cipher.currentKeyId && cipher.isCurrent(record.data),
  };
}
