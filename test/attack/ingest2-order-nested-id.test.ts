import { afterAll, beforeAll, expect, it } from 'vitest';
import { viewWithdrawal } from '../../simulator/withdraw.js';
import { payoutWithLostSendAnswer, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack round 2 (ingest stream): processBatch chains the entries of one resource by resourceKey, the
// first "id" key in the resource string (not parsed). A notification whose resource carries a nested
// object with an "id" before its own "id" gets another key than its sibling: a Closed that brings a
// nested record (a chain transaction, a fee, a compliance case: Interlace's resource shape is an
// assumption, API-NOTES §8) is chained apart from its Pending, and the two are stored side by side in one
// batch of one receiver, as in chaos seed 2 (test/payouts/ingest-order.test.ts): both read `converted`,
// Pending moves the payout to `sent`, Closed finds nothing to confirm and is acknowledged; the payout
// waits for a confirmation that has come.

let stack: PayoutStack;
beforeAll(async () => {
  stack = await startPayoutStack('attack2-order-nested-id', {
    // The chain confirms when the test says.
    simulator: { withdrawConfirmMs: 600_000 },
  });
  stack.sim.afterDelivery = undefined;
  // Interlace's notifications are sent by the test, at the moment it chooses.
  stack.sim.setWebhookUrl(undefined);
});
afterAll(async () => {
  await stack?.close();
});

it("one receiver stores a withdrawal's Pending and Closed in order whatever nested ids its resources carry", async () => {
  const outcomes: string[] = [];
  for (let round = 0; round < 10; round += 1) {
    // Step 5 commits at Interlace, then its answer is lost: the payout is `converted` meanwhile.
    const { payout, committed } = await payoutWithLostSendAnswer(stack, `order-two-${round}`);
    const pending = viewWithdrawal(committed);
    const closedView = viewWithdrawal(stack.sim.setWithdrawalStatus(committed.id, 'Closed'));
    // The Closed resource opens with a nested record that has an id of its own.
    const closed = { chainTransaction: { id: closedView.transactionHash }, ...closedView };
    const eventType = stack.config.payout.eventTypes[0]!;
    // Pending, then Closed a moment later (the chain confirmed at once), to the one receiver.
    const first = stack.sim.postNotification(
      stack.webhookUrl,
      stack.sim.buildRawNotification(eventType, pending),
    );
    const then = stack.sim.postNotification(
      stack.webhookUrl,
      stack.sim.buildRawNotification(eventType, closed),
    );
    expect((await first).status).toBe(200);
    expect((await then).status).toBe(200);
    await stack.api.ingest.caughtUp();
    // The step-5 retry reads what the notifications left.
    await stack.finished(payout.payoutId);
    outcomes.push((await stack.payouts.get(payout.payoutId))!.state);
  }
  // The interleaving is a race (about one round in four lands Pending's move first): ten rounds.
  expect(outcomes.filter((state) => state !== 'confirmed')).toEqual([]);
}, 90_000);
