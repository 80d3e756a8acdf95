import { describe, expect, it } from 'vitest';
import { findConflict, lookupFor, matches, planSave } from '../../src/store/matching.ts';
import type { OAuthToken } from '../../src/store/types.ts';

const stored: OAuthToken = {
  id: 't1',
  userName: 'u@example.com:1',
  clientId: 'c1',
  clientSecret: 's1',
  refreshToken: 'r1',
  accessToken: 'a1',
  grantToken: null,
  expiryTime: 10,
  redirectUrl: null,
  apiDomain: 'https://www.zohoapis.com',
};

describe('matching (pure)', () => {
  it('follows the precedence, one rule per query', () => {
    expect(lookupFor({ userName: 'u', accessToken: 'a', id: 'i' })).toEqual({ field: 'userName', value: 'u' });
    expect(lookupFor({ accessToken: 'a', refreshToken: 'r' })).toEqual({ field: 'accessToken', value: 'a' });
    expect(lookupFor({ accessToken: 'a', refreshToken: 'r', clientId: 'c', clientSecret: 's' })).toEqual({
      field: 'refreshToken',
      value: 'r',
      clientId: 'c',
    });
    expect(lookupFor({ grantToken: 'g', refreshToken: 'r', clientId: 'c', clientSecret: 's' })).toMatchObject({
      field: 'grantToken',
    });
    expect(lookupFor({ refreshToken: 'r', id: 'i' })).toEqual({ field: 'id', value: 'i' });
    expect(lookupFor({ refreshToken: 'r' })).toBeNull();
  });

  it('compares the client id on rule 3 and nothing else beyond the field', () => {
    expect(matches({ field: 'refreshToken', value: 'r1', clientId: 'c1' }, stored)).toBe(true);
    expect(matches({ field: 'refreshToken', value: 'r1', clientId: 'c2' }, stored)).toBe(false);
    expect(matches({ field: 'userName', value: 'u@example.com:1' }, stored)).toBe(true);
    expect(matches({ field: 'id', value: 't2' }, stored)).toBe(false);
  });

  it('plans an update that keeps the id and unspecified fields', () => {
    const { token, insert } = planSave({ id: 'other', accessToken: 'a2', grantToken: null }, null, stored, () => 'fresh');
    expect(insert).toBe(false);
    expect(token).toEqual({ ...stored, accessToken: 'a2' });
  });

  it('plans an insert with a fresh id when none is given', () => {
    expect(planSave({ refreshToken: 'r9' }, null, null, () => 'fresh').token.id).toBe('fresh');
  });

  it('finds conflicts only with other records', () => {
    expect(findConflict(stored, [stored])).toBeNull();
    expect(findConflict(stored, [{ ...stored, id: 't2', userName: null }])).toBe('accessToken');
  });
});
