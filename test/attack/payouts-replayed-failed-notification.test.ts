import { afterEach, expect, it } from 'vitest';
import { createPayout, refundPayout } from '../../src/payouts/payout-commands.js';
import { startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack review A (notification routing): a blockchain transfer's `Failed` notification is
// `transfer-failed`, which moves a HELD payout to failed and settles doubt (SETTLES_DOUBT), whatever
// step the doubt was about. A payout held because its REFUND is in doubt (the refund may have moved the
// stablecoin back to Infinity) is turned into `failed`, "stablecoin in the CryptoConnect wallet", no
// doubt, by Interlace's redelivery of the old step-5 notification; `payouts
// refund` is then accepted although the refund step is in doubt (attack review row 1's guard, bypassed).

let stack: PayoutStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

it('a replayed step-5 Failed notification does not settle a refund in doubt', async () => {
  const s = await startPayoutStack('attack-a-replayed-failed', { env: { PAYOUT_ATTEMPTS: '1' } });
  stack = s;
  s.sim.faults.enqueue('withdraw', 'withdraw-failed');
  const failedNotice = s.delivered('Failed');
  const { payout } = await createPayout(s.commands, s.request('replayed-failed-1'), 'test');
  await s.finished(payout.payoutId);
  await failedNotice;
  await expect.poll(async () => (await s.payouts.get(payout.payoutId))?.state).toBe('failed');

  // The refund commits at Interlace, its answer is lost: held, the refund in doubt.
  s.sim.faults.enqueue('transfer', 'reset-after-commit');
  await refundPayout(s.commands, payout.payoutId, 'alice');
  expect(await s.finished(payout.payoutId, 'refund')).toMatchObject({ state: 'held', doubt: 'refund' });
  expect(s.committedFor(payout.payoutId, 'refund')).toHaveLength(1);

  // (`ops events replay` of the last hour does not reach payouts: its receiver has payouts off. But
  // Interlace redelivers a notification whose 2xx it did not see, for hours:) the step-5 Failed again.
  const [withdrawal] = s.committedFor(payout.payoutId, 'send');
  const {
    request: _r,
    replays: _p,
    debited: _d,
    arrives: _a,
    ...resource
  } = withdrawal as unknown as Record<string, unknown>;
  const again = s.sim.buildRawNotification('CRYPTO_CONNECT_TRANSFER.UPDATED', {
    ...resource,
    status: 'Failed',
  });
  expect((await s.sim.postNotification(s.webhookUrl, again)).status).toBe(200);

  expect(await s.payouts.get(payout.payoutId)).toMatchObject({ state: 'held', doubt: 'refund' });
  await expect(refundPayout(s.commands, payout.payoutId, 'mallory')).rejects.toThrow(/in doubt/);
});
