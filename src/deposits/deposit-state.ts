/** The lifecycle of one deposit in the ledger. */
export type DepositState =
  | 'pending' // seen on chain, not yet credited: wait for CLOSED
  | 'queued' // credited, sweep job enqueued
  | 'sweeping' // a worker is moving it
  | 'swept' // transfer accepted by Interlace: final, never goes back
  | 'held' // ON_HOLD: compliance hold, never swept automatically
  | 'failed' // upstream FAIL: never swept
  | 'dead' // dead-lettered with a reason: an operator decides
  | 'dust' // below SWEEP_MIN_AMOUNT: recorded, not swept
  | 'unsupported'; // currency outside SWEEP_CURRENCIES: recorded, not swept

/** What a CLOSED deposit becomes, decided from the money rules before it reaches Redis. */
export type ClosedDecision =
  { kind: 'sweep' } | { kind: 'dust'; reason: string } | { kind: 'unsupported'; reason: string };

/** The deposit record as stored (a Redis hash: every value a string). */
export type DepositRecord = {
  depositId: string;
  accountId: string;
  walletId: string;
  currency: string;
  amount: string;
  chain?: string;
  txHash?: string;
  address?: string;
  upstreamStatus: string;
  state: DepositState;
  clientTransactionId: string;
  notifications: string;
  lastNotificationId?: string;
  firstSeenAt: string;
  updatedAt: string;
  queuedAt?: string;
  sweepingAt?: string;
  sweptAt?: string;
  deadAt?: string;
  attempts?: string;
  reason?: string;
  conflict?: string;
  transferId?: string;
  transferStatus?: string;
  fees?: string;
  feeTotal?: string;
  feeCurrency?: string;
  netAmount?: string;
  netCurrency?: string;
  /** Set by an operator replay. */
  replayedBy?: string;
  replayedAt?: string;
  previousState?: string;
  replays?: string;
  /** Set when the funds were moved by a backfill sweep rather than this deposit's own. */
  sweptBy?: string;
};
