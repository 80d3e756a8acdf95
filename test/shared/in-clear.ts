import { expect } from 'vitest';
import type { TokenQuery } from '../../src/store/types.ts';

const SECRET_FIELDS = ['userName', 'clientSecret', 'refreshToken', 'accessToken', 'grantToken'] as const;

/** Asserts that none of the tokens' secrets or user names appears in `raw` (stored bytes as text). */
export function expectNothingInClear(raw: string, tokens: readonly TokenQuery[]): void {
  expect(raw.length).toBeGreaterThan(0);
  for (const token of tokens) {
    for (const field of SECRET_FIELDS) {
      const value = token[field];
      if (value) expect(raw, `${field} in clear`).not.toContain(value);
    }
  }
}
