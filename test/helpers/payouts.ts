import { vi } from 'vitest';
import type { SimulatorOptions } from '../../simulator/types.js';
import { Job, Queue, QueueEvents } from 'bullmq';
import { createRedis } from '../../src/redis.js';
import { PAYOUT_QUEUE, payoutJobId, type PayoutJobData } from '../../src/queues/names.js';
import { createPayoutStore } from '../../src/payouts/payout-store.js';
import { payoutStepId } from '../../src/payouts/payout-ids.js';
import type { PayoutRecord } from '../../src/payouts/payout-record.js';
import { createPayout, type PayoutCommandDeps } from '../../src/payouts/payout-commands.js';
import type { PayoutStep } from '../../src/policy/payout-policy.js';
import { startStack } from './stack.js';

export const PAYOUT_ACCOUNT = 'acct-payouts';
export const PAYOUT_WALLET = 'wallet-payouts';
export const ETH_ADDRESS = '0x89F9Cfaa0dA076351DdfC6E320bD8df8b538dB17';

/** The endpoint (simulator fault target) and the body field carrying each step's idempotency value. */
const STEP_CALLS: Record<PayoutStep, { endpoint: string; field: string }> = {
  fund: { endpoint: 'transfer', field: 'clientTransactionId' },
  convert: { endpoint: 'trade', field: 'referenceId' },
  send: { endpoint: 'withdraw', field: 'idempotencyKey' },
  refund: { endpoint: 'transfer', field: 'clientTransactionId' },
};

/**
 * The whole stack with payouts on: the simulator sends withdrawal notifications to the receiver, the
 * payout account holds `usd` in Infinity and has one CryptoConnect wallet (its default).
 */
export async function startPayoutStack(
  name: string,
  options: { env?: Record<string, string>; usd?: string; simulator?: Partial<SimulatorOptions> } = {},
) {
  const stack = await startStack(name, {
    env: { PAYOUT_ACCOUNT_ID: PAYOUT_ACCOUNT, PAYOUT_WALLET_ID: PAYOUT_WALLET, ...options.env },
    ...(options.simulator ? { simulator: options.simulator } : {}),
  });
  stack.sim.createAccount({ accountId: PAYOUT_ACCOUNT, usdAvailable: options.usd ?? '1000' });
  stack.sim.createWallet(PAYOUT_ACCOUNT, { walletId: PAYOUT_WALLET, nickname: 'payouts' });
  stack.sim.setWebhookUrl(stack.webhookUrl);
  const payouts = createPayoutStore(stack.redis, stack.keys);
  const payoutQueue = new Queue<PayoutJobData>(PAYOUT_QUEUE, {
    connection: stack.redis,
    prefix: stack.prefix,
  });
  const payoutEvents = new QueueEvents(PAYOUT_QUEUE, {
    connection: createRedis(stack.config.redisUrl, 'worker', 'test-payout-events'),
    prefix: stack.prefix,
  });
  await payoutEvents.waitUntilReady();
  const commands: PayoutCommandDeps = { config: stack.config, logger: stack.logger, payouts, payoutQueue };

  return {
    ...stack,
    payouts,
    payoutQueue,
    commands,

    /** A payout request body, as POST /payouts takes it. */
    request(externalId: string, amount = '10', more: Record<string, unknown> = {}) {
      return {
        external_id: externalId,
        amount,
        currency: 'USDC',
        chain: 'ETH',
        address: ETH_ADDRESS,
        ...more,
      };
    },

    /** Waits (on BullMQ events) until the payout's run job has finished; answers the payout record. */
    async finished(payoutId: string, trigger?: string, timeoutMs = 20_000): Promise<PayoutRecord> {
      const job = await Job.fromId(payoutQueue, payoutJobId(payoutId, trigger));
      if (!job) throw new Error(`no payout job for ${payoutId} ${trigger ?? ''}`);
      await job.waitUntilFinished(payoutEvents, timeoutMs).catch(() => undefined);
      return (await payouts.get(payoutId))!;
    },

    /** Resolves once the simulator has had a 2xx answer to a notification of this withdrawal status. */
    delivered(status: string) {
      return stack.sim.waitFor(
        'notification',
        (n) => n.resourceStatus === status && n.status !== null && n.status < 300,
      );
    },

    /** Every call the simulator received for a payout's step, answered or not (by its idempotency value). */
    stepCallsFor(payoutId: string, step: PayoutStep) {
      const id = payoutStepId(payoutId, step);
      const { endpoint, field } = STEP_CALLS[step];
      return stack.sim
        .requests()
        .filter(
          (r) => r.endpoint === endpoint && (r.body as Record<string, unknown> | undefined)?.[field] === id,
        );
    },

    /** What the simulator committed for a payout's step (each must be exactly one). */
    committedFor(payoutId: string, step: PayoutStep) {
      const id = payoutStepId(payoutId, step);
      if (step === 'fund') return stack.sim.fundings().filter((t) => t.clientTransactionId === id);
      if (step === 'convert') return stack.sim.trades().filter((t) => t.referenceId === id);
      if (step === 'send') return stack.sim.withdrawals().filter((w) => w.idempotencyKey === id);
      return stack.sim.transfers().filter((t) => t.clientTransactionId === id);
    },

    async close() {
      await payoutEvents.close();
      await payoutQueue.close();
      await stack.close();
    },
  };
}

export type PayoutStack = Awaited<ReturnType<typeof startPayoutStack>>;

/**
 * Creates a payout whose step 5 (the withdrawal) commits at Interlace and whose answer is then lost, so
 * the payout stays `converted`; resolves with the payout and the simulator's committed withdrawal.
 */
export async function payoutWithLostSendAnswer(stack: PayoutStack, requestId: string) {
  stack.sim.faults.enqueue('withdraw', { kind: 'timeout-after-commit', delayMs: 1_500 });
  const { payout } = await createPayout(stack.commands, stack.request(requestId), 'test');
  const key = payoutStepId(payout.payoutId, 'send');
  const committed = await vi.waitFor(
    () => {
      const found = stack.sim.withdrawals().find((w) => w.idempotencyKey === key);
      if (!found) throw new Error('step 5 not committed yet');
      return found;
    },
    { timeout: 15_000, interval: 5 },
  );
  return { payout, committed };
}
