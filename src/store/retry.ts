/**
 * The one retry loop: a piece of work tried again while its failure is one that passes (a
 * write conflict, a transient object fault, KV's 429), with a wait between tries, and a
 * clear error when the tries run out. Any other failure is thrown at once.
 */
export interface RetryPolicy {
  /** Tries in all, the first included. */
  attempts: number;
  /** Whether a failure may pass if tried again. */
  retryable(error: unknown): boolean;
  /** The wait after failed try number `attempt` (1, 2, ...). */
  sleep(attempt: number): Promise<void>;
  /** What to throw when the last try failed too. */
  exhausted(error: unknown): Error;
}

export async function retrying<T>(work: () => Promise<T>, policy: RetryPolicy): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (!policy.retryable(error)) throw error;
      if (attempt >= policy.attempts) throw policy.exhausted(error);
      await policy.sleep(attempt);
    }
  }
}
