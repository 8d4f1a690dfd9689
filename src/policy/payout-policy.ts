import { currencyPrecision } from '../sweep/amounts.js';
import { Decimal } from '../sweep/decimal.js';
import { defineTransitionTable, transition, type TransitionTable } from './transition-table.js';

// The payout's money rules (issue #11), as data and pure functions: no Redis, no clock, no I/O. The
// store's scripts and the processor only carry out what these decide. docs/payout-state-machine.md is
// generated from the transition table (npm run docs:payout-states; a test keeps the two equal).

/** The states of a payout, and what each means. */
export const PAYOUT_STATE_MEANINGS = {
  requested: 'accepted and checked; waits for an operator when PAYOUT_REQUIRE_APPROVAL',
  approved: 'may move money: step 1 (Infinity USD -> CryptoConnect) comes next',
  funded: 'step 1 done: the USD is in the CryptoConnect wallet; the trade comes next',
  converted: 'step 3 done: the stablecoin is in the CryptoConnect wallet; step 5 comes next',
  sent: 'step 5 answered: the blockchain transfer is Pending',
  confirmed: 'the blockchain transfer is Closed: final',
  failed: 'a step was refused; the money is where `stage` says (an operator may refund)',
  held: 'an operator decides: ON_HOLD, a step whose outcome is unknown, the 90-day window, a stall',
  cancelled: 'stopped before step 1 was ever called: final',
  refunding: 'an operator asked for the money back to Infinity; a worker transfers it',
  refunded: 'the money is back in Infinity (less the transfer fee): final',
} as const;

/** The lifecycle of one payout. */
export type PayoutState = keyof typeof PAYOUT_STATE_MEANINGS;
export const PAYOUT_STATES = Object.keys(PAYOUT_STATE_MEANINGS) as PayoutState[];

/** How far the money got: the last money-moving step that is known to have happened. */
export type PayoutStage = 'none' | 'funded' | 'converted' | 'sent' | 'confirmed' | 'refunded';

/** What moves a payout, and when it happens. */
export const PAYOUT_EVENT_MEANINGS = {
  approve: 'An operator approves the payout (`payouts approve`), or the service does when approval is off.',
  'needs-approval':
    'Right before step 1, the worker finds the payout approved automatically by a process whose ' +
    '`PAYOUT_REQUIRE_APPROVAL` was off while its own is on (an operator shell, a stale process): back to ' +
    'waiting for an operator. Guard `no-money-call-yet`.',
  cancel: 'An operator cancels it (`payouts cancel`). Guard `no-money-call-yet`.',
  funded:
    'Step 1 (`POST /business/transfer/internal`, 0 -> 2) answered with a success status ' +
    '(`PAYOUT_TRANSFER_SUCCESS_STATUSES`; a status in neither list holds the payout with step 1 in doubt).',
  converted:
    'Step 3 (`POST /cryptoconnect/convert/trades`) answered a success status (`PAYOUT_TRADE_SUCCESS_STATUSES`).',
  sent: 'Step 5 (`POST /cryptoconnect/transfers`) answered, or notified, a pending status (`PAYOUT_STATUS_PENDING`).',
  confirmed:
    'The blockchain transfer is Closed (`PAYOUT_STATUS_CLOSED`), by its answer or its notification. Guard `withdraw-called`.',
  'step-refused':
    'Interlace refused a step (or its answer was a failure) and no earlier attempt of the step is in doubt.',
  'outcome-unknown':
    'A step may have gone through but nobody can tell: retries ran out after calls without an answer, a refusal ' +
    'followed such a call, or the step would be resent after the idempotency window.',
  'on-hold':
    'The blockchain transfer is ON_HOLD (`PAYOUT_STATUS_ON_HOLD`): never retried blindly. Guard `withdraw-called`.',
  'transfer-failed':
    'The blockchain transfer failed (`PAYOUT_STATUS_FAILED`): Interlace gave the stablecoin back. Guard `withdraw-called`.',
  'status-unknown':
    'The blockchain transfer reports a status none of `PAYOUT_STATUS_*` names. Guard `withdraw-called`.',
  'confirmation-timeout': 'No Closed within `PAYOUT_CONFIRM_TIMEOUT_MS` of step 5.',
  'retry-fund':
    'An operator retries (`payouts retry`) a payout held before step 1 was known done. Guard `not-on-hold`.',
  'retry-convert': 'An operator retries a payout held with its USD in the wallet. Guard `not-on-hold`.',
  'retry-send':
    'An operator retries a payout held with its stablecoin in the wallet or sent: step 5 is resent with the same ' +
    'idempotencyKey, whose answer tells the transfer as it is. Guard `not-on-hold`.',
  'retry-refund': 'An operator retries a held refund. Guard `not-on-hold`.',
  refund:
    'An operator asks for the money back to Infinity (`payouts refund`). Guard `money-in-wallet`: never while a ' +
    'money-moving step is in doubt (its call went out and no answer proved what it did).',
  refunded:
    'The refund transfer (CryptoConnect -> Infinity) answered with a success status ' +
    '(`PAYOUT_TRANSFER_SUCCESS_STATUSES`; only `PAYOUT_TRANSFER_FAILED_STATUSES` is a refusal).',
} as const;

