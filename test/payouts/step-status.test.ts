import { afterEach, describe, expect, it } from 'vitest';
import { createPayout, refundPayout } from '../../src/payouts/payout-commands.js';
import { PAYOUT_WALLET, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack review round 2, item 4: what an ANSWERED step 1, trade or refund means is decided by allow-list
// (judgeStepStatus): a success status is done, a listed failure status is a refusal (nothing moved),
// anything else holds the payout with the step in doubt. The simulator forces each status end to end
// (a `transfer-status` fault on the transfer or trade endpoint).

let stack: PayoutStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const walletUsd = (s: PayoutStack) =>
  s.sim.wallet(PAYOUT_WALLET)?.balances.find((b) => b.currency === 'USD')?.available ?? '0';

describe('step 1 (funding) answered with a status', () => {
  it.each([
    // [status, commit, state, doubt]
    ['PROCESSING', true, 'held', 'fund'],
    ['PENDING', false, 'held', 'fund'],
    ['SOMETHING_NEW', true, 'held', 'fund'],
    ['REJECTED', false, 'failed', undefined],
  ] as const)('%s (moved: %s) → %s, doubt %s', async (status, commit, state, doubt) => {
    const s = await startPayoutStack(`step-status-fund-${status}`, { env: { PAYOUT_ATTEMPTS: '1' } });
    stack = s;
    s.sim.faults.enqueue('transfer', { kind: 'transfer-status', status, commit });
    const { payout } = await createPayout(s.commands, s.request(`fund-${status}`), 'test');
    const after = await s.finished(payout.payoutId);
    expect(after).toMatchObject({ state, stage: 'none' });
    expect(after.doubt || undefined).toBe(doubt);
    expect(s.committedFor(payout.payoutId, 'convert')).toHaveLength(0);
    if (state === 'held') {
      // Whatever moved stays the payout's: reserved, and no refund while step 1 is in doubt.
      expect(await s.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({ USD: '10' });
      await expect(refundPayout(s.commands, payout.payoutId, 'alice')).rejects.toThrow(/in doubt/);
    } else {
      expect(walletUsd(s)).toBe('0');
      expect(await s.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({});
    }
  });
});

describe('step 3 (the trade) answered with a status', () => {
  it.each([
    ['PROCESSING', true, 'held', 'convert'],
    ['SOMETHING_NEW', false, 'held', 'convert'],
    ['REJECTED', false, 'failed', undefined],
  ] as const)('%s (moved: %s) → %s, doubt %s', async (status, commit, state, doubt) => {
    const s = await startPayoutStack(`step-status-trade-${status}`, { env: { PAYOUT_ATTEMPTS: '1' } });
    stack = s;
    s.sim.faults.enqueue('trade', { kind: 'transfer-status', status, commit });
    const { payout } = await createPayout(s.commands, s.request(`trade-${status}`), 'test');
    const after = await s.finished(payout.payoutId);
    expect(after).toMatchObject({ state, stage: 'funded' });
    expect(after.doubt || undefined).toBe(doubt);
    expect(after.boughtAmount).toBeUndefined();
    expect(s.committedFor(payout.payoutId, 'send')).toHaveLength(0);
  });
});

describe('the refund answered with a status', () => {
  it.each([
    ['PROCESSING', true, 'held', 'refund'],
    ['SOMETHING_NEW', false, 'held', 'refund'],
    ['FAILED', false, 'failed', undefined],
    ['REJECTED', false, 'failed', undefined],
  ] as const)('%s (moved: %s) → %s, doubt %s', async (status, commit, state, doubt) => {
    const s = await startPayoutStack(`step-status-refund-${status}`);
    stack = s;
    s.sim.faults.enqueue('trade', 'trade-failed');
    const { payout } = await createPayout(s.commands, s.request(`refund-${status}`), 'test');
    expect(await s.finished(payout.payoutId)).toMatchObject({ state: 'failed', stage: 'funded' });

    s.sim.faults.enqueue('transfer', { kind: 'transfer-status', status, commit });
    await refundPayout(s.commands, payout.payoutId, 'alice');
    const after = await s.finished(payout.payoutId, 'refund');
    expect(after.state).toBe(state);
    expect(after.doubt || undefined).toBe(doubt);
    // Never recorded refunded: the reservation stays until an answer proves the money left.
    expect(await s.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({ USD: '10' });
    if (!commit) expect(walletUsd(s)).toBe('10');
  });
});
