import { Decimal } from './money.js';
import { SimulatorError } from './simulator-error.js';

/** A conversion trade as the simulator keeps it (seed 001 step 3's answer, plus what the test needs). */
export type SimTrade = {
  id: string;
  accountId: string;
  symbol: string;
  baseWalletId: string;
  baseCurrency: string;
  baseAmount: string;
  quoteCurrency: string;
  quoteAmount: string;
  side: 'BUY' | 'SELL';
  rate: string;
  fee: string;
  feeCurrency: string;
  status: string; // COMPLETE, FAILED (trade-failed), or what a transfer-status fault forced
  referenceId: string;
  createTime: string;
  completeTime: string;
  /** The request body as received, to tell a repeat from a conflicting reuse of the referenceId. */
  request: unknown;
  /** Later calls with the same referenceId and body that got this trade back. */
  replays: number;
};

/** Withdrawal statuses: seed 001 writes Pending and Closed; ON_HOLD and Failed are the simulator's guesses. */
export type WithdrawalStatus = 'Pending' | 'Closed' | 'ON_HOLD' | 'Failed';
export const WITHDRAWAL_STATUSES: readonly WithdrawalStatus[] = ['Pending', 'Closed', 'ON_HOLD', 'Failed'];

/** A blockchain transfer out of a CryptoConnect wallet (`POST /cryptoconnect/transfers`). */
export type SimWithdrawal = {
  id: string;
  accountId: string;
  idempotencyKey: string;
  source: { type: string; id: string };
  destination: { type: string; chain: string; address: string };
  amount: { amount: string; currency: string };
  fees: { amount: string; currency: string; type: 'GAS' }[];
  status: WithdrawalStatus;
  transactionHash: string | null;
  createTime: string;
  updateTime: string;
  /** What left the wallet (amount, plus gas when gas is charged on top). */
  debited: string;
  /** What reaches the address once Closed (amount, less gas when gas comes out of it). */
  arrives: string;
  request: unknown;
  replays: number;
};

/** The supported pairs (seed 001: USD with USDC/USDT/WUSD, and USDC with USDT), keyed BASE-QUOTE. */
export const PAIRS = ['USDC-USD', 'USDT-USD', 'WUSD-USD', 'USDT-USDC'] as const;

/** The payout side of the simulated books: conversion rates, trades and blockchain transfers. */
export class PayoutBooks {
  private readonly tradesByReference = new Map<string, SimTrade>();
  private readonly tradeList: SimTrade[] = [];
  private readonly withdrawalsByKey = new Map<string, SimWithdrawal>();
  private readonly withdrawalsById = new Map<string, SimWithdrawal>();
  private readonly rates = new Map<string, Decimal>();
  /** Where withdrawal status notifications go; none are sent while unset. */
  webhookUrl: string | undefined;

  constructor(webhookUrl: string | undefined) {
    this.webhookUrl = webhookUrl;
  }

  /** Quote currency per base unit of a pair; 1 unless a test moved it (a re-quote between preview and trade). */
  rate(symbol: string): Decimal {
    return this.rates.get(symbol) ?? new Decimal(1);
  }

  setRate(symbol: string, rate: string): void {
    if (!(PAIRS as readonly string[]).includes(symbol)) {
      throw new SimulatorError(400, `symbol must be one of ${PAIRS.join(', ')}`);
    }
    if (!/^\d+(\.\d+)?$/.test(rate) || new Decimal(rate).lte(0)) {
      throw new SimulatorError(400, 'rate must be a positive decimal string');
    }
    this.rates.set(symbol, new Decimal(rate));
  }

  tradeByReference(accountId: string, referenceId: string): SimTrade | undefined {
    return this.tradesByReference.get(`${accountId}|${referenceId}`);
  }

  recordTrade(trade: SimTrade): void {
    this.tradesByReference.set(`${trade.accountId}|${trade.referenceId}`, trade);
    this.tradeList.push(trade);
  }

  trades(): SimTrade[] {
    return structuredClone(this.tradeList);
  }

  withdrawalByKey(idempotencyKey: string): SimWithdrawal | undefined {
    return this.withdrawalsByKey.get(idempotencyKey);
  }

  withdrawal(id: string): SimWithdrawal | undefined {
    return this.withdrawalsById.get(id);
  }

  recordWithdrawal(withdrawal: SimWithdrawal): void {
    this.withdrawalsByKey.set(withdrawal.idempotencyKey, withdrawal);
    this.withdrawalsById.set(withdrawal.id, withdrawal);
  }

  withdrawals(): SimWithdrawal[] {
    return structuredClone([...this.withdrawalsById.values()]);
  }
}
