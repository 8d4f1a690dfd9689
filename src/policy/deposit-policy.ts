// The money rules of a deposit, as pure functions and one transition table. The receiver, the Lua
// scripts and the sweep worker only carry these decisions out; docs/deposit-state-machine.md is
// generated from the table (npm run docs:states).
import type { ErrorCategory, ErrorReason } from '../interlace/errors.js';
import { Decimal } from '../sweep/decimal.js';
import { isAbove, isBelow } from '../sweep/amounts.js';
import { OPERATOR_SWEEP_STATUS } from './reconcile-policy.js';
import { defineTransitionTable, encodeEvent, type Transition } from './transition-table.js';

/** The states of a deposit record, and what each means. `new` is "no record yet". */
export const DEPOSIT_STATE_MEANINGS = {
  new: 'no record yet (or its record expired; the swept-ids record still remembers a swept one)',
  pending: 'seen on chain, not yet credited: wait for CLOSED',
  queued: 'credited, sweep job enqueued',
  sweeping: 'a worker is moving it (a transfer may be in flight)',
  swept: 'the transfer that moved it succeeded: final, never moves again',
  held: 'never swept automatically: compliance hold, unknown status, above SWEEP_MAX_AMOUNT, or a wallet the service did not create (UNKNOWN_WALLET_DEPOSITS=hold)',
  failed: 'upstream FAIL: never swept',
  dead: 'dead-lettered with a reason: an operator decides',
  dust: 'below SWEEP_MIN_AMOUNT: recorded, not swept',
  unsupported: 'currency outside SWEEP_CURRENCIES: recorded, not swept',
} as const;

export type DepositStateOrNew = keyof typeof DEPOSIT_STATE_MEANINGS;
/** The lifecycle of one deposit in the ledger. */
export type DepositState = Exclude<DepositStateOrNew, 'new'>;
export const DEPOSIT_STATES = Object.keys(DEPOSIT_STATE_MEANINGS) as DepositStateOrNew[];

/** Events a notification brings, after its status and amount were judged (notificationEvent). */
export const NOTIFICATION_EVENTS = [
  'seen-pending',
  'credited',
  'credited-dust',
  'credited-unsupported',
  'credited-over-limit',
  'credited-unowned',
  'put-on-hold',
  'upstream-failed',
  'unknown-status',
] as const;
export type NotificationEvent = (typeof NOTIFICATION_EVENTS)[number];

/** Events of the sweep worker and of an operator. */
export const SWEEP_EVENTS = [
  'claim',
  'recheck-dust',
  'recheck-unsupported',
  'recheck-over-limit',
  'recheck-unowned',
  'recheck-unexplained',
  'recheck-payout-funds',
  'transfer-confirmed',
  'sweep-dead',
  'operator-requeue',
] as const;
export type SweepEvent = (typeof SWEEP_EVENTS)[number];
export type DepositEventName = NotificationEvent | SweepEvent;

/** What the store does for a row (the Lua scripts implement exactly these). */
export type DepositAction =
  | 'create' // write a new record from the notification
  | 'replace' // overwrite the record with the notification (the credited one carries the final amount)
  | 'move' // change state and record the status and reason
  | 'compare' // same state; flag a conflict if the notification disagrees with the record
  | 'ignore' // same state; count the notification (a duplicate, or a late, out-of-order status)
  | 'claim' // queued|sweeping -> sweeping, after the upstream-status check
  | 'refuse' // nothing changes; the caller is told the state
  | 'mark-swept' // record the transfer, and the deposit id in the long-lived swept-ids record
  | 'remember' // no record left: write the swept-ids record only
  | 'bury' // -> dead with a reason
  | 'requeue'; // an operator's decision: -> queued

