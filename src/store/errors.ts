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
  /** The storage below failed (or refused); the cause is attached. Retryable when it carries `retryAfterMs`. */
  | 'STORAGE_FAILED'
  /**
   * A platform limit (such as KV's 1,000 operations per Worker invocation) stopped a bulk
   * operation part way; what it did is consistent, and repeating it continues.
   */
  | 'LIMIT_REACHED'
  /** Zoho refused a grant code: used, expired, unknown, or issued to another client. */
  | 'ZOHO_INVALID_CODE'
  /** Zoho does not know the client id (often: the wrong data center). */
  | 'ZOHO_INVALID_CLIENT'
  | 'ZOHO_INVALID_CLIENT_SECRET'
  /** Zoho's "Access Denied: too many requests". Retryable after `retryAfterMs`. */
  | 'ZOHO_RATE_LIMITED'
  /** Zoho could not be reached, or answered with a server error. Retryable. */
  | 'ZOHO_UNAVAILABLE'
  /** Zoho answered something this client cannot read (not JSON, or missing fields). */
  | 'ZOHO_BAD_RESPONSE'
  /** The refresh token is dead (revoked, or deleted by Zoho's limits): the user must log in again. */
  | 'REAUTH_REQUIRED'
  /**
   * Zoho's OAUTH_SCOPE_MISMATCH: the login was not granted a scope the call needs. A refresh
   * cannot cure it (the token keeps its scopes): log in again asking for the scope.
   */
  | 'ZOHO_SCOPE_MISMATCH'
  /**
   * The exchange's ID token is missing, or is not this login's (another nonce, client or
   * issuer): the code was issued to another login. Its new refresh token was revoked.
   */
  | 'ZOHO_ID_TOKEN_INVALID'
  /** The device flow: the person refused the login on Zoho's verification page. */
  | 'ZOHO_ACCESS_DENIED'
  /** The device flow: the person did not decide before the user code expired. */
  | 'ZOHO_DEVICE_CODE_EXPIRED'
  /** The caller aborted the operation (its `AbortSignal`). */
  | 'CANCELLED'
  /**
   * A deployment setting (an env var, a secret, a binding) is missing or wrong: the same code
   * in the Worker and in its objects. The message names the setting, never its value.
   */
  | 'MISCONFIGURED';

/**
 * The one error class of the package: branch on its stable `code`, never on the message
 * (which names fields and operations, never a token, secret or user name).
 *
 * ```ts
 * try { await manager.getAccessToken({ userName }); }
 * catch (error) { if (isTokenStoreError(error, 'REAUTH_REQUIRED')) return redirectToLogin(); throw error; }
 * ```
 */
export class TokenStoreError extends Error {
  override readonly name = 'TokenStoreError';
  readonly code: TokenStoreErrorCode;
  /** For retryable errors: how long to wait before trying again. */
  readonly retryAfterMs: number | undefined;
  /** Zoho's own error code (its answer's `error`, such as `invalid_code`), when the error is Zoho's answer. */
  readonly zohoError: string | undefined;

  constructor(code: TokenStoreErrorCode, message: string, options?: { cause?: unknown; retryAfterMs?: number; zohoError?: string }) {
    super(message, options);
    this.code = code;
    this.retryAfterMs = options?.retryAfterMs;
    this.zohoError = options?.zohoError;
  }

  /**
   * Whether trying the same thing later may succeed: Zoho's rate limit and outages, and a
   * storage fault that said how long to wait (an overloaded or flaky Durable Object).
   */
  get retryable(): boolean {
    return this.code === 'ZOHO_RATE_LIMITED' || this.code === 'ZOHO_UNAVAILABLE' || this.retryAfterMs !== undefined;
  }
}

/**
 * Whether `value` is a `TokenStoreError` (with `code`, when given), also across copies of the
 * package.
 *
 * ```ts
 * if (isTokenStoreError(error) && error.retryable) await wait(error.retryAfterMs);
 * ```
 */
export function isTokenStoreError(value: unknown, code?: TokenStoreErrorCode): value is TokenStoreError {
  return value instanceof TokenStoreError && (code === undefined || value.code === code);
}

/** A deployment setting is missing or wrong (MISCONFIGURED): `message` names it, never its value. */
export const misconfigured = (message: string) => new TokenStoreError('MISCONFIGURED', `configuration: ${message}`);
