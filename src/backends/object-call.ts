/**
 * One call to a Durable Object, with the handling Cloudflare documents for its failures:
 *   - `retryable` (and not `overloaded`): a transient fault, such as an object reset by a
 *     deploy. Retried with a fresh stub, exponential backoff and full jitter, a bounded number
 *     of times. Only for calls that are safe to repeat (a save by id or by user name is).
 *   - `overloaded`: the object cannot keep up; a retry would add to its load. Never retried:
 *     the caller gets STORAGE_FAILED with `retryAfterMs`, which the Worker answers with 503.
 *   - anything else: STORAGE_FAILED at once, the cause attached.
 */
import { TokenStoreError } from '../store/errors.ts';
import { retrying } from '../store/retry.ts';

export interface ObjectCallOptions {
  /** Attempts in all, the first included (default 3). 1 turns retries off. */
  attempts?: number;
  /** The first retry waits up to this long; each later one up to twice the one before (default 50 ms). */
  baseDelayMs?: number;
  /** Waits (tests pass one that does not really wait). */
  sleep?: (ms: number) => Promise<void>;
}

/** How long an overloaded object's callers are asked to wait: 1 to 2 s, spread so they do not return together. */
export const OVERLOADED_RETRY_AFTER_MS = 1_000;

const flag = (error: unknown, name: 'retryable' | 'overloaded') =>
  typeof error === 'object' && error !== null && (error as Record<string, unknown>)[name] === true;

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Runs `rpc` against a stub from `stubFor()` (a new stub per attempt: Cloudflare's advice after
 * a failure). Errors the object's own code answers inside its result pass through untouched.
 */
export async function callObject<S, T>(stubFor: () => S, rpc: (stub: S) => Promise<T>, options: ObjectCallOptions = {}): Promise<T> {
  const { attempts = 3, baseDelayMs = 50, sleep = realSleep } = options;
  const once = () =>
    rpc(stubFor()).catch((cause: unknown) => {
      if (flag(cause, 'overloaded')) {
        throw new TokenStoreError('STORAGE_FAILED', 'the token store object is overloaded', {
          cause,
          retryAfterMs: OVERLOADED_RETRY_AFTER_MS + Math.floor(Math.random() * OVERLOADED_RETRY_AFTER_MS),
        });
      }
      if (!flag(cause, 'retryable')) throw new TokenStoreError('STORAGE_FAILED', 'the call to the token store object failed', { cause });
      throw cause;
    });
  return retrying(once, {
    attempts,
    // The platform's own flag; not a TokenStoreError's `retryable` (an overloaded object's says wait, not retry now).
    retryable: (cause) => !(cause instanceof TokenStoreError) && flag(cause, 'retryable'),
    sleep: (attempt) => sleep(Math.random() * baseDelayMs * 2 ** (attempt - 1)),
    exhausted: (cause) =>
      new TokenStoreError('STORAGE_FAILED', `the token store object failed ${attempts} times with a transient fault`, {
        cause,
        retryAfterMs: baseDelayMs * 2 ** attempts,
      }),
  });
}
