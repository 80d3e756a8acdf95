/**
 * Back-off from a failing Zoho, kept where the refresh runs: one per token manager, so per
 * isolate, per page, or per user's Durable Object. Two kinds of wait:
 *   - a token's own, after Zoho's "Access Denied" (its rate limit is per refresh token): the
 *     rest of Zoho's ten-minute window, from the mints this back-off saw;
 *   - an accounts server's, after it failed (HTTP 5xx or unreachable): every token refreshed at
 *     that server waits, growing exponentially with each failure in a row, with jitter, up to
 *     a cap; a success there ends it.
 * While a wait runs, callers get the same typed error, with what is left of the wait, and
 * Zoho is not called: during its rate limit no call can succeed, and during an outage every
 * extra call joins the herd that meets Zoho when it comes back.
 */
import { TokenStoreError } from '../store/errors.ts';
import { DEFAULT_RATE_LIMIT_WAIT_MS, ZOHO_WINDOW_MS } from './oauth.ts';

/** Zoho's limit: access tokens minted per refresh token per window. */
const MINTS_PER_WINDOW = 10;

export interface BackoffOptions {
  /** The first wait after a server failure, at most (default 1,000 ms; at least half of it). */
  baseMs?: number;
  /** The longest wait (default 5 minutes). */
  capMs?: number;
  /** A number in [0, 1) (tests pass a fixed one). */
  random?: () => number;
}

interface Wait {
  until: number;
  error: TokenStoreError;
}

export interface Backoff {
  /** The error to answer instead of calling Zoho, while a wait for this token or its server runs. */
  blocked(tokenId: string, server: string): TokenStoreError | null;
  /** Records a failed refresh; returns the error callers get, with the wait it started if it started one. */
  failed(tokenId: string, server: string, error: TokenStoreError): TokenStoreError;
  succeeded(tokenId: string, server: string): void;
}

export function createBackoff(now: () => number, options: BackoffOptions = {}): Backoff {
  const { baseMs = 1_000, capMs = 5 * 60_000, random = Math.random } = options;
  const tokens = new Map<string, Wait>();
  /** When this process last minted access tokens for each token (the latest 10, within the window). */
  const mints = new Map<string, number[]>();
  const recentMints = (tokenId: string, at: number) => (mints.get(tokenId) ?? []).filter((t) => at - t < ZOHO_WINDOW_MS);
  const servers = new Map<string, Wait & { failures: number }>();

  const waiting = (error: TokenStoreError, ms: number, message = error.message) =>
    new TokenStoreError(error.code, message, { retryAfterMs: Math.max(1, Math.ceil(ms)), cause: error.cause });

  return {
    blocked(tokenId, server) {
      const at = now();
      const longest = [tokens.get(tokenId), servers.get(server)]
        .filter((wait): wait is Wait => wait !== undefined && wait.until > at)
        .sort((a, b) => b.until - a.until)[0];
      return longest ? waiting(longest.error, longest.until - at, `${longest.error.message}; backing off, Zoho is not called again until the wait ends`) : null;
    },

    failed(tokenId, server, error) {
      const at = now();
      if (error.code === 'ZOHO_RATE_LIMITED') {
        // "Access Denied" blocks the token until its window frees a mint: the earliest of the
        // mints seen here within the window, plus the window; the whole window when none was seen.
        const earliest = recentMints(tokenId, at)[0];
        const windowLeft = earliest === undefined ? DEFAULT_RATE_LIMIT_WAIT_MS : earliest + ZOHO_WINDOW_MS - at;
        const ms = Math.max(1, windowLeft);
        tokens.set(tokenId, { until: at + ms, error });
        return waiting(error, ms);
      }
      if (error.code === 'ZOHO_UNAVAILABLE') {
        const failures = (servers.get(server)?.failures ?? 0) + 1;
        const ceiling = Math.min(capMs, baseMs * 2 ** (failures - 1));
        // Half fixed, half random: waits grow, and callers of many objects do not return together.
        const ms = Math.max(error.retryAfterMs ?? 0, ceiling / 2 + random() * (ceiling / 2));
        servers.set(server, { until: at + ms, error, failures });
        return waiting(error, ms);
      }
      return error;
    },

    succeeded(tokenId, server) {
      tokens.delete(tokenId);
      servers.delete(server);
      const at = now();
      mints.set(tokenId, [...recentMints(tokenId, at), at].slice(-MINTS_PER_WINDOW));
    },
  };
}