const DESCRIBE_EVENT: Record<DepositEventName, string> = {
  'seen-pending': 'A notification with status `PENDING`: seen on chain, not credited yet.',
  credited:
    'A notification with status `CLOSED` whose currency is swept and whose amount is within ' +
    '`SWEEP_MIN_AMOUNT` … `SWEEP_MAX_AMOUNT`.',
  'credited-dust': 'A `CLOSED` notification below `SWEEP_MIN_AMOUNT`.',
  'credited-unsupported': 'A `CLOSED` notification in a currency outside `SWEEP_CURRENCIES`.',
  'credited-over-limit': 'A `CLOSED` notification above `SWEEP_MAX_AMOUNT`: held for an operator.',
  'credited-unowned':
    'A `CLOSED` notification that would be swept, into a wallet this service did not create (no owner ' +
    'record: not made through `POST /wallets`, or a master wallet in MoR mode), with ' +
    '`UNKNOWN_WALLET_DEPOSITS=hold` (the default): held for an operator.',
  'put-on-hold': 'A notification with status `ON_HOLD` (a compliance hold: never swept).',
  'upstream-failed': 'A notification with status `FAIL`.',
  'unknown-status': 'A notification with any other status: fail closed (kept, never swept, visible).',
  claim:
    'A sweep job starts. Besides the state, the claim re-reads the latest upstream status: only ' +
    '`CLOSED` may be swept (`FAIL` makes it failed, anything else held), unless an operator requeued ' +
    'the deposit after that status arrived. A deposit in the swept-ids record is never claimed.',
  'recheck-dust': 'Right before the transfer, the policy re-check finds the amount below the minimum.',
  'recheck-unsupported': 'Right before the transfer, the currency is no longer in `SWEEP_CURRENCIES`.',
  'recheck-over-limit': 'Right before the transfer, the amount is above `SWEEP_MAX_AMOUNT`.',
  'recheck-unowned':
    "Right before the transfer, the deposit's wallet is not the service's (recorded unowned) and " +
    '`UNKNOWN_WALLET_DEPOSITS` is now `hold`: held (recheckOwnership).',
  'recheck-payout-funds':
    "Right before the transfer, the deposit is a payout's money (its id is a payout's step-1 or refund " +
    'transfer, or it is USD in a wallet where a payout keeps USD reserved): held (payoutMoneyCheck).',
  'recheck-unexplained':
    "Right before an operator's reconcile sweep's transfer, the wallet's live balance, less what the " +
    'ledger explains and payouts reserve, no longer covers it (recheckOperatorSweep): held.',
  'transfer-confirmed':
    'Interlace answered the transfer with a success status (`SWEEP_TRANSFER_SUCCESS_STATUSES`).',
  'sweep-dead': 'The failure policy declared the sweep finally failed.',
  'operator-requeue': 'An operator sends the deposit to the sweep (`dlq replay`, `sweep enqueue`).',
};

/** Where a notification event puts a deposit that has no record yet (or is still pending). */
const ENTRY: Record<NotificationEvent, DepositState> = {
  'seen-pending': 'pending',
  credited: 'queued',
  'credited-dust': 'dust',
  'credited-unsupported': 'unsupported',
  'credited-over-limit': 'held',
  'credited-unowned': 'held',
  'put-on-hold': 'held',
  'upstream-failed': 'failed',
  'unknown-status': 'held',
};

/** Statuses that stop a deposit not yet swept, whatever the order they arrive in. */
const STOP: Partial<Record<NotificationEvent, DepositState>> = {
  'put-on-hold': 'held',
  'upstream-failed': 'failed',
  'unknown-status': 'held',
};

type Row = Transition<DepositStateOrNew, DepositEventName, DepositAction>;
type Cell = [to: DepositStateOrNew, action: DepositAction, why: string];

function rowsOf(event: DepositEventName, cell: (from: DepositStateOrNew) => Cell): Row[] {
  return DEPOSIT_STATES.map((from) => {
    const [to, action, why] = cell(from);
    return { from, event, to, action, why };
  });
}