export type PayoutEvent = keyof typeof PAYOUT_EVENT_MEANINGS;
export const PAYOUT_EVENTS = Object.keys(PAYOUT_EVENT_MEANINGS) as PayoutEvent[];

/** What the store does for a row: move the payout, nothing (a repeat or late news), or refuse. */
export type PayoutAction = 'move' | 'ignore' | 'refuse';

/** The events that prove where the money got to, and the stage each sets. */
export const STAGE_OF_EVENT: Partial<Record<PayoutEvent, PayoutStage>> = {
  funded: 'funded',
  converted: 'converted',
  sent: 'sent',
  confirmed: 'confirmed',
  'on-hold': 'sent',
  'status-unknown': 'sent',
  'transfer-failed': 'converted',
  refunded: 'refunded',
};

/** A condition beyond the state, checked before the table's row is used. */
export type Guard = 'no-money-call-yet' | 'money-in-wallet' | 'not-on-hold' | 'withdraw-called';

export const GUARD_MEANINGS: Record<Guard, string> = {
  'no-money-call-yet':
    'step 1 has never been called (its id is stored before its first call); the store re-checks it in the ' +
    'same script that cancels, so a cancel cannot land while step 1 is in flight',
  'money-in-wallet':
    'the stage is `funded` (USD) or `converted` (stablecoin), the transfer is not ON_HOLD, and no step is in ' +
    'doubt (a call sent without an answer: the trade or the withdrawal may have happened)',
  'not-on-hold': "the blockchain transfer is not ON_HOLD (Interlace's refund request decides those)",
  'withdraw-called': 'step 5 has been called for this payout (its idempotencyKey is stored)',
};

export const EVENT_GUARDS: Partial<Record<PayoutEvent, Guard>> = {
  cancel: 'no-money-call-yet',
  'needs-approval': 'no-money-call-yet',
  confirmed: 'withdraw-called',
  'on-hold': 'withdraw-called',
  'transfer-failed': 'withdraw-called',
  'status-unknown': 'withdraw-called',
  'retry-fund': 'not-on-hold',
  'retry-convert': 'not-on-hold',
  'retry-send': 'not-on-hold',
  'retry-refund': 'not-on-hold',
  refund: 'money-in-wallet',
};

type Cell = [to: PayoutState, action: PayoutAction, why: string];

