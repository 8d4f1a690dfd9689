import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { Redis } from 'ioredis';
import { startApi, type Api } from '../../src/server.js';
import { createPayout } from '../../src/payouts/payout-commands.js';
import { payoutStepId } from '../../src/payouts/payout-ids.js';
import { INGEST_GROUP } from '../../src/webhooks/ingest-log.js';
import { viewWithdrawal } from '../../simulator/withdraw.js';
import { startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack round 5 (chunks of 5): one withdrawal's Pending, ON_HOLD and Closed (a KYA hold released) in one
// batch of 15, each in another chunk (indexes 3 | 6 | 11: two boundaries between them), with deposits
// around them. The chain of the resource runs across both boundaries. Run twice: in order, and with the
// ON_HOLD's first store failing (a Redis error), so the chain goes on to Closed and ON_HOLD is stored
// after it on the retry. Invariant: the payout ends confirmed (the money is at the destination), one
// withdrawal, no refund (a refund of a confirmed payout would pay the money out twice).

let stack: PayoutStack;
let second: Api | undefined;
beforeAll(async () => {
  stack = await startPayoutStack('attack5-payout-three', {
    env: { INGEST_BATCH_SIZE: '50', INGEST_MAX_FAILURES: '1000' },
    simulator: { withdrawConfirmMs: 600_000 },
  });
  stack.sim.afterDelivery = undefined;
  // Interlace's withdrawal notifications are sent by the test, in one batch.
  stack.sim.setWebhookUrl(undefined);
});
afterAll(async () => {
  vi.restoreAllMocks();
  await second?.close();
  await stack?.close();
});

async function runRound(round: string, failOnHoldOnce: boolean) {
  const { payout } = await createPayout(stack.commands, stack.request(`three-${round}`), 'test');
  await vi.waitFor(async () => expect((await stack.payouts.get(payout.payoutId))?.state).toBe('sent'), {
    timeout: 15_000,
    interval: 20,
  });
  const sendKey = payoutStepId(payout.payoutId, 'send');
  const withdrawal = stack.sim.withdrawals().find((w) => w.idempotencyKey === sendKey)!;
  const eventType = stack.config.payout.eventTypes[0]!;
  const notice = (status: string) =>
    stack.sim.buildRawNotification(eventType, { ...viewWithdrawal(withdrawal), status });

  const receiver = second ?? stack.api;
  await receiver.ingest.close();
  const fillers = Array.from({ length: 12 }, (_, i) => stack.deposit(String(40 + i)));
  let filler = 0;
  const plan = Array.from({ length: 15 }, (_, index) =>
    index === 3
      ? notice('Pending')
      : index === 6
        ? notice('ON_HOLD')
        : index === 11
          ? notice('Closed')
          : undefined,
  );
  for (const built of plan) {
    const answer = built
      ? await stack.sim.postNotification(stack.webhookUrl, built)
      : await stack.notify(fillers[filler++]!);
    expect(answer.status).toBe(200);
  }

  // The ON_HOLD's lookup of its payout (the second one of the chain) fails once with a Redis error.
  let lookups = 0;
  const get = Redis.prototype.get;
  if (failOnHoldOnce)
    vi.spyOn(Redis.prototype, 'get').mockImplementation(async function (this: Redis, ...args: unknown[]) {
      if (args[0] === stack.keys.payoutByWithdrawKey(sendKey) && ++lookups === 2) {
        const error = new Error('ERR injected: the ON_HOLD entry fails once');
        error.name = 'ReplyError';
        throw error;
      }
      return (get as (...a: unknown[]) => Promise<string | null>).apply(this, args);
    });

  const previous = second;
  second = await startApi(stack.config, stack.logger);
  await previous?.close();
  await second.ingest.caughtUp(20_000);
  vi.restoreAllMocks();
  if (failOnHoldOnce) expect(lookups).toBeGreaterThanOrEqual(3);

  const record = await stack.payouts.get(payout.payoutId);
  expect(record).toMatchObject({ state: 'confirmed' });
  expect(stack.committedFor(payout.payoutId, 'send')).toHaveLength(1);
  expect(stack.committedFor(payout.payoutId, 'refund')).toHaveLength(0);
  expect(await stack.redis.xpending(stack.keys.events, INGEST_GROUP)).toEqual([0, null, null, null]);
}

it("a withdrawal's Pending, ON_HOLD and Closed across two chunk boundaries: confirmed, never refunded", async () => {
  await runRound('in-order', false);
}, 60_000);

it('the same with the ON_HOLD failing once mid-chain (stored after Closed): still confirmed', async () => {
  await runRound('on-hold-fails', true);
}, 60_000);