function notificationCell(event: NotificationEvent, from: DepositStateOrNew): Cell {
  const credited = event.startsWith('credited');
  const stop = STOP[event];
  if (from === 'new') return [ENTRY[event], 'create', 'first notification of the deposit'];
  if (from === 'pending') {
    if (event === 'seen-pending') return ['pending', 'ignore', 'still on chain'];
    return [ENTRY[event], 'replace', 'the first status after PENDING decides; it carries the final amount'];
  }
  if (credited) return [from, 'compare', 'a repeated CLOSED changes nothing; a different amount is flagged'];
  if (event === 'seen-pending') return [from, 'ignore', 'a late PENDING, out of order: never a step back'];
  if (stop === undefined) return [from, 'ignore', 'unreachable: every other event is CLOSED or a stop'];
  switch (from) {
    case 'swept':
      return ['swept', 'ignore', 'the money has moved; the late status is kept as lastStatus'];
    case 'failed':
      return ['failed', 'ignore', 'failed is final'];
    case 'held':
      return event === 'upstream-failed'
        ? ['failed', 'move', 'a hold that ends in FAIL is failed']
        : ['held', 'ignore', 'already held'];
    default:
      return [
        stop,
        'move',
        from === 'sweeping'
          ? 'stops any retry; a transfer already in flight is recorded if it succeeds'
          : 'a later stop status wins over a state that was not swept',
      ];
  }
}

function claimCell(from: DepositStateOrNew): Cell {
  if (from === 'queued') return ['sweeping', 'claim', 'a worker takes it'];
  if (from === 'sweeping') return ['sweeping', 'claim', 'a re-run after a crash: the same ids make it safe'];
  return [from, 'refuse', from === 'new' ? 'no record: nothing to sweep' : `a ${from} deposit is not swept`];
}

function recheckCell(to: DepositState, from: DepositStateOrNew): Cell {
  if (from === 'sweeping') return [to, 'move', 'the policy changed since the deposit was queued'];
  return [from, 'ignore', 'only a claimed deposit is re-checked'];
}

function confirmedCell(from: DepositStateOrNew): Cell {
  if (from === 'swept') return ['swept', 'ignore', 'a repeat: the first transfer stays recorded'];
  if (from === 'new') return ['new', 'remember', 'the record is gone: the swept-ids record is still written'];
  return ['swept', 'mark-swept', 'money moved: the record follows the money, whatever it said'];
}

function deadCell(from: DepositStateOrNew): Cell {
  if (from === 'queued' || from === 'sweeping') return ['dead', 'bury', 'an operator decides'];
  if (from === 'dead') return ['dead', 'ignore', 'already dead (its letter is written again if missing)'];
  return [from, 'refuse', `a ${from} deposit is never buried`];
}

/**
 * States an operator may send back to the sweep: each was kept out of it on purpose (dead, hold,
 * upstream FAIL, dust, pending), so only an operator's explicit decision moves them to queued.
 */
export const REQUEUEABLE_STATES: readonly DepositState[] = [
  'dead',
  'held',
  'failed',
  'dust',
  'unsupported',
  'pending',
];
const REQUEUEABLE: readonly DepositStateOrNew[] = REQUEUEABLE_STATES;

function requeueCell(from: DepositStateOrNew): Cell {
  if (REQUEUEABLE.includes(from)) return ['queued', 'requeue', 'an operator decided to sweep it'];
  return [from, 'refuse', from === 'new' ? 'no record' : `a ${from} deposit is never requeued`];
}

/** The deposit state machine: every state × event, exported as data. */
export const DEPOSIT_TRANSITIONS = defineTransitionTable<DepositStateOrNew, DepositEventName, DepositAction>({
  name: 'deposit',
  states: DEPOSIT_STATES,
  events: [...NOTIFICATION_EVENTS, ...SWEEP_EVENTS],
  rows: [
    ...NOTIFICATION_EVENTS.flatMap((event) => rowsOf(event, (from) => notificationCell(event, from))),
    ...rowsOf('claim', claimCell),
    ...rowsOf('recheck-dust', (from) => recheckCell('dust', from)),
    ...rowsOf('recheck-unsupported', (from) => recheckCell('unsupported', from)),
    ...rowsOf('recheck-over-limit', (from) => recheckCell('held', from)),
    ...rowsOf('recheck-unowned', (from) => recheckCell('held', from)),
    ...rowsOf('recheck-unexplained', (from) => recheckCell('held', from)),
    ...rowsOf('recheck-payout-funds', (from) => recheckCell('held', from)),
    ...rowsOf('transfer-confirmed', confirmedCell),
    ...rowsOf('sweep-dead', deadCell),
    ...rowsOf('operator-requeue', requeueCell),
  ],
});

