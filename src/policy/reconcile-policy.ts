// The reconciliation's money rules (issue #9 item 2): what a wallet's balance says next to the ledger,
// and when an operator may move money that no notification explains. Pure: no Redis, no I/O.
import { createHash } from 'node:crypto';
import { checkAmount, currencyPrecision, isAbove, isBelow } from '../sweep/amounts.js';
import { Decimal } from '../sweep/decimal.js';

/** Ledger states whose money the ledger knows is (still) in the wallet, and which explain balance. */
export const EXPLAINED_STATES: readonly string[] = ['queued', 'sweeping', 'dead', 'dust'];

/**
 * Prefixes of deposits made from a balance, not from a notification (`reconcile-`: an operator's sweep;
 * `backfill-`: the removed backfill's). A dead one moved nothing and its money IS the balance: counting
 * it as explained would hide that money from every later run.
 */
export const BALANCE_DEPOSIT_PREFIXES: readonly string[] = ['reconcile-', 'backfill-'];

/**
 * The upstream status an operator's reconciliation sweep is recorded with (the claim sweeps it). Not an
 * upper-case word, so no status Interlace could send is ever mistaken for an operator's decision.
 */
export const OPERATOR_SWEEP_STATUS = 'operator:reconcile';

export type LedgerEntry = {
  depositId: string;
  state: string;
  currency: string;
  amount: string;
  /** When it was swept (ms), for a swept deposit. */
  sweptAt?: string;
};

/** One wallet and currency, as the reconciler compares them. All amounts are decimal strings. */
export type BalanceLine = {
  currency: string;
  /** The wallet's available balance, as Interlace answered it. */
  available: string;
  /** Σ the wallet's ledger deposits in that currency in EXPLAINED_STATES (dead balance deposits aside). */
  explained: string;
  /** Σ the wallet's held deposits: on their own line, never counted as explaining other money. */
  held: string;
  /** What payouts keep reserved in the wallet (never anyone else's to move). */
  reserved: string;
  /** available − explained − reserved, truncated to the currency's precision (may be negative). */
  unexplained: string;
  /** What an operator may move at most: unexplained − held, never below 0. */
  sweepable: string;
};

/**
 * Compares one currency of a wallet's balance with the ledger. Held deposits are reported on their own
 * line and are not subtracted from the balance: whether compliance-held money sits in `available` is
 * not documented, and counting it as explained would hide other unexplained money of the same size.
 */
export function compareBalance(input: {
  currency: string;
  available: string;
  entries: readonly LedgerEntry[];
  reserved?: string;
  /**
   * When `available` was read (ms), if it was read before the ledger: a deposit swept since then left
   * the wallet after that balance, so it still explains part of it (an operator's command checks today's
   * ledger against the report's older balance).
   */
  balanceReadAt?: number;
}): BalanceLine {
  const { currency } = input;
  let explained = new Decimal(0);
  let held = new Decimal(0);
  for (const entry of input.entries) {
    if (entry.currency !== currency) continue;
    if (entry.state === 'held') {
      held = held.plus(new Decimal(entry.amount));
      continue;
    }
    const sweptSinceRead =
      entry.state === 'swept' &&
      input.balanceReadAt !== undefined &&
      Number(entry.sweptAt ?? Number.POSITIVE_INFINITY) >= input.balanceReadAt;
    if (!EXPLAINED_STATES.includes(entry.state) && !sweptSinceRead) continue;
    if (entry.state === 'dead' && isBalanceDeposit(entry.depositId)) continue;
    explained = explained.plus(new Decimal(entry.amount));
  }
  const reserved = new Decimal(input.reserved ?? 0);
  const places = currencyPrecision(currency);
  const unexplained = new Decimal(input.available)
    .minus(explained)
    .minus(reserved)
    .toDecimalPlaces(places, Decimal.ROUND_DOWN);
  const sweepable = Decimal.max(0, unexplained.minus(held)).toDecimalPlaces(places, Decimal.ROUND_DOWN);
  return {
    currency,
    available: input.available,
    explained: explained.toFixed(),
    held: held.toFixed(),
    reserved: reserved.toFixed(),
    unexplained: unexplained.toFixed(),
    sweepable: sweepable.toFixed(),
  };
}

/** A line is a discrepancy when the unexplained money reaches the service's minimum (dust is noise). */
export function isDiscrepancy(line: BalanceLine, minAmount: string): boolean {
  return new Decimal(line.unexplained).gt(0) && !isBelow(line.unexplained, minAmount);
}