/** The rows that move a payout; every other state × event is filled in by `cellOf`. */
const MOVES: Partial<Record<PayoutEvent, Partial<Record<PayoutState, [PayoutState, string]>>>> = {
  approve: { requested: ['approved', 'approved: step 1 may run'] },
  'needs-approval': {
    approved: ['requested', 'auto-approved where the service requires an operator: nothing moved yet'],
  },
  cancel: {
    requested: ['cancelled', 'nothing moved: its amount goes back to the daily limit'],
    approved: ['cancelled', 'nothing moved yet: its amount goes back to the daily limit'],
  },
  funded: { approved: ['funded', 'the USD is in the CryptoConnect wallet'] },
  converted: { funded: ['converted', "what was bought is the trade's baseAmount, never the preview's"] },
  sent: { converted: ['sent', 'the transfer is on its way; its Closed is awaited (bounded)'] },
  confirmed: {
    converted: ['confirmed', "a Closed notification came before step 5's answer was recorded"],
    sent: ['confirmed', 'the money reached the address'],
    held: ['confirmed', 'a stalled (or unknown-status) transfer did close'],
  },
  'step-refused': {
    approved: ['failed', 'nothing moved: the USD is still in Infinity'],
    funded: ['failed', 'the USD stays in the CryptoConnect wallet (refund moves it back)'],
    converted: ['failed', 'the stablecoin stays in the CryptoConnect wallet (refund moves it back)'],
    refunding: ['failed', 'the refund was refused: the money stays in the wallet'],
  },
  'outcome-unknown': {
    approved: ['held', 'step 1 may or may not have moved the USD'],
    funded: ['held', 'the trade may or may not have happened'],
    converted: ['held', 'the blockchain transfer may or may not exist'],
    refunding: ['held', 'the refund may or may not have moved the money'],
  },
  'on-hold': {
    converted: ['held', 'the transfer exists and is ON_HOLD'],
    sent: ['held', "ON_HOLD needs Interlace's refund request (KYA): an operator"],
  },
  'transfer-failed': {
    converted: ['failed', 'the transfer failed: the stablecoin is back in the wallet'],
    sent: ['failed', 'the transfer failed: the stablecoin is back in the wallet'],
    held: ['failed', 'the held transfer failed: the stablecoin is back in the wallet'],
  },
  'status-unknown': {
    converted: ['held', 'a status no setting names: an operator reads it'],
    sent: ['held', 'a status no setting names: an operator reads it'],
  },
  'confirmation-timeout': { sent: ['held', 'stalled: an operator looks (a later Closed still confirms it)'] },
  'retry-fund': { held: ['approved', 'step 1 is resent with the same clientTransactionId'] },
  'retry-convert': { held: ['funded', 'the trade is resent with the same referenceId'] },
  'retry-send': { held: ['converted', 'step 5 is resent with the same idempotencyKey'] },
  'retry-refund': { held: ['refunding', 'the refund is resent with the same clientTransactionId'] },
  refund: {
    failed: ['refunding', "the wallet's USD or stablecoin goes back to Infinity"],
    held: ['refunding', "the wallet's USD or stablecoin goes back to Infinity"],
  },
  refunded: { refunding: ['refunded', 'the money is back in Infinity'] },
};

/** A repeat, or news that comes after the payout moved on: acknowledged, nothing changes. */
const IGNORED: Partial<Record<PayoutEvent, readonly PayoutState[]>> = {
  cancel: ['cancelled'],
  sent: ['sent', 'confirmed', 'held', 'failed'],
  confirmed: ['confirmed'],
  'on-hold': ['held'],
  'transfer-failed': ['failed'],
  'status-unknown': ['held'],
  'confirmation-timeout': PAYOUT_STATES.filter((state) => state !== 'sent'),
};

function cellOf(event: PayoutEvent, from: PayoutState): Cell {
  const move = MOVES[event]?.[from];
  if (move !== undefined) return [move[0], 'move', move[1]];
  if (IGNORED[event]?.includes(from)) return [from, 'ignore', 'a repeat, or news the payout has moved past'];
  return [from, 'refuse', `a ${from} payout cannot take ${event}`];
}

/** Every state × event of a payout: exactly one row each (docs/payout-state-machine.md). */
export const PAYOUT_TRANSITIONS: TransitionTable<PayoutState, PayoutEvent, PayoutAction> =
  defineTransitionTable({
    name: 'payout',
    states: PAYOUT_STATES,
    events: PAYOUT_EVENTS,
    rows: PAYOUT_EVENTS.flatMap((event) =>
      PAYOUT_STATES.map((from) => {
        const [to, action, why] = cellOf(event, from);
        return { from, event, to, action, why };
      }),
    ),
  });

/** The facts about a payout that guards read. */
export type PayoutFacts = {
  state: PayoutState;
  stage: PayoutStage;
  /** True once step 1 has been called (its id stored), whatever came back. */
  fundingCalled: boolean;
  withdrawCalled: boolean;
  /** The blockchain transfer's last status was a hold status. */
  onHold: boolean;
  /** An operator asked for a refund (a retry then resumes the refund, not the chain). */
  refundRequested: boolean;
  /**
   * The step whose call went out without an answer that proved what it did: it may have moved money.
   * Set before every call, cleared only by an answer (or a notification) that tells the outcome.
   */
  stepInDoubt?: PayoutStep | undefined;
};

