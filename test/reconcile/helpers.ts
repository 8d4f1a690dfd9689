import type { Stack } from '../helpers/stack.js';
import { createInterlaceClient } from '../../src/interlace/client.js';
import { createQueues } from '../../src/queues/create-queues.js';
import { createDepositStore } from '../../src/deposits/deposit-store.js';
import type { ReconcileDeps } from '../../src/reconcile/run-reconcile.js';
import type { TransferHistorySource } from '../../src/reconcile/transfer-history.js';

/** The deps of a reconciliation run against the stack (what the worker process builds), plus cleanup. */
export function reconcileDeps(stack: Stack, options: { history?: TransferHistorySource } = {}) {
  const client = createInterlaceClient({
    config: stack.config,
    redis: stack.redis,
    keys: stack.keys,
    logger: stack.logger,
  });
  const queues = createQueues(stack.redis, stack.config);
  // RECONCILE_ACCOUNT_IDS of these runs: the accounts of freshWallet(), which no webhook may have named.
  const accountIds: string[] = [];
  const config = { ...stack.config, reconcile: { ...stack.config.reconcile, accountIds } };
  const deposits = createDepositStore(stack.redis, stack.keys, { retentionMs: config.ledgerRetentionMs });
  const deps: ReconcileDeps = {
    config,
    logger: stack.logger,
    redis: stack.redis,
    keys: stack.keys,
    client,
    ...(options.history
      ? {
          history: options.history,
          feed: { config, logger: stack.logger, redis: stack.redis, keys: stack.keys, deposits, queues },
        }
      : {}),
  };
  return {
    deps,
    accountIds,
    async close() {
      client.close();
      await queues.sweep.close();
      await queues.dead.close();
      await queues.payout.close();
    },
  };
}

/** A fresh account with one CryptoConnect wallet, so each test reads only its own balances. */
export function freshWallet(stack: Stack, accountIds: string[], options: { master?: boolean } = {}) {
  const account = stack.sim.createAccount();
  accountIds.push(account.accountId);
  const wallet = stack.sim.createWallet(account.accountId, { master: options.master ?? false });
  return {
    accountId: account.accountId,
    walletId: wallet.id,
    credit(amount: string, currency = 'USDC') {
      return stack.sim.creditDeposit({ walletId: wallet.id, currency, amount }).id;
    },
    notify(depositId: string, status?: 'CLOSED' | 'PENDING' | 'ON_HOLD' | 'FAIL') {
      return stack.sim.deliverNotification(stack.webhookUrl, depositId, status ? { status } : {});
    },
    transfers() {
      return stack.sim
        .transfers()
        .filter((transfer) => (transfer.request as { from?: { id?: string } }).from?.id === wallet.id);
    },
  };
}
