import { nameBasedUuid } from '../sweep/transaction-id.js';
import type { PayoutStep } from '../policy/payout-policy.js';

/**
 * The payout id of a NEW payout: derived from its external_id under a namespace (PAYOUT_ID_NAMESPACE,
 * by default the payout account id), so two installations that both use `order-1001` never derive the
 * same step idempotency values, whatever scope Interlace gives an idempotencyKey (undocumented: attack
 * review round 2, item 7). Without a namespace, the id payouts had before: an existing payout keeps
 * the id it was created with (a repeated request finds it by its external id, never by this function).
 */
export function payoutIdFor(externalId: string, namespace = ''): string {
  return nameBasedUuid(
    namespace === ''
      ? `interlace-sweep:payout:${externalId}`
      : `interlace-sweep:payout:${namespace.length}:${namespace}:${externalId}`,
  );
}

/**
 * The idempotency value of one step of a payout (clientTransactionId, referenceId, idempotencyKey):
 * derived from the payout id and the step, so every retry, resume and replay sends the same value.
 * Never change these names: a new value for an old payout would let Interlace move its money again.
 */
export function payoutStepId(payoutId: string, step: PayoutStep): string {
  return nameBasedUuid(`interlace-sweep:payout:${payoutId}:${step}`);
}
