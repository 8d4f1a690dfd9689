import type { Config } from '../config.js';
import { transferStatusEvent, type PayoutState } from '../policy/payout-policy.js';
import { applyPayoutEvent, type PayoutEventDeps } from './apply-payout-event.js';

/** The fields of a blockchain transfer's status notification this service reads (seed 001, step 5). */
export type PayoutTransferResource = {
  id: string;
  idempotencyKey: string;
  status: string;
  transactionHash?: string;
};

/**
 * The resource of a blockchain transfer out, told apart from a deposit by its shape: it carries the
 * `idempotencyKey` and `destination` object of `POST /cryptoconnect/transfers`, which a deposit never
 * has (API-NOTES §6, §8). Undefined for anything else.
 */
export function payoutTransferResource(resource: string): PayoutTransferResource | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(resource);
  } catch {
    return undefined;
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return undefined;
  const r = raw as Record<string, unknown>;
  const destination = r.destination;
  if (typeof r.idempotencyKey !== 'string' || destination === null || typeof destination !== 'object')
    return undefined;
  if (typeof r.id !== 'string' || typeof r.status !== 'string') return undefined;
  return {
    id: r.id,
    idempotencyKey: r.idempotencyKey,
    status: r.status,
    ...(typeof r.transactionHash === 'string' && r.transactionHash !== ''
      ? { transactionHash: r.transactionHash }
      : {}),
  };
}

export type PayoutNotificationResult =
  | { outcome: 'payout'; payoutId: string; state: PayoutState; change: 'transitioned' | 'unchanged' }
  | { outcome: 'ignored'; reason: string };

/**
 * Applies a verified blockchain transfer notification to its payout (found by the idempotencyKey the
 * payout stored before its call): Pending records it as sent, Closed confirms it, ON_HOLD and failure
 * statuses hold or fail it. A repeat, or one that arrives out of order, changes nothing.
 */
export async function acceptPayoutNotification(
  deps: PayoutEventDeps & { config: Config },
  resource: PayoutTransferResource,
): Promise<PayoutNotificationResult> {
  const payoutId = await deps.payouts.idForWithdrawKey(resource.idempotencyKey);
  if (payoutId === undefined) return { outcome: 'ignored', reason: 'not-our-payout' };
  let record = await deps.payouts.get(payoutId);
  if (record === undefined) return { outcome: 'ignored', reason: 'payout-missing' };
  const meaning = transferStatusEvent(resource.status, deps.config.payout.statuses);
  const fields: Record<string, string> = {
    withdrawTransferId: resource.id,
    withdrawStatus: resource.status,
    ...(resource.transactionHash ? { transactionHash: resource.transactionHash } : {}),
  };
  const unchanged = {
    outcome: 'payout' as const,
    payoutId,
    state: record.state,
    change: 'unchanged' as const,
  };
  if (meaning === 'still-pending') {
    // The answer to step 5 may have been lost: Pending proves it was sent.
    if (record.state !== 'converted' || record.withdrawCalledAt === undefined) return unchanged;
    const applied = await applyPayoutEvent(deps, record, 'sent', {
      fields: { ...fields, sentAt: String(Date.now()) },
    });
    return applied.ok ? { ...unchanged, state: applied.record.state, change: 'transitioned' } : unchanged;
  }
  const extra: Record<string, string> =
    meaning === 'confirmed'
      ? {
          confirmedAt: String(Date.now()),
          arrivedAmount: record.expectedArrival ?? record.sentAmount ?? '',
          onHold: '',
        }
      : meaning === 'on-hold'
        ? { onHold: '1', reason: `on-hold: transfer ${resource.id} is ${resource.status} at Interlace` }
        : meaning === 'transfer-failed'
          ? { onHold: '', reason: `transfer-failed: transfer ${resource.id} is ${resource.status}` }
          : { reason: `status-unknown: transfer ${resource.id} reports "${resource.status}"` };
  let applied = await applyPayoutEvent(deps, record, meaning, { fields: { ...fields, ...extra } });
  if (!applied.ok && applied.found !== undefined && applied.found !== record.state) {
    // The record moved between the read and the write (its Pending, stored side by side by another
    // receiver's consumer, moved it to sent): decide again on what it is now. Closed then confirms
    // whichever of the two lands first, so the outcome never depends on their order.
    record = (await deps.payouts.get(payoutId)) ?? record;
    applied = await applyPayoutEvent(deps, record, meaning, { fields: { ...fields, ...extra } });
  }
  return applied.ok
    ? { ...unchanged, state: applied.record.state, change: 'transitioned' }
    : { ...unchanged, state: record.state };
}