export type TransitionDecision =
  | {
      ok: true;
      from: PayoutState;
      to: PayoutState;
      stage: PayoutStage;
      event: PayoutEvent;
      why: string;
      /** The event's guard, which the store re-checks atomically where it reads a stored fact. */
      guard?: Guard;
      /** The event tells what a step did: the step in doubt (if any) no longer is. */
      settlesDoubt: boolean;
    }
  | { ok: false; ignored: boolean; reason: string };

/** Interprets the table (and the event's guard): where an event takes a payout, or why it does not. */
export function decideTransition(facts: PayoutFacts, event: PayoutEvent): TransitionDecision {
  const row = transition(PAYOUT_TRANSITIONS, facts.state, event);
  if (row.action !== 'move') return { ok: false, ignored: row.action === 'ignore', reason: row.why };
  // News about one step while ANOTHER step is in doubt (a redelivered step-5 Failed while the refund
  // may have moved the money) tells nothing about the step in doubt: acknowledged, nothing changes.
  const about = STEP_OF_EVENT[event];
  if (about !== undefined && facts.stepInDoubt !== undefined && about !== facts.stepInDoubt)
    return {
      ok: false,
      ignored: true,
      reason: `news about step ${about} while step ${facts.stepInDoubt} is in doubt: it tells nothing about that step`,
    };
  const guard = EVENT_GUARDS[event];
  const blocked = guard === undefined ? undefined : guardFails(guard, facts);
  if (blocked !== undefined) return { ok: false, ignored: false, reason: blocked };
  return {
    ok: true,
    from: facts.state,
    to: row.to,
    stage: STAGE_OF_EVENT[event] ?? facts.stage,
    event,
    why: row.why,
    ...(guard === undefined ? {} : { guard }),
    settlesDoubt: SETTLES_DOUBT.includes(event),
  };
}

/**
 * The events that tell what a step's call did (an answer, a definitive refusal, a notification of the
 * transfer): the doubt about that step ends. Nothing else ends it: an operator's retry resends the
 * same request in doubt, so a refusal of the resend still proves nothing (issue #11 attack review).
 */
export const SETTLES_DOUBT: readonly PayoutEvent[] = [
  'funded',
  'converted',
  'sent',
  'confirmed',
  'on-hold',
  'transfer-failed',
  'status-unknown',
  'step-refused',
  'refunded',
];

/**
 * The step each event of an answer or notification tells about. `step-refused` has none: the worker
 * emits it for the step it is running, the one it marked in doubt before the call.
 */
export const STEP_OF_EVENT: Partial<Record<PayoutEvent, PayoutStep>> = {
  funded: 'fund',
  converted: 'convert',
  sent: 'send',
  confirmed: 'send',
  'on-hold': 'send',
  'transfer-failed': 'send',
  'status-unknown': 'send',
  refunded: 'refund',
};

/** The retry event of a held payout: it resumes where its money got to (or its refund). */
export function retryEvent(facts: PayoutFacts): PayoutEvent {
  if (facts.refundRequested) return 'retry-refund';
  if (facts.stage === 'none') return 'retry-fund';
  if (facts.stage === 'funded') return 'retry-convert';
  return 'retry-send';
}

function guardFails(guard: Guard, facts: PayoutFacts): string | undefined {
  switch (guard) {
    case 'no-money-call-yet':
      return facts.fundingCalled ? 'step 1 has already been called: refund instead of cancel' : undefined;
    case 'money-in-wallet':
      if (facts.onHold) return 'the transfer is ON_HOLD at Interlace: it needs their refund request';
      // A refund while a call is in doubt could move the money twice: the trade or the withdrawal may
      // have happened, and the refund would pull back what is no longer (or not yet) there.
      if (facts.stepInDoubt !== undefined)
        return (
          `step ${facts.stepInDoubt} is in doubt (sent without an answer): it may have moved the money; ` +
          '`payouts retry` resends the same request, whose answer tells; or check at Interlace'
        );
      return facts.stage === 'funded' || facts.stage === 'converted'
        ? undefined
        : `no money of this payout is known to be in the wallet (stage ${facts.stage})`;
    case 'not-on-hold':
      return facts.onHold ? 'the transfer is ON_HOLD at Interlace: never retried blindly' : undefined;
    case 'withdraw-called':
      return facts.withdrawCalled ? undefined : 'step 5 was never called for this payout';
  }
}