export function isBalanceDeposit(depositId: string): boolean {
  return BALANCE_DEPOSIT_PREFIXES.some((prefix) => depositId.startsWith(prefix));
}

/**
 * The report entry's id: the same wallet, currency and balance picture give the same id on every run,
 * so an operator's retried `reconcile sweep` of one entry names the same deposit (and transfer).
 */
export function reconcileEntryId(walletId: string, line: BalanceLine): string {
  const digest = createHash('sha256')
    .update([walletId, line.currency, line.available, line.explained, line.reserved, line.held].join('|'))
    .digest('hex');
  return `${line.currency}-${digest.slice(0, 16)}`;
}

/**
 * The deposit id of an operator's sweep: derived from what the operator asked (wallet, currency, amount)
 * and a reference (their own, or the report entry's id), never from a counter or the clock, so the same
 * command run twice names one deposit and one clientTransactionId: it can never move the money twice.
 */
export function operatorSweepDepositId(input: {
  walletId: string;
  currency: string;
  amount: string;
  reference: string;
}): string {
  const digest = createHash('sha256')
    .update([input.walletId, input.currency, input.amount, input.reference].join('|'))
    .digest('hex');
  return `reconcile-${digest.slice(0, 40)}`;
}

export type OperatorSweepRefusal =
  | 'bad-amount'
  | 'master-wallet'
  | 'usd-without-notification'
  | 'unsupported-currency'
  | 'below-minimum'
  | 'above-maximum'
  | 'dead-operator-sweep'
  | 'above-unexplained';

export type OperatorSweepDecision =
  { ok: true; amount: string } | { ok: false; refusal: OperatorSweepRefusal; message: string };

/**
 * Whether an operator may move `amount` of unexplained money out of a wallet. Refuses master wallets,
 * USD (in a CryptoConnect wallet USD is the first step of a payout, never a deposit, unless a deposit
 * notification says so: and then it is not unexplained), currencies and amounts the service's policy
 * does not sweep, and anything above the money no deposit, hold or payout reservation accounts for.
 */
export function decideOperatorSweep(input: {
  amount: string;
  currency: string;
  master: boolean;
  line: BalanceLine;
  policy: { currencies: readonly string[]; minAmount: string; maxAmount?: string | undefined };
  /**
   * Dead operator sweeps of this wallet and currency (deadOperatorSweeps). Their money is still counted
   * as unexplained, so a new sweep of "the same" money would let a later replay of the dead one move it
   * a second time: the operator replays or retires the dead one first.
   */
  deadSweeps?: readonly string[];
}): OperatorSweepDecision {
  const amount = checkAmount(input.amount, input.currency);
  if (!amount.ok || new Decimal(amount.amount).lte(0))
    return refuse(
      'bad-amount',
      `amount ${JSON.stringify(input.amount)} is not a positive amount of ${input.currency}`,
    );
  if (input.master) return refuse('master-wallet', 'the wallet is a master wallet: never swept');
  if (input.currency === 'USD')
    return refuse(
      'usd-without-notification',
      'USD in a CryptoConnect wallet is moved only with a deposit notification for it (payouts fund it)',
    );
  if (!input.policy.currencies.includes(input.currency))
    return refuse('unsupported-currency', `${input.currency} is not a currency the service sweeps`);
  if (isBelow(amount.amount, input.policy.minAmount))
    return refuse('below-minimum', `${amount.amount} is below the minimum ${input.policy.minAmount}`);
  if (input.policy.maxAmount !== undefined && isAbove(amount.amount, input.policy.maxAmount))
    return refuse('above-maximum', `${amount.amount} is above the maximum ${input.policy.maxAmount}`);
  const dead = input.deadSweeps ?? [];
  if (dead.length > 0)
    return refuse(
      'dead-operator-sweep',
      `an earlier operator sweep of ${input.currency} from this wallet is dead (${dead.join(', ')}): ` +
        'replay it first (`dlq replay`: re-checked against the live balance, held if its money is gone)',
    );
  if (isAbove(amount.amount, input.line.sweepable))
    return refuse(
      'above-unexplained',
      `${amount.amount} ${input.currency} is more than the unexplained balance ` +
        `(${input.line.sweepable}: available ${input.line.available}, explained ${input.line.explained}, ` +
        `held ${input.line.held}, reserved ${input.line.reserved})`,
    );
  return { ok: true, amount: amount.amount };
}

