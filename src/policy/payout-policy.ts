import { currencyPrecision } from '../sweep/amounts.js';
import { Decimal } from '../sweep/decimal.js';

// The payout's money rules (issue #11), as data and pure functions: no Redis, no clock, no I/O. The
// store's scripts and the processor only carry out what these decide. The transition table is
// rendered into docs/payout-state-machine.md (a test keeps the two equal).

/** The lifecycle of one payout. */
export type PayoutState =
  | 'requested' // accepted and checked; waits for an operator's approval when PAYOUT_REQUIRE_APPROVAL
  | 'approved' // may move money: step 1 comes next
  | 'funded' // step 1 done: USD is in the CryptoConnect wallet
  | 'converted' // step 3 done: the stablecoin is in the CryptoConnect wallet
  | 'sent' // step 5 answered: the blockchain transfer is Pending
  | 'confirmed' // the blockchain transfer is Closed: final
  | 'failed' // a step was refused; the money is where `stage` says
  | 'held' // an operator decides (ON_HOLD, outcome unknown, idempotency window over, stalled)
  | 'cancelled' // stopped before any money moved: final
  | 'refunding' // an operator asked for the money back to Infinity
  | 'refunded'; // the money is back in Infinity (less the transfer's fee): final

export const PAYOUT_STATES: readonly PayoutState[] = [
  'requested',
  'approved',
  'funded',
  'converted',
  'sent',
  'confirmed',
  'failed',
  'held',
  'cancelled',
  'refunding',
  'refunded',
];

/** How far the money got: the last money-moving step that is known to have happened. */
export type PayoutStage = 'none' | 'funded' | 'converted' | 'sent' | 'confirmed' | 'refunded';

/** What moves a payout. */
export type PayoutEvent =
  | 'approve'
  | 'cancel'
  | 'funded'
  | 'converted'
  | 'sent'
  | 'confirmed'
  | 'step-refused'
  | 'outcome-unknown'
  | 'on-hold'
  | 'transfer-failed'
  | 'status-unknown'
  | 'confirmation-timeout'
  | 'retry'
  | 'refund'
  | 'refunded';

/** `stage` as a target: "back to the state of the last step that happened" (an operator's retry). */
export type Target = PayoutState | 'stage';

export type Transition = {
  from: readonly PayoutState[];
  event: PayoutEvent;
  to: Target;
  /** What becomes of `stage`, when the event moves money (or proves it moved). */
  stage?: PayoutStage;
  /** A condition beyond the state, checked by `decideTransition`. */
  guard?: Guard;
  why: string;
};

export type Guard = 'no-money-call-yet' | 'money-in-wallet' | 'not-on-hold' | 'withdraw-called';

/** Every allowed move; anything not listed is refused. */
export const PAYOUT_TRANSITIONS: readonly Transition[] = [
  {
    from: ['requested'],
    event: 'approve',
    to: 'approved',
    why: 'an operator approved it, or approval is off',
  },
  {
    from: ['requested', 'approved'],
    event: 'cancel',
    to: 'cancelled',
    guard: 'no-money-call-yet',
    why: 'stopped before step 1 was ever called',
  },
  { from: ['approved'], event: 'funded', to: 'funded', stage: 'funded', why: 'step 1 answered CLOSED' },
  {
    from: ['funded'],
    event: 'converted',
    to: 'converted',
    stage: 'converted',
    why: 'step 3 answered COMPLETE',
  },
  { from: ['converted'], event: 'sent', to: 'sent', stage: 'sent', why: 'step 5 answered Pending' },
  {
    from: ['converted', 'sent', 'held'],
    event: 'confirmed',
    to: 'confirmed',
    stage: 'confirmed',
    guard: 'withdraw-called',
    why: 'Interlace says the blockchain transfer is Closed (answer or notification)',
  },
  {
    from: ['approved', 'funded', 'converted', 'refunding'],
    event: 'step-refused',
    to: 'failed',
    why: 'Interlace refused the step and no earlier attempt of it is in doubt',
  },
  {
    from: ['approved', 'funded', 'converted', 'refunding'],
    event: 'outcome-unknown',
    to: 'held',
    why: 'retries ran out (or the 90-day idempotency window closed) with the step possibly done',
  },
  {
    from: ['converted', 'sent'],
    event: 'on-hold',
    to: 'held',
    stage: 'sent',
    guard: 'withdraw-called',
    why: 'the blockchain transfer is ON_HOLD: never retried blindly',
  },
  {
    from: ['converted', 'sent', 'held'],
    event: 'transfer-failed',
    to: 'failed',
    stage: 'converted',
    guard: 'withdraw-called',
    why: 'the blockchain transfer failed; Interlace gave the stablecoin back to the wallet',
  },
  {
    from: ['converted', 'sent'],
    event: 'status-unknown',
    to: 'held',
    stage: 'sent',
    guard: 'withdraw-called',
    why: 'the blockchain transfer has a status none of PAYOUT_STATUS_* names',
  },
  {
    from: ['sent'],
    event: 'confirmation-timeout',
    to: 'held',
    why: 'no Closed within PAYOUT_CONFIRM_TIMEOUT_MS',
  },
  {
    from: ['held'],
    event: 'retry',
    to: 'stage',
    guard: 'not-on-hold',
    why: 'an operator resumes where it stopped, the refund included (same idempotency values)',
  },
  {
    from: ['failed', 'held'],
    event: 'refund',
    to: 'refunding',
    guard: 'money-in-wallet',
    why: 'an operator moves the USD or stablecoin in the wallet back to Infinity',
  },
  {
    from: ['refunding'],
    event: 'refunded',
    to: 'refunded',
    stage: 'refunded',
    why: 'the refund transfer answered CLOSED',
  },
];