/** The one-line meaning of an event, for the generated docs. */
export function describeDepositEvent(event: DepositEventName): string {
  return DESCRIBE_EVENT[event];
}

/** The rows of an event as the Lua scripts take them (see encodeEvent). */
export function depositRows(event: DepositEventName): string {
  return encodeEvent(DEPOSIT_TRANSITIONS, event);
}

// --- what a credited deposit is -----------------------------------------------------------------

/** The sweep's configured rules (SWEEP_CURRENCIES, SWEEP_MIN_AMOUNT, SWEEP_MAX_AMOUNT). */
export type SweepRules = {
  currencies: readonly string[];
  minAmount: string;
  /** Above this a deposit is held for an operator; undefined = no upper bound. */
  maxAmount?: string | undefined;
};

/** What a credited deposit is under the rules. */
export type CreditDecision =
  { kind: 'sweep' } | { kind: 'dust' | 'unsupported' | 'over-limit'; reason: string };

/** Whether a credited deposit is swept, kept as dust, left alone (currency), or held (too large). */
export function decideCredited(
  deposit: { currency: string; amount: string },
  rules: SweepRules,
): CreditDecision {
  if (!rules.currencies.includes(deposit.currency)) {
    return { kind: 'unsupported', reason: `currency ${deposit.currency} is not in SWEEP_CURRENCIES` };
  }
  if (isBelow(deposit.amount, rules.minAmount)) {
    return { kind: 'dust', reason: `amount ${deposit.amount} is below SWEEP_MIN_AMOUNT ${rules.minAmount}` };
  }
  if (rules.maxAmount !== undefined && isAbove(deposit.amount, rules.maxAmount)) {
    return {
      kind: 'over-limit',
      reason: `amount ${deposit.amount} is above SWEEP_MAX_AMOUNT ${rules.maxAmount}: held for an operator`,
    };
  }
  return { kind: 'sweep' };
}

/** The only upstream deposit status that may be swept. */
export const SWEEPABLE_STATUS = 'CLOSED';

/** The event a notification brings, and the reason the record keeps for it. */
export function notificationEvent(
  status: string,
  credit: CreditDecision,
): { event: NotificationEvent; reason: string } {
  switch (status) {
    case 'PENDING':
      return { event: 'seen-pending', reason: '' };
    case SWEEPABLE_STATUS:
      return credit.kind === 'sweep'
        ? { event: 'credited', reason: '' }
        : { event: `credited-${credit.kind}`, reason: credit.reason };
    case 'ON_HOLD':
      return { event: 'put-on-hold', reason: 'ON_HOLD: compliance hold at Interlace' };
    case 'FAIL':
      return { event: 'upstream-failed', reason: 'FAIL: Interlace reports the deposit failed' };
    default:
      return {
        event: 'unknown-status',
        reason: `unknown upstream status "${status.slice(0, 40)}": kept, never swept`,
      };
  }
}

// --- which wallets belong to this service ---------------------------------------------------------

/** INTERLACE_MODE: a MoR merchant's wallets are created by this service; a Gateway one's are master wallets. */
export type WalletMode = 'mor' | 'gateway';

/**
 * The owner-record modes that make a wallet this service's under the service's INTERLACE_MODE. An owner
 * record written by POST /wallets (mode `mor`, or none: records from before the mode was stored) always
 * counts. A master wallet adopted in gateway mode counts only in gateway mode: after a switch to MoR it
 * is Interlace's wallet, not one the service created, and its deposits follow UNKNOWN_WALLET_DEPOSITS.
 */
