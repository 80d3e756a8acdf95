import { describe, expect, it, vi } from 'vitest';
import { callObject } from '../../src/backends/object-call.ts';
import { tokenErrorOf } from '../shared/token-error.ts';

/** An error as Durable Objects throw them: `retryable` and `overloaded` set by the runtime. */
function platformError(flags: { retryable?: boolean; overloaded?: boolean }) {
  return Object.assign(new Error('Durable Object reset because its code was updated.'), flags);
}

/** A stub factory that fails with `errors` in turn, then answers "ok"; counts stubs and attempts. */
function flaky(errors: Error[]) {
  const seen = { stubs: 0, attempts: 0 };
  const stubFor = () => {
    seen.stubs++;
    return { call: async () => (seen.attempts++ < errors.length ? Promise.reject(errors[seen.attempts - 1]) : 'ok') };
  };
  return { seen, stubFor };
}

const waits: number[] = [];
const sleep = async (ms: number) => void waits.push(ms);

describe('callObject: what a failed call to a Durable Object becomes', () => {
  it('retries a retryable fault with a fresh stub each time, waiting longer each time, and succeeds', async () => {
    waits.length = 0;
    const { seen, stubFor } = flaky([platformError({ retryable: true }), platformError({ retryable: true }), platformError({ retryable: true })]);
    // Full jitter: the n-th wait is a random share of base * 2^(n-1); the same share each time shows the ceiling doubling.
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      expect(await callObject(stubFor, (s) => s.call(), { sleep, baseDelayMs: 100, attempts: 4 })).toBe('ok');
    } finally {
      random.mockRestore();
    }
    expect(seen).toEqual({ stubs: 4, attempts: 4 });
    expect(waits).toEqual([50, 100, 200]);
  });

  it('gives up after the bounded number of attempts: a retryable STORAGE_FAILED with a wait', async () => {
    const { seen, stubFor } = flaky(Array.from({ length: 5 }, () => platformError({ retryable: true })));
    const error = await tokenErrorOf(callObject(stubFor, (s) => s.call(), { sleep, attempts: 3 }));
    expect(seen.attempts).toBe(3);
    expect(error.code).toBe('STORAGE_FAILED');
    expect(error.retryable).toBe(true);
    expect(error.retryAfterMs).toBeGreaterThan(0);
  });

  it('never retries an overloaded object: one attempt, a retryable STORAGE_FAILED of 1 to 2 s', async () => {
    const { seen, stubFor } = flaky([platformError({ retryable: true, overloaded: true })]);
    const error = await tokenErrorOf(callObject(stubFor, (s) => s.call(), { sleep }));
    expect(seen.attempts).toBe(1);
    expect(error.code).toBe('STORAGE_FAILED');
    expect(error.retryAfterMs).toBeGreaterThanOrEqual(1000);
    expect(error.retryAfterMs).toBeLessThan(2000);
    expect(error.message).toContain('overloaded');
  });

  it('does not retry other errors: STORAGE_FAILED without a wait, the cause attached', async () => {
    const cause = new Error('boom');
    const { seen, stubFor } = flaky([cause]);
    const error = await tokenErrorOf(callObject(stubFor, (s) => s.call(), { sleep }));
    expect(seen.attempts).toBe(1);
    expect(error.retryable).toBe(false);
    expect(error.cause).toBe(cause);
  });
});
