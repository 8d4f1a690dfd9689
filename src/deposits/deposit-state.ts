import type { DepositState } from '../policy/deposit-policy.js';

// The states and every transition between them are the policy's (src/policy/deposit-policy.ts).
export type { DepositState } from '../policy/deposit-policy.js';

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
  /** When upstreamStatus was recorded (ms): an operator's later requeue overrides it. */
  statusAt?: string;
  /** The status of the latest notification, also when it changed nothing (a late or stale one). */
  lastStatus?: string;
  state: DepositState;
  /** Dropped once swept (it is derivable: sweepTransactionId(depositId)); readers derive it. */
  clientTransactionId?: string;
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
  /** Set when an operator released this deposit by name (`sweep enqueue`), not by a bulk replay. */
  approvedBy?: string;
  approvedAt?: string;
  previousState?: string;
  replays?: string;
  /** Attribution (the wallet's owner record, read when a notification is accepted). */
  walletOwnership?: 'owned' | 'unowned';
  /** This service's id of the wallet (the merchant API's `id`). */
  walletRecordId?: string;
  /** The merchant's own id of the customer the wallet belongs to. */
  externalId?: string;
  walletName?: string;
  /** Set when the record was rebuilt from the long-lived swept-ids record (the ledger had lost it). */
  restoredAt?: string;
};