export function ownedWalletModes(serviceMode: WalletMode): readonly string[] {
  return serviceMode === 'gateway' ? ['', 'mor', 'gateway'] : ['', 'mor'];
}

/** UNKNOWN_WALLET_DEPOSITS: what a deposit into a wallet the service did not create does. */
export type UnknownWalletRule = 'sweep' | 'hold';

/**
 * The event a notification brings when its wallet has no owner record (the service did not create it,
 * or it is a master wallet in MoR mode). Under `hold` a deposit that would be swept is held instead;
 * every other event (dust, a hold, FAIL…) is the same as for an owned wallet. The accept script reads
 * the owner record and picks these rows atomically.
 */
export function unownedWalletEvent(
  event: { event: NotificationEvent; reason: string },
  rule: UnknownWalletRule,
  walletId: string,
): { event: NotificationEvent; reason: string } {
  if (rule === 'sweep' || event.event !== 'credited') return event;
  return {
    event: 'credited-unowned',
    reason:
      `wallet ${walletId.slice(0, 80)} was not created by this service (no owner record): held ` +
      'for an operator (UNKNOWN_WALLET_DEPOSITS=hold)',
  };
}

// --- what the merchant is told ---------------------------------------------------------------------

/** The merchant's deposit events (docs/merchant-events.md). */
export const MERCHANT_EVENT_TYPES = [
  'deposit.received',
  'deposit.swept',
  'deposit.held',
  'deposit.failed',
] as const;
export type MerchantEventType = (typeof MERCHANT_EVENT_TYPES)[number];

/** The event for entering a state (from another one): the outcomes a merchant acts on. */
const MERCHANT_EVENT_ON_ENTRY: Partial<Record<DepositState, MerchantEventType>> = {
  swept: 'deposit.swept',
  held: 'deposit.held',
  failed: 'deposit.failed',
  dead: 'deposit.failed',
};

/**
 * The merchant events a state change emits: `deposit.received` when the ledger first records a
 * deposit (whatever its status), then the event of the state it enters, if any. No change, no event.
 */
export function merchantEventsFor(from: DepositStateOrNew, to: DepositStateOrNew): MerchantEventType[] {
  if (to === from || to === 'new') return [];
  const entered = MERCHANT_EVENT_ON_ENTRY[to];
  return [...(from === 'new' ? (['deposit.received'] as const) : []), ...(entered ? [entered] : [])];
}

/**
 * What names one merchant event, and so its webhook-id: the deposit, the type and the state it enters
 * (`deposit.received` is the ledger's first record of the deposit, whatever state that was). The same
 * change made again, e.g. after Redis lost the deposit's writes and a redelivery rebuilt them, is the
 * same event, so a merchant deduplicating on webhook-id credits once. A deposit entering a state it has
 * been in before (an operator's requeue, then the same outcome) is not announced again.
 */
export function merchantEventName(depositId: string, type: MerchantEventType, stateEntered: string): string {
  const entered = type === 'deposit.received' ? 'recorded' : stateEntered;
  return `interlace-sweep:merchant-event:${depositId}:${type}:${entered}`;
}

/**
 * A deposit's `reason` as the merchant reads it (merchant events, GET /wallets/{id}/deposits). The
 * reasons the policy words itself (held, failed, dust, unsupported) are passed on; a dead deposit's
 * reason carries the last error, Interlace's own message included, which is for operators only: the
 * merchant gets the error's class and the service's words.
 */
export function merchantReason(state: string, reason: string | undefined): string | null {
  if (reason === undefined || reason === '') return null;
  if (state !== 'dead') return reason;
  const kind = /^([a-z][a-z0-9-]{0,40})(?::|$)/.exec(reason)?.[1] ?? 'sweep-error';
  return `${kind}: the sweep failed for good; an operator decides what happens to the deposit`;
}

