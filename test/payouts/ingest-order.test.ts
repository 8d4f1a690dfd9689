import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createPayout } from '../../src/payouts/payout-commands.js';
import { startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Found by the chaos soak (seed 2) once the receiver answered before storing: a withdrawal's Pending and
// Closed notifications, acknowledged back to back, reached the ingest consumer in one batch while the
// payout was still `converted` (its step-5 answer lost, the retry not yet made). Stored side by side,
// both read `converted`: Pending moved the payout to `sent`, Closed found nothing to confirm, and the
// payout was held for a confirmation that had come. One resource's entries are stored in order.

let stack: PayoutStack;
beforeAll(async () => {
  stack = await startPayoutStack('ingest-order', {
    // Both notifications land in one batch: it gathers for 300 ms, and Closed follows Pending at once.
    env: { INGEST_BATCH_WAIT_MS: '300' },
    simulator: { withdrawConfirmMs: 0 },
  });
  stack.sim.afterDelivery = undefined;
});
afterAll(async () => {
  await stack?.close();
});

describe("ingest of one withdrawal's notifications arriving together", () => {
  it('stores them in order: the payout is confirmed, not held', async () => {
    // Step 5 commits at Interlace, then its answer is lost: the payout is `converted` while they arrive.
    stack.sim.faults.enqueue('withdraw', { kind: 'timeout-after-commit', delayMs: 1_500 });
    const closed = stack.delivered('Closed');
    const { payout } = await createPayout(stack.commands, stack.request('order-1'), 'test');

    await closed;
    await stack.api.ingest.caughtUp();
    await vi.waitFor(
      async () => expect((await stack.payouts.get(payout.payoutId))?.state).toMatch(/confirmed|held/),
      { timeout: 15_000, interval: 50 },
    );
    expect(await stack.payouts.get(payout.payoutId)).toMatchObject({ state: 'confirmed' });
    expect(stack.committedFor(payout.payoutId, 'send')).toHaveLength(1);
  });
});
