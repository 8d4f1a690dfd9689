import type { Stack } from '../helpers/stack.js';
import { createInterlaceClient } from '../../src/interlace/client.js';
import { createQueues } from '../../src/queues/create-queues.js';
import type { BackfillDeps, BackfillFinding } from '../../src/backfill/run-backfill.js';

/** The deps of a backfill run against the stack (what the worker process builds), plus cleanup. */
export function backfillDeps(stack: Stack, onFinding?: (finding: BackfillFinding) => void) {
  const client = createInterlaceClient({
    config: stack.config,
    redis: stack.redis,
    keys: stack.keys,
    logger: stack.logger,
  });
  const queues = createQueues(stack.redis, stack.config);
  // BACKFILL_ACCOUNT_IDS of these runs: the accounts of freshWallet(), which no webhook may have named.
  const accountIds: string[] = [];
  const deps: BackfillDeps = {
    config: { ...stack.config, backfill: { ...stack.config.backfill, accountIds } },
    logger: stack.logger,
    redis: stack.redis,
    keys: stack.keys,
    client,
    sweepQueue: queues.sweep,
    ...(onFinding ? { onFinding } : {}),
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
export function freshWallet(stack: Stack, accountIds: string[]) {
  const account = stack.sim.createAccount();
  accountIds.push(account.accountId);
  const wallet = stack.sim.createWallet(account.accountId);
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
