import { describe, expect, it } from 'vitest';
import { sweepBackoff } from '../../workers/sweep-backoff.js';
import { InterlaceError } from '../../src/interlace/errors.js';

describe('sweepBackoff', () => {
  it('grows exponentially with jitter between half and the full step, capped', () => {
    const low = sweepBackoff({ baseMs: 1000, maxMs: 10_000, random: () => 0 });
    const high = sweepBackoff({ baseMs: 1000, maxMs: 10_000, random: () => 1 });
    expect([1, 2, 3, 4, 5, 6].map((n) => low(n))).toEqual([500, 1000, 2000, 4000, 5000, 5000]);
    expect([1, 2, 3, 4, 5, 6].map((n) => high(n))).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000]);
  });

  it('never retries sooner than an upstream Retry-After', () => {
    const backoff = sweepBackoff({ baseMs: 100, maxMs: 1000, random: () => 0 });
    const error = new InterlaceError({
      category: 'transient',
      reason: 'http-5xx',
      endpoint: 'x',
      message: 'busy',
      retryAfterMs: 7000,
    });
    expect(backoff(1, error)).toBe(7000);
  });
});
