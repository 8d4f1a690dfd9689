// The rules of creating a CryptoConnect wallet exactly once (POST /wallets), as pure functions: what a
// failed create call means, how long one call may take, and how long a request holds the creation.
// src/wallets/wallet-commands.ts carries them out; docs/wallets.md explains them.

/** How a create call that did not answer with a wallet ended, as src/interlace/errors.ts classifies it. */
export type CreateFailure = {
  category: 'transient' | 'permanent' | 'authentication' | 'unknown';
  reason?: string;
};

/**
 * What the request does after its create call failed. It never sends another create: a call without an
 * answer (a timeout, a dropped connection, a 5xx) may still be committed by Interlace after the client
 * gave up, so only a look-up once that could have happened (`look-up-after-settle`:
 * WALLET_CREATE_SETTLE_MS after the call was sent) may say it was not; and a later request (the
 * merchant's retry) looks up again before it sends one. A business refusal may be Interlace's answer
 * to a referenceId it already knows, so the wallet is looked up at once. A 429, a rejected credential
 * or an error that is not Interlace's ends the request: the create was not processed, or nothing can
 * be said, and the retry looks up first anyway.
 */
export function afterCreateFailure(failure: CreateFailure): 'look-up-after-settle' | 'look-up-now' | 'stop' {
  if (failure.category === 'unknown' || failure.category === 'authentication') return 'stop';
  if (failure.reason === 'rate-limited') return 'stop';
  if (failure.category === 'permanent') return failure.reason === 'business-error' ? 'look-up-now' : 'stop';
  return 'look-up-after-settle';
}

/**
 * The longest one authenticated Interlace call may take: a token renewal (two calls), the call, and on
 * a rejected token a second renewal and the call again (API-NOTES §1), each bounded by
 * INTERLACE_TIMEOUT_MS.
 */
export function interlaceCallBudgetMs(timeoutMs: number): number {
  return 6 * timeoutMs;
}

/**
 * How long a request holds a creation (its lease): waiting for an earlier create to settle, a look-up,
 * its one create call, the settle after it, and a last look-up, each call at its budget. Past it a
 * retry may take the creation over; a request whose lease cannot cover its create call any more does
 * not send it (the store's markCreateSent refuses).
 */
export function creationLeaseMs(timing: { timeoutMs: number; settleMs: number }): number {
  return 2 * timing.settleMs + 3 * interlaceCallBudgetMs(timing.timeoutMs);
}
