// The TokenStoreError a promise rejects with (the test fails if it resolves, or rejects with anything else).
import { expect } from 'vitest';
import { TokenStoreError } from '../../src/store/errors.ts';

export async function tokenErrorOf(promise: Promise<unknown>): Promise<TokenStoreError> {
  const error = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TokenStoreError);
  return error as TokenStoreError;
}
