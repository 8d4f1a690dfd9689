import { afterAll, beforeAll, expect, it } from 'vitest';
import { startApi, type Api } from '../../src/server.js';
import { viewWithdrawal } from '../../simulator/withdraw.js';
import { payoutWithLostSendAnswer, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack round 2 (ingest stream): one resource's entries are stored in order only inside one batch of one
// consumer (processBatch chains them). Every receiver runs a consumer of the group, and XREADGROUP hands
// consecutive entries to different blocked consumers: the first goes to one (which then waits
// INGEST_BATCH_WAIT_MS for more), the next to another one still blocked. A withdrawal's Pending and
// Closed acknowledged within a millisecond or two of each other (here: to two receivers behind the load
// balancer) are then stored side by side again, as in chaos seed 2 (test/payouts/ingest-order.test.ts):
// both read `converted`, Pending moves the payout to `sent`, Closed finds nothing to confirm and is
// acknowledged, and the payout waits for a confirmation that has come (held after
// PAYOUT_CONFIRM_TIMEOUT_MS, its stablecoin already at the destination).

let stack: PayoutStack;
let second: Api;
beforeAll(async () => {
  stack = await startPayoutStack('attack2-order-two', {
    // The chain confirms when the test says.
    simulator: { withdrawConfirmMs: 600_000 },
  });
  stack.sim.afterDelivery = undefined;
  // Interlace's notifications are sent by the test, at the moment it chooses.
  stack.sim.setWebhookUrl(undefined);
  second = await startApi(stack.config, stack.logger);
});
afterAll(async () => {
  await second?.close();
  await stack?.close();
});

it("two receivers store one withdrawal's Pending and Closed in order: the payout is confirmed", async () => {
  const outcomes: string[] = [];
  for (let round = 0; round < 10; round += 1) {
    // Step 5 commits at Interlace, then its answer is lost: the payout is `converted` meanwhile.
    const { payout, committed } = await payoutWithLostSendAnswer(stack, `order-two-${round}`);
    const pending = viewWithdrawal(committed);
    const closed = viewWithdrawal(stack.sim.setWithdrawalStatus(committed.id, 'Closed'));
    const eventType = stack.config.payout.eventTypes[0]!;
    // Pending, then Closed a moment later (the chain confirmed at once), one to each receiver.
    const first = stack.sim.postNotification(
      stack.webhookUrl,
      stack.sim.buildRawNotification(eventType, pending),
    );
    const then = stack.sim.postNotification(
      `${second.url}/webhooks/interlace`,
      stack.sim.buildRawNotification(eventType, closed),
    );
    expect((await first).status).toBe(200);
    expect((await then).status).toBe(200);
    await stack.api.ingest.caughtUp();
    await second.ingest.caughtUp();
    // The step-5 retry reads what the notifications left.
    await stack.finished(payout.payoutId);
    outcomes.push((await stack.payouts.get(payout.payoutId))!.state);
  }
  // The interleaving is a race (about one round in four lands Pending's move first): ten rounds.
  expect(outcomes.filter((state) => state !== 'confirmed')).toEqual([]);
}, 90_000);
