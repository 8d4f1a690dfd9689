import { InterlaceError } from '../src/interlace/errors.js';

/**
 * Exponential backoff with equal jitter, capped; an upstream Retry-After is a floor. Jitter spreads the
 * retries of a burst of deposits that all failed at the same moment.
 */
export function sweepBackoff(options: { baseMs: number; maxMs: number; random?: () => number }) {
  const random = options.random ?? Math.random;
  return (attemptsMade: number, error?: Error): number => {
    const exponential = Math.min(options.maxMs, options.baseMs * 2 ** Math.max(0, attemptsMade - 1));
    const jittered = Math.round(exponential / 2 + random() * (exponential / 2));
    const floor =
      error instanceof InterlaceError && error.retryAfterMs !== undefined ? error.retryAfterMs : 0;
    return Math.max(jittered, floor);
  };
}