/** merchantEventsFor as the scripts take it: `new=deposit.received;state=type,...`. */
export const MERCHANT_EVENT_RULES =
  'new=deposit.received;' +
  Object.entries(MERCHANT_EVENT_ON_ENTRY)
    .map(([state, type]) => `${state}=${type}`)
    .join(',');

/** What the receiver does after the ledger took a notification: enqueue the sweep, raise an alert. */
export function afterAccept(outcome: {
  state: DepositState;
  change: 'created' | 'transitioned' | 'unchanged';
}): { enqueue: boolean; alert: 'held' | 'failed' | undefined } {
  const moved = outcome.change !== 'unchanged';
  return {
    // Also when the record already said queued: an earlier enqueue may have failed after the write.
    enqueue: outcome.state === 'queued',
    alert: moved && (outcome.state === 'held' || outcome.state === 'failed') ? outcome.state : undefined,
  };
}

/**
 * The claim's upstream-status rule: only CLOSED is swept; FAIL makes the deposit failed, any other
 * status held (fail closed). RECONCILE marks a deposit an operator created from an unexplained
 * balance (`ops reconcile sweep`, no notification): their decision, swept.
 */
export const CLAIM_STATUS_RULE: Readonly<Record<string, 'claim' | 'held' | 'failed'>> = Object.freeze({
  [SWEEPABLE_STATUS]: 'claim',
  [OPERATOR_SWEEP_STATUS]: 'claim',
  FAIL: 'failed',
  '*': 'held',
});

/** CLAIM_STATUS_RULE as the claim script takes it: `STATUS=verdict,...,*=held`. */
export const CLAIM_STATUS_RULES = Object.entries(CLAIM_STATUS_RULE)
  .map(([status, verdict]) => `${status}=${verdict}`)
  .join(',');

/** The claim's upstream-status rule for a record (what the claim script decides atomically). */
export function claimStatusDecision(record: {
  upstreamStatus?: string;
  statusAt?: string;
  replayedAt?: string;
}): { kind: 'claim' } | { kind: 'stop'; state: 'held' | 'failed' } {
  if (operatorApproved(record)) return { kind: 'claim' };
  const status = record.upstreamStatus ?? '';
  const verdict = Object.hasOwn(CLAIM_STATUS_RULE, status)
    ? CLAIM_STATUS_RULE[status]!
    : CLAIM_STATUS_RULE['*']!;
  return verdict === 'claim' ? { kind: 'claim' } : { kind: 'stop', state: verdict };
}

/** True when an operator requeued the deposit after its latest upstream status arrived. */
export function operatorApproved(record: { statusAt?: string; replayedAt?: string }): boolean {
  if (record.replayedAt === undefined) return false;
  return Number(record.replayedAt) >= Number(record.statusAt ?? 0);
}

/**
 * The re-check right before the transfer call: the deposit is swept only if the service's rules
 * (which may have changed since it was queued) still say so, unless an operator sent it on purpose.
 */
export function recheckBeforeTransfer(
  record: { currency: string; amount: string; statusAt?: string; replayedAt?: string },
  rules: SweepRules,
): { kind: 'sweep' } | { kind: 'stop'; event: SweepEvent; reason: string } {
  if (operatorApproved(record)) return { kind: 'sweep' };
  const decision = decideCredited(record, rules);
  if (decision.kind === 'sweep') return decision;
  return {
    kind: 'stop',
    event: `recheck-${decision.kind}`,
    reason: `re-checked before the transfer: ${decision.reason}`,
  };
}

/**
 * Whether an operator released this deposit by name (`sweep enqueue`) after its latest status: a bulk
 * `dlq replay --all` retries failed sweeps and says nothing about whose money it is.
 */
export function releasedByOperator(record: { statusAt?: string; approvedAt?: string }): boolean {
  if (record.approvedAt === undefined) return false;
  return Number(record.approvedAt) >= Number(record.statusAt ?? 0);
}

