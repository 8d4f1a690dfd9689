import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MERCHANT_EVENT_QUEUE } from '../../src/merchant-events/merchant-event.js';
import { sweepJobId } from '../../src/queues/names.js';
import { createWalletStore } from '../../src/wallets/wallet-store.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { startMerchantEndpoint } from '../merchant-events/merchant-endpoint.js';

// Attack (merchant events, Redis data loss): an event's id (webhook-id) is the outbox stream id of the
// moment the state changed, so the SAME state change made again gets ANOTHER id. Redis loses the
// deposit's latest writes (a failover to a lagging replica, a restore from a backup, no AOF): the
// redelivered notification queues the deposit again, the worker resends the transfer under the same
// clientTransactionId, Interlace answers the original transfer, and deposit.swept is delivered a second
// time under a new webhook-id. docs/merchant-events.md tells the merchant to deduplicate on webhook-id:
// the merchant credits its customer twice for one deposit.

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const WAIT = { timeout: 15_000, interval: 25 };

describe('merchant events after the ledger lost a swept deposit', () => {
  let endpoint: Awaited<ReturnType<typeof startMerchantEndpoint>>;
  let stack: Stack;
  let events: Queue;
  beforeAll(async () => {
    endpoint = await startMerchantEndpoint(SECRET);
    stack = await startStack('attack-event-ids', {
      env: {
        MERCHANT_WEBHOOK_URL: endpoint.url,
        MERCHANT_WEBHOOK_SECRET: SECRET,
        MERCHANT_WEBHOOK_BACKOFF_MS: '20',
        MERCHANT_WEBHOOK_ATTEMPTS: '3',
      },
    });
    events = new Queue(MERCHANT_EVENT_QUEUE, { connection: stack.redis, prefix: stack.prefix });
  });
  afterAll(async () => {
    await events?.close();
    await stack?.close();
    await endpoint?.close();
  });

  it('gives one state change of one deposit one webhook-id, whatever Redis forgot', async () => {
    const wallet = stack.sim.createWallet(stack.account.accountId);
    await createWalletStore(stack.redis, stack.keys).adopt({
      id: 'w-cust-eve',
      externalId: 'cust-eve',
      name: 'Eve',
      walletId: wallet.id,
      accountId: stack.account.accountId,
      mode: 'mor',
      now: Date.now(),
    });
    const depositId = stack.sim.creditDeposit({
      walletId: wallet.id,
      currency: 'USDC',
      amount: '25',
      status: 'CLOSED',
    }).id;
    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    const first = await endpoint.delivered(
      (b) => b.type === 'deposit.swept' && b.data.deposit_id === depositId,
    );

    // Redis comes back without this deposit's writes (as from a backup taken before its notification).
    const { keys } = stack;
    await stack.redis.del(
      keys.deposit(depositId),
      keys.depositNotifications(depositId),
      keys.depositAttempts(depositId),
    );
    await stack.redis.hdel(keys.sweptIds(depositId), depositId);
    await stack.redis.hdel(keys.transferFirstAttempts(depositId), depositId);
    await stack.sweepQueue.remove(sweepJobId(depositId));

    // Interlace redelivers (or an operator runs `ops events replay` to rebuild the ledger).
    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    // One transfer moved the money (Interlace's idempotency held): the deposit was swept once.
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    // Every event relayed and delivered.
    await vi.waitFor(async () => {
      expect(await stack.redis.xlen(keys.merchantOutbox)).toBe(0);
      const counts = await events.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
      expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
    }, WAIT);

    const sweptIds = endpoint.deliveries
      .filter(
        (d) =>
          d.status < 300 && d.verified?.type === 'deposit.swept' && d.verified.data.deposit_id === depositId,
      )
      .map((d) => d.headers['webhook-id']);
    // What a merchant deduplicating on webhook-id (as the docs say) sees: one deposit.swept.
    expect(new Set(sweptIds)).toEqual(new Set([first.headers['webhook-id']]));
  });
});