/** A money-moving (or priced) call of the chain; each has its own idempotency value. */
export type PayoutStep = 'fund' | 'convert' | 'send' | 'refund';

/** What the processor does next for a payout in a state. */
export type NextAction =
  | { kind: 'call'; step: PayoutStep }
  | { kind: 'await'; what: 'approval' | 'confirmation' }
  | { kind: 'stop' };

/** The processor's next move: one step per state, never a step whose state is behind it. */
export function nextAction(state: PayoutState): NextAction {
  switch (state) {
    case 'approved':
      return { kind: 'call', step: 'fund' };
    case 'funded':
      return { kind: 'call', step: 'convert' };
    case 'converted':
      return { kind: 'call', step: 'send' };
    case 'refunding':
      return { kind: 'call', step: 'refund' };
    case 'requested':
      return { kind: 'await', what: 'approval' };
    case 'sent':
      return { kind: 'await', what: 'confirmation' };
    default:
      return { kind: 'stop' };
  }
}

/**
 * Interlace keeps idempotency records 90 days (API-NOTES §9): after that a repeated id may move money
 * again. A step first called at `firstCalledAt` may be resent only inside the window.
 */
export function mayResend(firstCalledAt: number | undefined, now: number, windowMs: number): boolean {
  return firstCalledAt === undefined || now - firstCalledAt < windowMs;
}

/** How a failed call of a step is classified by the Interlace client. */
export type CallFailure = {
  category: 'transient' | 'permanent' | 'authentication';
  reason: string;
};

export type FailureVerdict = 'retry' | 'refused' | 'unknown';

/**
 * What a failed call means. A transient failure is retried with the same id until attempts run out,
 * then the outcome is unknown (the call may have committed). A refusal proves nothing moved only when
 * no earlier attempt of the step is in doubt; otherwise the outcome is unknown too.
 */
export function judgeFailure(
  failure: CallFailure,
  context: { earlierAttemptInDoubt: boolean; attemptsLeft: boolean },
): FailureVerdict {
  // A payout is not a sweep: insufficient balance is a plain refusal (nothing moved), not a wait.
  const refusal = failure.category === 'permanent' || failure.reason === 'insufficient-balance';
  if (refusal) return context.earlierAttemptInDoubt ? 'unknown' : 'refused';
  return context.attemptsLeft ? 'retry' : 'unknown';
}

/** How the configured status names of a blockchain transfer map to events (compared case-insensitively). */
export type TransferStatusNames = {
  pending: readonly string[];
  closed: readonly string[];
  onHold: readonly string[];
  failed: readonly string[];
};

/** The event a blockchain transfer status means; an unknown status holds the payout for an operator. */
export function transferStatusEvent(
  status: string,
  names: TransferStatusNames,
): 'confirmed' | 'on-hold' | 'transfer-failed' | 'status-unknown' | 'still-pending' {
  const is = (list: readonly string[]) => list.some((name) => name.toLowerCase() === status.toLowerCase());
  if (is(names.closed)) return 'confirmed';
  if (is(names.pending)) return 'still-pending';
  if (is(names.onHold)) return 'on-hold';
  if (is(names.failed)) return 'transfer-failed';
  return 'status-unknown';
}

/** Who approved a payout that no operator approved (PAYOUT_REQUIRE_APPROVAL=false where it was created). */
export const AUTO_APPROVED_BY = 'auto (PAYOUT_REQUIRE_APPROVAL=false)';

/** The worker's own approval and daily-limit settings (PAYOUT_REQUIRE_APPROVAL, PAYOUT_DAILY_LIMIT). */
export type ServiceApprovalRules = { requireApproval: boolean; dailyLimit: string };