/**
 * The unknown-wallet rule again right before the transfer: a deposit queued while
 * UNKNOWN_WALLET_DEPOSITS was `sweep` is held if the rule is `hold` now (an operator who switches to
 * hold means it for what is still queued too), unless an operator released it by name.
 */
export function recheckOwnership(
  record: { walletOwnership?: string; statusAt?: string; approvedAt?: string },
  rule: 'sweep' | 'hold',
): { kind: 'sweep' } | { kind: 'stop'; event: 'recheck-unowned'; reason: string } {
  if (rule === 'sweep' || record.walletOwnership !== 'unowned' || releasedByOperator(record))
    return { kind: 'sweep' };
  return {
    kind: 'stop',
    event: 'recheck-unowned',
    reason:
      're-checked before the transfer: the wallet is not one this service created and ' +
      'UNKNOWN_WALLET_DEPOSITS=hold: held for an operator',
  };
}

/**
 * Whether a deposit about to be swept is a payout's money (attack review round 2, item 5). What
 * Interlace notifies for a payout's step-1 internal transfer into the CryptoConnect wallet is not
 * documented: if it arrives as a deposit IN, sweeping it would take the payout's USD back to Infinity
 * while the payout says it is in the wallet. Held for an operator when its id is a payout's step-1 or
 * refund transfer, or when it is USD in a wallet where a payout keeps USD reserved.
 */
export function payoutMoneyCheck(
  deposit: { depositId: string; currency: string; walletId: string },
  facts: { payoutId?: string | undefined; reservedUsd?: string | undefined },
): { kind: 'sweep' } | { kind: 'stop'; event: 'recheck-payout-funds'; reason: string } {
  if (facts.payoutId !== undefined)
    return {
      kind: 'stop',
      event: 'recheck-payout-funds',
      reason: `payout-funds: ${deposit.depositId.slice(0, 80)} is the transfer of payout ${facts.payoutId.slice(0, 80)}: held, never swept`,
    };
  if (deposit.currency === 'USD' && facts.reservedUsd !== undefined && new Decimal(facts.reservedUsd).gt(0))
    return {
      kind: 'stop',
      event: 'recheck-payout-funds',
      reason:
        `payout-funds: USD into wallet ${deposit.walletId.slice(0, 80)}, where payouts keep ` +
        `${facts.reservedUsd} USD reserved: held for an operator (it may be a payout's step 1)`,
    };
  return { kind: 'sweep' };
}

/**
 * Interlace keeps a transfer's idempotency record 90 days (API-NOTES §9); after that a repeated
 * clientTransactionId may move the money again. The default window stays safely inside it.
 */
export const DEFAULT_TRANSFER_WINDOW_MS = 85 * 86_400_000;

/**
 * Whether a deposit's transfer may be called (again): never once `windowMs` has passed since its first
 * call, whoever asks (a retry, a `dlq replay`, an operator's requeue). The claim script carries this
 * out atomically with the same comparison, and holds the deposit for an operator otherwise.
 */
export function mayCallTransfer(firstCalledAt: number | undefined, now: number, windowMs: number): boolean {
  return firstCalledAt === undefined || now - firstCalledAt < windowMs;
}

// --- what a transfer answer means ------------------------------------------------------------------

/** Transfer statuses that mean "not final yet": the same request is sent again to look it up. */
export const DEFAULT_UNCONFIRMED_STATUSES = ['PENDING', 'PROCESSING'] as const;

/** Swept, not final yet (look it up again), or refused: judged by allow-list, case-insensitively. */
export type TransferVerdict =
  { kind: 'swept' } | { kind: 'unconfirmed'; status: string } | { kind: 'rejected'; status: string };

