import type {
  FundsLocation,
  Guard,
  PayoutAmounts,
  PayoutFacts,
  PayoutStage,
  PayoutState,
  PayoutStep,
} from '../policy/payout-policy.js';
import { fundsLocation } from '../policy/payout-policy.js';

/** A payout as stored (a Redis hash: every value a string; absent fields are steps not reached). */
export type PayoutRecord = {
  payoutId: string;
  externalId: string;
  /** USD taken from the Infinity account. */
  amount: string;
  /** The stablecoin the address receives. */
  currency: string;
  chain: string;
  address: string;
  accountId: string;
  /** PAYOUT_WALLET_ID when the payout was created. */
  walletId: string;
  /** The CryptoConnect wallet the payout's money is in (decided before step 1; the trade's after it). */
  fundsWalletId?: string;
  state: PayoutState;
  stage: PayoutStage;
  createdAt: string;
  updatedAt: string;
  createdBy: string;
  approvedBy?: string;
  approvedAt?: string;
  cancelledBy?: string;
  /** Step 1: the clientTransactionId, when it was first sent, and the answer. */
  fundingId?: string;
  fundingCalledAt?: string;
  fundingTransferId?: string;
  fundedAmount?: string;
  /** Step 3: the referenceId, when it was first sent, and the trade. */
  tradeReferenceId?: string;
  tradeCalledAt?: string;
  tradeId?: string;
  tradeStatus?: string;
  tradeRate?: string;
  tradeFee?: string;
  tradeFeeCurrency?: string;
  tradeWalletId?: string;
  boughtAmount?: string;
  /** Step 4 and 5: the GAS fee, the idempotencyKey, when it was first sent, and the transfer. */
  gasFee?: string;
  withdrawKey?: string;
  withdrawCalledAt?: string;
  withdrawTransferId?: string;
  withdrawStatus?: string;
  sentAmount?: string;
  expectedArrival?: string;
  arrivedAmount?: string;
  transactionHash?: string;
  sentAt?: string;
  confirmedAt?: string;
  /** The refund back to Infinity: its clientTransactionId, when it was first sent, and the answer. */
  refundRequested?: string;
  refundRequestedBy?: string;
  refundId?: string;
  /** What the refund moves, fixed before its first call. */
  refundCurrency?: string;
  refundAmount?: string;
  refundCalledAt?: string;
  refundTransferId?: string;
  refundedAmount?: string;
  refundFee?: string;
  /**
   * Each step's request body (JSON), stored with its id before the first call and resent byte for
   * byte: a resend never rebuilds it from settings that may have changed since.
   */
  fundRequest?: string;
  tradeRequest?: string;
  withdrawRequest?: string;
  refundRequest?: string;
  retriedBy?: string;
  /** '1' while the blockchain transfer is ON_HOLD. */
  onHold?: string;
  /**
   * The step whose call went out and no answer has yet proved what it did: set before every call (in
   * BEGIN_STEP), cleared only by an answer or a notification that tells (policy SETTLES_DOUBT).
   */
  doubt?: string;
  /** Why the payout is failed or held, for an operator. */
  reason?: string;
  /** How many times the payout's job ran a step (all steps). */
  attempts?: string;
};

/** The facts the policy's guards read. */
export function payoutFacts(record: PayoutRecord): PayoutFacts {
  return {
    state: record.state,
    stage: record.stage,
    fundingCalled: record.fundingCalledAt !== undefined,
    withdrawCalled: record.withdrawCalledAt !== undefined,
    onHold: record.onHold === '1',
    refundRequested: record.refundRequested === '1',
    stepInDoubt: isStep(record.doubt) ? record.doubt : undefined,
  };
}

function isStep(value: string | undefined): value is PayoutStep {
  return value === 'fund' || value === 'convert' || value === 'send' || value === 'refund';
}

/** The wallet the payout's money is in now: the trade's wallet after step 3, else step 1's. */
export function moneyWallet(
  record: Pick<PayoutRecord, 'walletId' | 'fundsWalletId' | 'tradeWalletId'>,
): string {
  return record.tradeWalletId ?? record.fundsWalletId ?? record.walletId;
}

/**
 * The stored facts a guard reads that the store re-checks in the same script as the transition (they
 * must be absent or empty), so a decision made on a record read a moment ago cannot land after the
 * fact changed: a cancel after step 1 began, a refund after a call went out.
 */
export const GUARD_FIELDS: Partial<Record<Guard, readonly (keyof PayoutRecord)[]>> = {
  'no-money-call-yet': ['fundingCalledAt'],
  'money-in-wallet': ['doubt', 'onHold'],
};

/** The payout's recorded amounts, as the policy reads them. */
export function payoutAmounts(record: PayoutRecord): PayoutAmounts {
  return {
    amount: record.amount,
    currency: record.currency,
    ...optional('fundedAmount', record.fundedAmount),
    ...optional('boughtAmount', record.boughtAmount),
    ...optional('sentAmount', record.sentAmount),
    ...optional('arrivedAmount', record.arrivedAmount ?? record.expectedArrival),
    ...optional('refundedAmount', record.refundedAmount),
  };
}

/** Where the payout's money is now. */
export function payoutFunds(record: PayoutRecord): FundsLocation {
  return fundsLocation(record.stage, record.onHold === '1', payoutAmounts(record));
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
