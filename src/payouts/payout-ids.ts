import { nameBasedUuid } from '../sweep/transaction-id.js';
import type { PayoutStep } from '../policy/payout-policy.js';

/** The payout id of an external_id: a repeated request names the same payout, whichever process takes it. */
export function payoutIdFor(externalId: string): string {
  return nameBasedUuid(`interlace-sweep:payout:${externalId}`);
}

/**
 * The idempotency value of one step of a payout (clientTransactionId, referenceId, idempotencyKey):
 * derived from the payout id and the step, so every retry, resume and replay sends the same value.
 * Never change these names: a new value for an old payout would let Interlace move its money again.
 */
export function payoutStepId(payoutId: string, step: PayoutStep): string {
  return nameBasedUuid(`interlace-sweep:payout:${payoutId}:${step}`);
}
