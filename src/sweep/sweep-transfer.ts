import type { DepositRecord } from '../deposits/deposit-state.js';
import type { InternalTransfer, InternalTransferRequest } from '../interlace/types.js';
import { sumAmounts } from './amounts.js';
import { sweepTransactionId } from './transaction-id.js';

/**
 * The MoR sweep (API-NOTES §4): the whole deposit from the CryptoConnect wallet (businessType 2) to the
 * Infinity USD wallet (businessType 0). `amount` is the deposit amount as Interlace sent it; fees come
 * out of it. The clientTransactionId is recomputed from the deposit id, never read from a job.
 */
export function buildSweepTransfer(
  deposit: DepositRecord,
  infinityWalletId: string,
): InternalTransferRequest {
  return {
    clientTransactionId: sweepTransactionId(deposit.depositId),
    accountId: deposit.accountId,
    from: { businessType: 2, id: deposit.walletId, currency: deposit.currency },
    to: { businessType: 0, id: infinityWalletId, currency: 'USD' },
    amount: deposit.amount,
  };
}

/** What the ledger keeps of a transfer: id, status, fees, net amount credited. */
export function transferOutcome(transfer: InternalTransfer): Record<string, string> {
  const fees = [...(transfer.from?.fees ?? []), ...(transfer.to?.fees ?? [])];
  const feeAmounts = (transfer.from?.fees ?? [])
    .map((fee) => fee.amount)
    .filter((amount) => typeof amount === 'string');
  return {
    transferId: transfer.id,
    transferStatus: transfer.status,
    fees: JSON.stringify(fees),
    feeTotal: feeAmounts.length > 0 ? sumAmounts(feeAmounts) : '0',
    feeCurrency: transfer.from?.currency ?? '',
    netAmount: transfer.to?.amount ?? '',
    netCurrency: transfer.to?.currency ?? 'USD',
  };
}
