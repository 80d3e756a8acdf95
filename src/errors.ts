/**
 * Stable error codes. Callers branch on `code`, never on `message`.
 * Messages name fields and operations, never a token, secret or user name.
 */
export type TokenStoreErrorCode =
  /** The input is not a valid query, token or id; nothing was changed. */
  | 'INVALID_INPUT'
  /** Something the caller needs is not stored (where absence is an error, not `null`). */
  | 'NOT_FOUND'
  /** A save would give a record a token or user name that another record already holds. */
  | 'CONFLICT'
  /** A record could not be opened: wrong or missing key, tampered bytes, or moved to another id or store. */
  | 'DECRYPT_FAILED'
  /** The storage below failed (or refused); the cause is attached. */
  | 'STORAGE_FAILED'
  /**
   * A platform limit (such as KV's 1,000 operations per Worker invocation) stopped a bulk
   * operation part way; what it did is consistent, and repeating it continues.
   */
  | 'LIMIT_REACHED';

export class TokenStoreError extends Error {
  override readonly name = 'TokenStoreError';
  readonly code: TokenStoreErrorCode;

  constructor(code: TokenStoreErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

export function isTokenStoreError(value: unknown, code?: TokenStoreErrorCode): value is TokenStoreError {
  return value instanceof TokenStoreError && (code === undefined || value.code === code);
}
