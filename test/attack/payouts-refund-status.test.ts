import { afterEach, expect, it } from 'vitest';
import { createPayout, refundPayout } from '../../src/payouts/payout-commands.js';
import { PAYOUT_WALLET, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack review A (payout step answers): step 1 and the refund count ANY status but the literal "FAIL"
// as done (workers/payout-processor.ts callStep: `transfer.status === 'FAIL'`), where the sweep counts
// only SWEEP_TRANSFER_SUCCESS_STATUSES (CLOSED) and rejects FAILED, REJECTED and anything new. A refund
// answered REJECTED (nothing moved) is recorded `refunded`: final, "the money is back in Infinity", its
// reservation released, while the USD is still in the CryptoConnect wallet. Nothing will ever bring it
// back, and reconciliation now sees it as nobody's money.

let stack: PayoutStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const walletUsd = (s: PayoutStack) =>
  s.sim.wallet(PAYOUT_WALLET)?.balances.find((b) => b.currency === 'USD')?.available ?? '0';

it('a refund Interlace answers REJECTED (nothing moved) is never recorded as refunded', async () => {
  const s = await startPayoutStack('attack-a-refund-status');
  stack = s;
  s.sim.faults.enqueue('trade', 'trade-failed');
  const { payout } = await createPayout(s.commands, s.request('refund-status-1'), 'test');
  expect(await s.finished(payout.payoutId)).toMatchObject({ state: 'failed', stage: 'funded' });
  expect(walletUsd(s)).toBe('10');

  s.sim.faults.enqueue('transfer', { kind: 'transfer-status', status: 'REJECTED', commit: false });
  await refundPayout(s.commands, payout.payoutId, 'alice');
  const after = await s.finished(payout.payoutId, 'refund');

  // The USD never left the wallet...
  expect(walletUsd(s)).toBe('10');
  expect(s.committedFor(payout.payoutId, 'refund')).toHaveLength(0);
  // ...so the payout must not say it is back in Infinity, and its reservation must stay.
  expect(after.state).not.toBe('refunded');
  expect(await s.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({ USD: '10' });
});
