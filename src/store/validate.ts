import { TokenStoreError } from './errors.ts';
import { TOKEN_FIELDS, type TokenQuery } from './types.ts';

/** Longest string a field may hold; Zoho's tokens are ~70 characters, 4 KiB must fit. */
export const MAX_FIELD_LENGTH = 16_384;
/** Ids end up inside storage keys (KV keys are at most 512 bytes). */
export const MAX_ID_LENGTH = 200;

const FIELDS = new Set<string>(TOKEN_FIELDS);

function invalid(message: string): TokenStoreError {
  return new TokenStoreError('INVALID_INPUT', message);
}

function describe(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
}

/** Checks an id at the boundary. The message never repeats the id's value. */
export function checkId(id: unknown, what = 'id'): string {
  if (typeof id !== 'string') throw invalid(`${what} must be a string (got ${describe(id)})`);
  if (id.length === 0) throw invalid(`${what} must not be empty`);
  if (id.length > MAX_ID_LENGTH) throw invalid(`${what} must be at most ${MAX_ID_LENGTH} characters`);
  return id;
}

/**
 * Checks a query or token and returns a normalized copy: unknown fields and wrong types are
 * rejected, and an empty string means "absent" (null), as it does in the Zoho SDK's stores.
 * Values are never echoed in messages: they may be secrets.
 */
export function checkTokenInput(input: unknown, what: 'query' | 'token'): TokenQuery {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw invalid(`${what} must be an object (got ${describe(input)})`);
  }
  const out: Record<string, unknown> = {};
  for (const [field, value] of Object.entries(input)) {
    if (!FIELDS.has(field)) throw invalid(`${what} has an unknown field "${field.slice(0, 40)}"`);
    if (value === undefined) continue;
    if (field === 'id') {
      out.id = checkId(value, `${what}.id`);
    } else if (field === 'expiryTime') {
      if (value !== null && !(typeof value === 'number' && Number.isSafeInteger(value) && value >= 0)) {
        throw invalid(`${what}.expiryTime must be epoch milliseconds (a non-negative integer) or null`);
      }
      out.expiryTime = value;
    } else if (value === null || value === '') {
      out[field] = null;
    } else if (typeof value !== 'string') {
      throw invalid(`${what}.${field} must be a string or null (got ${describe(value)})`);
    } else if (value.length > MAX_FIELD_LENGTH) {
      throw invalid(`${what}.${field} must be at most ${MAX_FIELD_LENGTH} characters`);
    } else {
      out[field] = value;
    }
  }
  return out as TokenQuery;
}