/** The wallet's dead operator sweeps (`reconcile-…`) in a currency, by id. */
export function deadOperatorSweeps(entries: readonly LedgerEntry[], currency: string): string[] {
  return entries
    .filter((e) => e.currency === currency && e.state === 'dead' && e.depositId.startsWith('reconcile-'))
    .map((e) => e.depositId);
}

/** Whether a deposit is an operator's reconciliation sweep (money moved from a balance, not a notification). */
export function isOperatorSweep(deposit: { depositId: string; upstreamStatus?: string }): boolean {
  return deposit.depositId.startsWith('reconcile-') || deposit.upstreamStatus === OPERATOR_SWEEP_STATUS;
}

/**
 * The sweep worker's re-check of an operator's sweep right before its transfer call, against the
 * wallet as it is NOW (ledger and reservations read first, then the balance): whoever sent it there (the
 * command, `dlq replay`, `sweep enqueue`, a retry), it may move only money nothing else explains. The
 * deposit's own entry is left out of the ledger: its money is what is being checked.
 */
export function recheckOperatorSweep(input: {
  depositId: string;
  amount: string;
  currency: string;
  master: boolean;
  available: string;
  reserved?: string;
  entries: readonly LedgerEntry[];
  policy: { currencies: readonly string[]; minAmount: string; maxAmount?: string | undefined };
}): OperatorSweepDecision & { line: BalanceLine } {
  const line = compareBalance({
    currency: input.currency,
    available: input.available,
    entries: input.entries.filter((e) => e.depositId !== input.depositId),
    ...(input.reserved !== undefined ? { reserved: input.reserved } : {}),
  });
  const decision = decideOperatorSweep({
    amount: input.amount,
    currency: input.currency,
    master: input.master,
    line,
    policy: input.policy,
  });
  return { ...decision, line };
}

function refuse(refusal: OperatorSweepRefusal, message: string): OperatorSweepDecision {
  return { ok: false, refusal, message };
}

/**
 * Whether notifications acknowledged and not stored (unstoredForWallet) forbid an operator sweep of the
 * wallet: any that may name it, or too many to read, or a dead letter that holds one. Money they explain
 * is not unexplained: swept now, it would move again once the notification is stored.
 */
export function unstoredRefusal(unstored: {
  inLog: number;
  letters: readonly string[];
  unknown: boolean;
}): { refusal: 'ingest-backlog' | 'ingest-failed'; message: string } | undefined {
  if (unstored.letters.length > 0)
    return {
      refusal: 'ingest-failed',
      message:
        `dead letter(s) ${unstored.letters.join(', ')} hold notifications for this wallet that were received ` +
        'and never stored: replay them (ops dlq replay) or, once checked with Interlace, purge them first',
    };
  if (unstored.unknown)
    return {
      refusal: 'ingest-backlog',
      message:
        'too many notifications are received and not stored yet to rule this wallet out; run it again later',
    };
  if (unstored.inLog > 0)
    return {
      refusal: 'ingest-backlog',
      message: `${unstored.inLog} notification(s) for this wallet are received and not stored yet; run it again once they are`,
    };
  return undefined;
}

/** One incoming transfer as a transfer-history source would report it. */
export type HistoryTransfer = {
  /** Interlace's id of the transfer (the id a deposit notification's resource carries). */
  transferId?: string;
  txHash?: string;
  chain?: string;
  accountId: string;
  walletId: string;
  currency: string;
  amount: string;
  status: string;
  direction?: string;
  address?: string;
  createTime?: string;
};

const ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The deposit id of a transfer from a history source: Interlace's transfer id (so it is the id the
 * webhook would have given, and one deposit however it was learnt), else one derived from the
 * transaction hash (with the chain, wallet and currency: one transaction may pay several wallets). Never a counter: the id must survive the loss of Redis's data. Undefined when the
 * transfer carries neither.
 */
export function historyDepositId(transfer: HistoryTransfer): string | undefined {
  if (transfer.transferId !== undefined && ID.test(transfer.transferId)) return transfer.transferId;
  if (transfer.txHash !== undefined && transfer.txHash.length > 0) {
    const digest = createHash('sha256')
      .update(
        [transfer.chain ?? '', transfer.txHash.toLowerCase(), transfer.walletId, transfer.currency].join('|'),
      )
      .digest('hex');
    return `tx-${digest.slice(0, 40)}`;
  }
  return undefined;
}