/**
 * The worker's re-check right before step 1 of what the creating process decided with ITS settings
 * (attack review round 2, item 3: `payouts create` from a shell with another PAYOUT_REQUIRE_APPROVAL or
 * PAYOUT_DAILY_LIMIT). `usedThroughCreate`: USD of the daily window up to and including this payout's
 * creation (fixed once it was created, so the answer cannot race another payout's).
 */
export function recheckApproval(
  record: { amount: string; approvedBy?: string | undefined },
  rules: ServiceApprovalRules,
  usedThroughCreate: string,
): { ok: true } | { ok: false; event: 'needs-approval' | 'step-refused'; reason: string } {
  if (rules.requireApproval && (record.approvedBy ?? AUTO_APPROVED_BY) === AUTO_APPROVED_BY)
    return {
      ok: false,
      event: 'needs-approval',
      reason:
        'needs-approval: approved automatically where PAYOUT_REQUIRE_APPROVAL was off; the service requires an operator',
    };
  if (new Decimal(usedThroughCreate).gt(rules.dailyLimit))
    return {
      ok: false,
      event: 'step-refused',
      reason:
        `daily-limit: with this payout the 24 h before its creation used ${usedThroughCreate} USD, ` +
        `over the service's PAYOUT_DAILY_LIMIT ${rules.dailyLimit}`,
    };
  return { ok: true };
}

/** A step's configured success and failure statuses (PAYOUT_TRANSFER_* / PAYOUT_TRADE_*). */
export type StepStatusRules = { success: readonly string[]; failed: readonly string[] };

/** What an answer to step 1, the trade or the refund proves about the money. */
export type StepVerdict =
  { kind: 'done' } | { kind: 'refused'; status: string } | { kind: 'unknown'; status: string };

/**
 * What the status of an answered step 1, trade or refund means, by allow-list like the sweep's
 * judgeTransferStatus (case-insensitive): a success status is done; only a listed failure status is a
 * refusal (nothing moved); anything else (PENDING, PROCESSING, a status nobody listed, no status) may
 * or may not have moved the money, so the payout is held with the step in doubt: never recorded done
 * (a refund recorded `refunded` releases its reservation), never recorded refused (a retry could
 * fund or refund twice).
 */
export function judgeStepStatus(status: unknown, rules: StepStatusRules): StepVerdict {
  const text = typeof status === 'string' ? status : JSON.stringify(status ?? null);
  const is = (list: readonly string[]) => list.some((name) => name.toLowerCase() === text.toLowerCase());
  if (typeof status === 'string' && is(rules.success)) return { kind: 'done' };
  if (typeof status === 'string' && is(rules.failed)) return { kind: 'refused', status: text };
  return { kind: 'unknown', status: text.slice(0, 60) };
}

/** Where a payout's money is, and how much of it, from its stage and recorded amounts. */
export type FundsLocation = {
  at: 'infinity' | 'cryptoconnect-wallet' | 'in-transit' | 'on-hold-at-interlace' | 'destination';
  amount: string;
  currency: string;
};

export type PayoutAmounts = {
  amount: string;
  currency: string;
  fundedAmount?: string;
  boughtAmount?: string;
  sentAmount?: string;
  arrivedAmount?: string;
  refundedAmount?: string;
};

/** The payout's money as an operator reads it: "10 USD in the CryptoConnect wallet". */
export function fundsLocation(stage: PayoutStage, onHold: boolean, p: PayoutAmounts): FundsLocation {
  switch (stage) {
    case 'none':
      return { at: 'infinity', amount: p.amount, currency: 'USD' };
    case 'funded':
      return { at: 'cryptoconnect-wallet', amount: p.fundedAmount ?? p.amount, currency: 'USD' };
    case 'converted':
      return { at: 'cryptoconnect-wallet', amount: p.boughtAmount ?? '', currency: p.currency };
    case 'sent':
      return {
        at: onHold ? 'on-hold-at-interlace' : 'in-transit',
        amount: p.sentAmount ?? p.boughtAmount ?? '',
        currency: p.currency,
      };
    case 'confirmed':
      return { at: 'destination', amount: p.arrivedAmount ?? p.sentAmount ?? '', currency: p.currency };
    case 'refunded':
      return { at: 'infinity', amount: p.refundedAmount ?? '', currency: 'USD' };
  }
}

