import type { CryptoConnectWallet, WebhookEnvelope } from '../interlace/types.js';
import { historyDepositId, type HistoryTransfer } from '../policy/reconcile-policy.js';
import { acceptNotification, type ReceiverDeps } from '../webhooks/accept-notification.js';

export type { HistoryTransfer } from '../policy/reconcile-policy.js';

/**
 * A source of a wallet's incoming transfers, as facts (Interlace's transfer records), not balances.
 * None is implemented: Interlace documents no endpoint that lists a wallet's transfers or looks one up
 * (API-NOTES §9). A documented one plugs in here and its transfers become deposits exactly as their
 * webhook would have made them.
 */
export type TransferHistorySource = {
  incomingTransfers(wallet: { accountId: string; walletId: string }): Promise<readonly HistoryTransfer[]>;
};

/** What feeding needs: the receiver's own dependencies, since the path is the webhook's. */
export type HistoryFeedDeps = ReceiverDeps;

/**
 * Feeds a wallet's incoming transfers through the webhook's path (acceptNotification): the deposit id is
 * the transfer's own (historyDepositId), so its clientTransactionId is the one its webhook would give,
 * and a deposit learnt both ways is one deposit, swept once. Answers how many changed the ledger.
 * Only transfers that say `IN` and name this wallet are deposits; anything else is skipped.
 */
export async function feedHistory(
  deps: HistoryFeedDeps,
  source: TransferHistorySource,
  wallet: Pick<CryptoConnectWallet, 'id' | 'accountId'>,
): Promise<number> {
  const transfers = await source.incomingTransfers({ accountId: wallet.accountId, walletId: wallet.id });
  const eventType = deps.config.interlace.depositEventTypes[0];
  if (eventType === undefined) return 0;
  let changed = 0;
  for (const transfer of transfers) {
    if (transfer.direction !== 'IN' || transfer.walletId !== wallet.id) continue;
    const depositId = historyDepositId(transfer);
    if (depositId === undefined) continue;
    const resource = JSON.stringify({
      id: depositId,
      accountId: transfer.accountId,
      walletId: transfer.walletId,
      direction: 'IN',
      currency: transfer.currency,
      amount: transfer.amount,
      status: transfer.status,
      ...(transfer.chain !== undefined ? { chain: transfer.chain } : {}),
      ...(transfer.txHash !== undefined ? { txHash: transfer.txHash } : {}),
      ...(transfer.address !== undefined ? { address: transfer.address } : {}),
      ...(transfer.createTime !== undefined ? { createTime: transfer.createTime } : {}),
    });
    // The same id for the same fact: feeding the same transfer again is a redelivery, not news.
    const envelope: WebhookEnvelope = { eventType, id: `history-${depositId}-${transfer.status}`, resource };
    const result = await acceptNotification(deps, envelope, JSON.stringify(envelope));
    if (result.outcome === 'deposit' && result.change !== 'unchanged') changed += 1;
  }
  return changed;
}
