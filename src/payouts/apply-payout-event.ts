import type { Logger } from '../logger.js';
import { sendAlert, type Alerts } from '../alerts/alerts.js';
import {
  decideTransition,
  reservation,
  type PayoutEvent,
  type PayoutState,
} from '../policy/payout-policy.js';
import { GUARD_FIELDS, payoutAmounts, payoutFacts, payoutFunds, type PayoutRecord } from './payout-record.js';
import type { PayoutStore } from './payout-store.js';

export type PayoutEventDeps = { payouts: PayoutStore; logger: Logger; alerts?: Alerts | undefined };

export type AppliedEvent =
  { ok: true; record: PayoutRecord } | { ok: false; reason: string; found?: PayoutState | 'missing' };

const RELEASED: readonly PayoutState[] = ['confirmed', 'refunded', 'cancelled'];

/**
 * Moves a payout by an event, as the policy decides, with the fields the event brings: the one way
 * every caller (worker, webhook, operator) changes a payout. Keeps the wallet reservation in step with
 * where the money is, and alerts when a payout fails or is held. Never throws for a refused event.
 */
export async function applyPayoutEvent(
  deps: PayoutEventDeps,
  record: PayoutRecord,
  event: PayoutEvent,
  change: { fields?: Record<string, string>; detail?: string; now?: number } = {},
): Promise<AppliedEvent> {
  const decision = decideTransition(payoutFacts(record), event);
  if (!decision.ok) return { ok: false, reason: decision.reason };
  // An event that tells what a step's call did ends its doubt; nothing else does (not a retry).
  const fields = { ...(change.fields ?? {}), ...(decision.settlesDoubt ? { doubt: '' } : {}) };
  const after = { ...record, ...fields, state: decision.to, stage: decision.stage } as PayoutRecord;
  const moved = await deps.payouts.transition(record, decision, {
    fields,
    // Released once the money is where it ends, or when a refusal proves step 1 never moved it; kept
    // while a step is in doubt (step 1 reserves before its call).
    reservation:
      RELEASED.includes(decision.to) || (decision.to === 'failed' && decision.stage === 'none')
        ? 'release'
        : reservation(decision.stage, payoutAmounts(after)),
    releaseDaily: event === 'cancel',
    // The guard's stored facts, re-checked in the same script: a cancel decided on a record read just
    // before step 1 began cannot land while the step-1 transfer is in flight.
    absentFields: decision.guard === undefined ? [] : (GUARD_FIELDS[decision.guard] ?? []),
    ...(change.detail === undefined ? {} : { detail: change.detail }),
    ...(change.now === undefined ? {} : { now: change.now }),
  });
  if (!moved.moved && moved.guardField !== undefined) {
    // The fact changed since the record was read: the policy's reason, from the payout as it is now.
    const now = await deps.payouts.get(record.payoutId);
    const again = now === undefined ? undefined : decideTransition(payoutFacts(now), event);
    const reason = again !== undefined && !again.ok ? again.reason : `${moved.guardField} changed meanwhile`;
    return { ok: false, reason, found: moved.found };
  }
  if (!moved.moved) return { ok: false, reason: `the payout is now ${moved.found}`, found: moved.found };
  const log = deps.logger.child({ payoutId: record.payoutId });
  const funds = payoutFunds(after);
  log.info({ from: decision.from, to: decision.to, event, funds }, 'payout state changed');
  if (decision.to === 'failed' || decision.to === 'held') {
    // Never throws: an alert problem must not change what happens to the money.
    await sendAlert(deps, {
      kind: 'payout-attention',
      payoutId: record.payoutId,
      state: decision.to,
      reason: after.reason ?? change.detail ?? event,
      fundsAt: funds.at,
      amount: funds.amount,
      currency: funds.currency,
    });
  }
  return { ok: true, record: after };
}
