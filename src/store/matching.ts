/**
 * The one place that decides which stored token a query means and what a save writes.
 * Pure: no I/O. Backends fetch candidates; these functions decide.
 *
 * Precedence (the Zoho SDK's, with its `refresh || grant && id && secret` slip fixed
 * and the client id compared):
 *   1. userName given            -> match on userName alone
 *   2. accessToken given, no client id and no client secret -> match on accessToken
 *   3. grantToken or refreshToken, with client id and secret -> match on grantToken if
 *      given, else refreshToken; the stored clientId must be the same
 *   4. id given                  -> match on id
 */
import { TokenStoreError } from './errors.ts';
import type { OAuthToken, TokenQuery } from './types.ts';

/** Fields that identify a record and so are looked up through (blind) indexes, and are unique. */
export const INDEX_FIELDS = ['userName', 'accessToken', 'refreshToken', 'grantToken'] as const;
export type IndexField = (typeof INDEX_FIELDS)[number];

export type Lookup = { field: IndexField; value: string; clientId?: string } | { field: 'id'; value: string };

const given = (v: string | null | undefined): v is string => typeof v === 'string' && v !== '';

/** Which lookup a (checked) query asks for, or null when no rule covers it. */
export function lookupFor(query: TokenQuery): Lookup | null {
  if (given(query.userName)) return { field: 'userName', value: query.userName };
  const hasClient = given(query.clientId) && given(query.clientSecret);
  if (given(query.accessToken) && !given(query.clientId) && !given(query.clientSecret)) {
    return { field: 'accessToken', value: query.accessToken };
  }
  if (hasClient && given(query.grantToken)) {
    return { field: 'grantToken', value: query.grantToken, clientId: query.clientId! };
  }
  if (hasClient && given(query.refreshToken)) {
    return { field: 'refreshToken', value: query.refreshToken, clientId: query.clientId! };
  }
  if (given(query.id)) return { field: 'id', value: query.id };
  return null;
}

/** Whether a stored token is the one the lookup means. Index hits are only candidates until this says so. */
export function matches(lookup: Lookup, token: OAuthToken): boolean {
  if (token[lookup.field] !== lookup.value) return false;
  return !('clientId' in lookup) || lookup.clientId === undefined || token.clientId === lookup.clientId;
}

/** The values of a token that other records must not share. */
export function indexValues(token: TokenQuery): [IndexField, string][] {
  const out: [IndexField, string][] = [];
  for (const field of INDEX_FIELDS) {
    const value = token[field];
    if (given(value)) out.push([field, value]);
  }
  return out;
}

const EMPTY: Omit<OAuthToken, 'id'> = {
  userName: null,
  clientId: null,
  clientSecret: null,
  refreshToken: null,
  accessToken: null,
  grantToken: null,
  expiryTime: null,
  redirectUrl: null,
  apiDomain: null,
};

/**
 * What `saveToken` writes. `byId` is the stored record with the input's id (if any),
 * `byLookup` the record rules 1-3 find for the input. Fields the input leaves undefined
 * keep their stored values; null clears them. The stored id never changes.
 */
export function planSave(
  input: TokenQuery,
  byId: OAuthToken | null,
  byLookup: OAuthToken | null,
  freshId: () => string,
): { token: OAuthToken; insert: boolean } {
  const target = byId ?? byLookup;
  const changes = Object.fromEntries(Object.entries(input).filter(([k, v]) => k !== 'id' && v !== undefined));
  const token: OAuthToken = target ? { ...target, ...changes, id: target.id } : { ...EMPTY, ...changes, id: input.id ?? freshId() };
  if (!given(token.accessToken) && !given(token.refreshToken) && !given(token.grantToken)) {
    throw new TokenStoreError('INVALID_INPUT', 'token carries no access, refresh or grant token, and the store keeps none for it');
  }
  return { token, insert: target === null };
}

/**
 * The first index field of `token` that another stored record holds, or null.
 * `holders` are the records found by looking up each of the token's index values.
 */
export function findConflict(token: OAuthToken, holders: readonly OAuthToken[]): IndexField | null {
  for (const [field, value] of indexValues(token)) {
    if (holders.some((h) => h.id !== token.id && h[field] === value)) return field;
  }
  return null;
}