/** Only a documented success status counts as swept; anything unknown is rejected, never assumed. */
export function judgeTransferStatus(
  status: unknown,
  rules: { successStatuses: readonly string[]; unconfirmedStatuses?: readonly string[] },
): TransferVerdict {
  const said = typeof status === 'string' ? status : String(status);
  const upper = said.toUpperCase();
  if (rules.successStatuses.some((allowed) => allowed.toUpperCase() === upper)) return { kind: 'swept' };
  const pending = rules.unconfirmedStatuses ?? DEFAULT_UNCONFIRMED_STATUSES;
  if (pending.some((value) => value.toUpperCase() === upper)) return { kind: 'unconfirmed', status: said };
  return { kind: 'rejected', status: said };
}

// --- what a failure means --------------------------------------------------------------------------

/** The facts of one failed sweep attempt. */
export type FailureFacts = {
  category: ErrorCategory;
  reason: ErrorReason;
  message: string;
  retryAfterMs?: number | undefined;
  /** This attempt's number, from 1. */
  attempt: number;
  maxAttempts: number;
  /** Attempts so far (this one included) that failed for the same reason. */
  sameReason: number;
};

export type FailureLimits = {
  insufficientBalanceRetries: number;
  /** Look-ups of a transfer answered PENDING/PROCESSING before it is dead-lettered. */
  transferLookups: number;
  /** Pause after a 429 without Retry-After. */
  defaultPauseMs: number;
};

/** Retry with the same ids, pause every worker (a 429 spends no attempt), or bury with a reason. */
export type FailureDecision =
  { kind: 'retry' } | { kind: 'pause'; waitMs: number } | { kind: 'dead'; reason: string };

/** Decides, once, what a failed sweep attempt means. */
export function decideFailure(facts: FailureFacts, limits: FailureLimits): FailureDecision {
  if (facts.reason === 'rate-limited')
    return { kind: 'pause', waitMs: facts.retryAfterMs ?? limits.defaultPauseMs };
  if (facts.category === 'permanent') return { kind: 'dead', reason: `${facts.reason}: ${facts.message}` };
  if (facts.reason === 'insufficient-balance' && facts.sameReason > limits.insufficientBalanceRetries) {
    return {
      kind: 'dead',
      reason: `insufficient-balance: still insufficient after ${limits.insufficientBalanceRetries} retries`,
    };
  }
  if (facts.reason === 'transfer-unconfirmed' && facts.sameReason > limits.transferLookups) {
    return {
      kind: 'dead',
      reason: `transfer-unconfirmed: ${facts.message} (still not final after ${limits.transferLookups} look-ups)`,
    };
  }
  if (facts.attempt >= facts.maxAttempts)
    return { kind: 'dead', reason: `retries-exhausted: ${facts.reason}: ${facts.message}` };
  return { kind: 'retry' };
}

/**
 * Whether a failure may mean the cached Infinity wallet id was rejected: a permanent refusal of the
 * transfer call itself (not a transfer answered with a failed status). The id is forgotten at once, so
 * the next attempt or an operator's replay looks it up again.
 */
export function forgetsInfinityWallet(failure: {
  category: ErrorCategory;
  reason: ErrorReason;
  endpoint: string;
}): boolean {
  return (
    failure.category === 'permanent' &&
    failure.endpoint === 'POST /business/transfer/internal' &&
    (failure.reason === 'business-error' || failure.reason === 'http-4xx')
  );
}

/**
 * Whether a failed job will not run again: BullMQ fires `failed` on every attempt. A job that stalled
 * too often is failed by BullMQ with an UnrecoverableError, so no message needs to be matched.
 */
export function isFinalFailure(facts: {
  errorName: string;
  attemptsMade: number;
  maxAttempts: number;
}): boolean {
  return facts.errorName === 'UnrecoverableError' || facts.attemptsMade >= facts.maxAttempts;
}

/** After a final job failure: write a missing dead letter, bury a deposit left in flight, or nothing. */
export function afterFinalFailure(state: DepositState | undefined): 'write-letter' | 'bury' | 'none' {
  if (state === 'dead') return 'write-letter';
  if (state === 'queued' || state === 'sweeping') return 'bury';
  return 'none';
}