/** The facts about a payout that guards and targets read. */
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
};

export type TransitionDecision =
  | { ok: true; from: PayoutState; to: PayoutState; stage: PayoutStage; transition: Transition }
  | { ok: false; reason: string };

/** Interprets the table: the state an event moves a payout to, or why it may not. */
export function decideTransition(facts: PayoutFacts, event: PayoutEvent): TransitionDecision {
  const rows = PAYOUT_TRANSITIONS.filter((row) => row.event === event);
  const row = rows.find((candidate) => candidate.from.includes(facts.state));
  if (row === undefined) return { ok: false, reason: `a ${facts.state} payout cannot take "${event}"` };
  const blocked = row.guard === undefined ? undefined : guardFails(row.guard, facts);
  if (blocked !== undefined) return { ok: false, reason: blocked };
  const resumed = facts.refundRequested ? 'refunding' : stateOfStage(facts.stage);
  const to = row.to === 'stage' ? resumed : row.to;
  return { ok: true, from: facts.state, to, stage: row.stage ?? facts.stage, transition: row };
}

function guardFails(guard: Guard, facts: PayoutFacts): string | undefined {
  switch (guard) {
    case 'no-money-call-yet':
      return facts.fundingCalled ? 'step 1 has already been called: refund instead of cancel' : undefined;
    case 'money-in-wallet':
      if (facts.onHold) return 'the transfer is ON_HOLD at Interlace: it needs their refund request';
      return facts.stage === 'funded' || facts.stage === 'converted'
        ? undefined
        : `no money of this payout is known to be in the wallet (stage ${facts.stage})`;
    case 'not-on-hold':
      return facts.onHold ? 'the transfer is ON_HOLD at Interlace: never retried blindly' : undefined;
    case 'withdraw-called':
      return facts.withdrawCalled ? undefined : 'step 5 was never called for this payout';
  }
}

/** The state in which a payout whose money reached `stage` continues. */
export function stateOfStage(stage: PayoutStage): PayoutState {
  switch (stage) {
    case 'none':
      return 'approved';
    case 'funded':
    case 'converted':
    case 'sent':
    case 'confirmed':
    case 'refunded':
      return stage;
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
 * What the wallet keeps reserved for a payout, which the backfill never sweeps back: from step 1
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

/** Whether `amount` more fits a rolling daily limit already `used` (both USD decimal strings). */
export function fitsDailyLimit(used: string, amount: string, limit: string): boolean {
  return new Decimal(used).plus(amount).lte(limit);
}

// ---------------------------------------------------------------------------------------------------
// The transition table, as documentation

/** The transition table as markdown, for docs/payout-state-machine.md. */
export function renderPayoutStateMachine(): string {
  const rows = PAYOUT_TRANSITIONS.map((row) => {
    const to = row.to === 'stage' ? '(the state of its stage)' : `\`${row.to}\``;
    return `| ${row.from.map((s) => `\`${s}\``).join(', ')} | \`${row.event}\` | ${to} | ${row.stage ? `\`${row.stage}\`` : ''} | ${row.guard ?? ''} | ${row.why} |`;
  });
  return [
    '# Payout state machine',
    '',
    '<!-- Generated from PAYOUT_TRANSITIONS in src/policy/payout-policy.ts; test/policy/payout-policy.test.ts',
    '     fails when this file and the table differ. Regenerate: npx tsx scripts/render-state-machines.ts -->',
    '',
    'A payout moves only along these rows; any other event is refused and changes nothing. `stage` is how',
    'far the money got (none, funded, converted, sent, confirmed, refunded): it says where the money is',
    'whatever the state (docs/payouts.md, "Where the money is").',
    '',
    '| from | event | to | stage becomes | guard | why |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    'Guards:',
    '',
    '- `no-money-call-yet`: step 1 has never been called (its id is stored before the first call).',
    '- `money-in-wallet`: the stage is `funded` (USD) or `converted` (stablecoin) and the transfer is not ON_HOLD.',
    "- `not-on-hold`: the blockchain transfer is not ON_HOLD (Interlace's refund request decides those).",
    '- `withdraw-called`: step 5 has been called for this payout (its idempotencyKey is stored).',
    '',
  ].join('\n');
}