/**
 * What the wallet keeps reserved for a payout, which reconciliation counts as explained: from step 1
 * until the payout is confirmed or refunded (issue #11), in the currency its money is in.
 */
export function reservation(
  stage: PayoutStage,
  p: PayoutAmounts,
): { currency: string; amount: string } | null {
  if (stage === 'funded') return { currency: 'USD', amount: p.fundedAmount ?? p.amount };
  if (stage === 'converted') return { currency: p.currency, amount: p.boughtAmount ?? '0' };
  if (stage === 'sent') return { currency: p.currency, amount: p.sentAmount ?? p.boughtAmount ?? '0' };
  return null;
}

/**
 * The CryptoConnect wallet a payout's money is in from step 1 on, decided before step 1 (its
 * reservation is written before the call). With `PAYOUT_FUNDING_TO=wallet` step 1 names the wallet;
 * with `account` Interlace puts the USD in the account's default wallet, which the trade also uses.
 * Interlace does not document which that is: the master wallet, else the first listed (the
 * simulator's rule, docs/payouts.md). Never simply `PAYOUT_WALLET_ID`: reserving on a wallet the money
 * is not in leaves the real wallet's USD unexplained (issue #11 attack review).
 */
export function fundingWallet(
  fundingTo: 'account' | 'wallet',
  payoutWalletId: string,
  wallets: readonly { id: string; master?: boolean }[],
): string {
  if (fundingTo === 'wallet') return payoutWalletId;
  return (wallets.find((wallet) => wallet.master === true) ?? wallets[0])?.id ?? payoutWalletId;
}

/** Where GAS comes from (API-NOTES §9: unknown): out of the sent amount (seed 001's example) or on top. */
export type GasMode = 'deducted' | 'on-top';

export type WithdrawPlan =
  { ok: true; amount: string; gas: string; arrives: string } | { ok: false; reason: string };

/**
 * What step 5 sends, from what the trade bought (never the preview) and the GAS fee: all of it when
 * gas comes out of the amount, the rest after gas when it comes on top.
 */
export function planWithdrawal(
  bought: string,
  gasFees: readonly string[],
  mode: GasMode,
  currency: string,
): WithdrawPlan {
  const places = currencyPrecision(currency);
  const gas = gasFees.reduce((sum, fee) => sum.plus(fee), new Decimal(0));
  const total = new Decimal(bought);
  const amount = mode === 'deducted' ? total : total.minus(gas).toDecimalPlaces(places, Decimal.ROUND_DOWN);
  const arrives = mode === 'deducted' ? total.minus(gas) : amount;
  if (arrives.lte(0)) return { ok: false, reason: `GAS ${gas.toFixed()} ${currency} leaves nothing to send` };
  return { ok: true, amount: amount.toFixed(), gas: gas.toFixed(), arrives: arrives.toFixed() };
}

// ---------------------------------------------------------------------------------------------------
// The request and its controls

export type PayoutControls = {
  maxAmount: string;
  currencies: readonly string[];
  chains: readonly string[];
  /** Empty: any valid address. Entries are `CHAIN:address` or a bare address (any chain). */
  allowedAddresses: readonly string[];
};

export type PayoutRequest = {
  externalId: string;
  amount: string;
  currency: string;
  chain: string;
  address: string;
};

export type RequestVerdict =
  | { ok: true; request: PayoutRequest }
  | { ok: false; field: keyof PayoutRequest | 'request'; reason: string };

/** Address formats per chain, checked before any money moves (docs/payouts.md lists them). */
export const ADDRESS_FORMATS: Readonly<Record<string, { pattern: RegExp; describe: string }>> = {
  EVM: { pattern: /^0x[0-9a-fA-F]{40}$/, describe: '0x followed by 40 hex digits' },
  TRON: { pattern: /^T[1-9A-HJ-NP-Za-km-z]{33}$/, describe: 'T followed by 33 base58 characters' },
  SOL: { pattern: /^[1-9A-HJ-NP-Za-km-z]{32,44}$/, describe: '32 to 44 base58 characters' },
};

/** The chains a payout may use, and the address format of each. */
export const CHAIN_FORMATS: Readonly<Record<string, keyof typeof ADDRESS_FORMATS>> = {
  ETH: 'EVM',
  ARB: 'EVM',
  BSC: 'EVM',
  POLYGON: 'EVM',
  BASE: 'EVM',
  OP: 'EVM',
  ETH_SEPOLIA: 'EVM',
  TRON: 'TRON',
  SOL: 'SOL',
};

const EXTERNAL_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const USD_AMOUNT = /^(0|[1-9]\d{0,14})(\.\d{1,2})?$/;

/**
 * Checks a payout request against the controls: an external id, a USD amount (2 decimals, positive,
 * at most PAYOUT_MAX_AMOUNT), a stablecoin, a supported chain, an address of that chain's format and,
 * when an allow-list is set, on it. The daily limit is checked atomically by the store.
 */
export function checkPayoutRequest(input: Record<string, unknown>, controls: PayoutControls): RequestVerdict {
  const { external_id: externalId, amount, currency, chain, address } = input;
  if (typeof externalId !== 'string' || !EXTERNAL_ID.test(externalId)) {
    return { ok: false, field: 'externalId', reason: 'external_id must be 1-128 letters, digits, . _ : -' };
  }
  if (typeof amount !== 'string' || !USD_AMOUNT.test(amount) || new Decimal(amount).lte(0)) {
    return {
      ok: false,
      field: 'amount',
      reason: 'amount must be a positive USD decimal string with at most 2 decimals',
    };
  }
  if (new Decimal(amount).gt(controls.maxAmount)) {
    return {
      ok: false,
      field: 'amount',
      reason: `amount exceeds PAYOUT_MAX_AMOUNT (${controls.maxAmount} USD)`,
    };
  }
  if (typeof currency !== 'string' || !controls.currencies.includes(currency)) {
    return {
      ok: false,
      field: 'currency',
      reason: `currency must be one of ${controls.currencies.join(', ')}`,
    };
  }
  if (typeof chain !== 'string' || !controls.chains.includes(chain) || CHAIN_FORMATS[chain] === undefined) {
    const chains = controls.chains.filter((c) => CHAIN_FORMATS[c] !== undefined);
    return { ok: false, field: 'chain', reason: `chain must be one of ${chains.join(', ')}` };
  }
  const format = ADDRESS_FORMATS[CHAIN_FORMATS[chain]!]!;
  if (typeof address !== 'string' || !format.pattern.test(address)) {
    return { ok: false, field: 'address', reason: `address is not a ${chain} address (${format.describe})` };
  }
  if (controls.allowedAddresses.length > 0 && !isAllowed(controls.allowedAddresses, chain, address)) {
    return { ok: false, field: 'address', reason: 'address is not on PAYOUT_ALLOWED_ADDRESSES' };
  }
  return { ok: true, request: { externalId, amount, currency, chain, address } };
}

function isAllowed(list: readonly string[], chain: string, address: string): boolean {
  // EVM addresses are case-insensitive (the case is only a checksum); base58 ones are not.
  const same = (a: string, b: string) =>
    CHAIN_FORMATS[chain] === 'EVM' ? a.toLowerCase() === b.toLowerCase() : a === b;
  return list.some((entry) => {
    const at = entry.indexOf(':');
    if (at === -1) return same(entry, address);
    return entry.slice(0, at).toUpperCase() === chain && same(entry.slice(at + 1), address);
  });
}

/**
 * The controls checked again on a stored payout, at approve and right before step 1: an allow-list
 * shrunk, a maximum lowered, a currency or chain withdrawn since the payout was created must stop it
 * before any money moves (issue #11 attack review). The daily limit was taken at create; it stays.
 */
export function recheckControls(
  request: PayoutRequest,
  controls: PayoutControls,
): { ok: true } | { ok: false; reason: string } {
  const verdict = checkPayoutRequest(
    {
      external_id: request.externalId,
      amount: request.amount,
      currency: request.currency,
      chain: request.chain,
      address: request.address,
    },
    controls,
  );
  return verdict.ok ? { ok: true } : { ok: false, reason: `controls-changed: ${verdict.reason}` };
}

/** Whether `amount` more fits a rolling daily limit already `used` (both USD decimal strings). */
export function fitsDailyLimit(used: string, amount: string, limit: string): boolean {
  return new Decimal(used).plus(amount).lte(limit);
}
