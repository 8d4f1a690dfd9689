import { afterEach, expect, it } from 'vitest';
import { createPayout } from '../../src/payouts/payout-commands.js';
import { runReconcile } from '../../src/reconcile/run-reconcile.js';
import { Decimal } from '../../src/sweep/decimal.js';
import { cli } from '../ops/cli-harness.js';
import { reconcileDeps } from '../reconcile/helpers.js';
import { PAYOUT_ACCOUNT, PAYOUT_WALLET, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack review A (reconcile sweep): a dead operator sweep (`reconcile-…`) explains none of the balance
// (by design: its money is still there), so the next report lists the same money again and the operator
// sweeps it under another reference: a second deposit for the same money. The dead one stays in the dead
// letters; `dlq replay` (or `sweep enqueue`) later sends it again with nothing re-checked, and it moves
// whatever the wallet holds by then: here a payout's reserved stablecoin. The same unexplained 5 USDC
// is "moved" twice.
// Fixed (fix-money): a new operator sweep is refused while a dead one of that wallet and currency exists
// (decideOperatorSweep: dead-operator-sweep), and the sweep worker re-checks every operator sweep against
// the live balance right before its transfer (recheckOperatorSweep), whoever queued it. The money here
// leaves another way (its own late notification is swept), and the replay of the dead one is held.

let stack: PayoutStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const balance = (s: PayoutStack, currency: string) =>
  s.sim.wallet(PAYOUT_WALLET)?.balances.find((b) => b.currency === currency)?.available ?? '0';

async function reconcileNow(s: PayoutStack) {
  const reconcile = reconcileDeps(s);
  reconcile.accountIds.push(PAYOUT_ACCOUNT);
  return runReconcile(reconcile.deps).finally(() => reconcile.close());
}

it('a dead operator sweep, re-swept under another reference, is never replayed onto money it does not own', async () => {
  const s = await startPayoutStack('attack-a-dead-resweep', {
    env: { PAYOUT_ATTEMPTS: '1', RECONCILE_ENABLED: 'false' },
  });
  stack = s;
  const ops = (...argv: string[]) => cli({ ...s.env }, '--operator', 'mallory', '--json', ...argv);
  const credit = s.sim.creditDeposit({ walletId: PAYOUT_WALLET, currency: 'USDC', amount: '5' }).id;
  expect((await reconcileNow(s)).discrepancies).toEqual([
    expect.objectContaining({ walletId: PAYOUT_WALLET, currency: 'USDC', unexplained: '5' }),
  ]);

  // The operator's sweep is refused permanently by Interlace: a dead letter.
  s.failTransfers('010021', 1);
  const first = await ops('reconcile', 'sweep', PAYOUT_WALLET, 'USDC', '5');
  expect(first.code).toBe(0);
  const a = first.json<{ depositId: string }>().depositId;
  await s.settled(a);
  expect(await s.record(a)).toMatchObject({ state: 'dead' });

  // The next report lists the 5 USDC again; a second operator's sweep of it under their ticket is
  // refused while the first one is dead (its replay could move the same money again).
  expect((await reconcileNow(s)).discrepancies).toEqual([
    expect.objectContaining({ walletId: PAYOUT_WALLET, currency: 'USDC', unexplained: '5' }),
  ]);
  const second = await ops('reconcile', 'sweep', PAYOUT_WALLET, 'USDC', '5', '--reference', 'TICKET-2');
  expect(second.code).toBe(1);
  expect(second.err).toMatch(/dead-operator-sweep/);
  expect(second.err).toContain(a);

  // The money leaves another way: Interlace's late notification of that deposit is swept.
  await s.notify(credit);
  await s.settled(credit);
  expect(await s.record(credit)).toMatchObject({ state: 'swept' });
  expect(balance(s, 'USDC')).toBe('0');

  // A payout converts; its step 5 gets no answer: its USDC is reserved in the wallet.
  s.sim.faults.enqueue('withdraw', 'http-503');
  const p = (await createPayout(s.commands, s.request('dead-resweep-1'), 'test')).payout.payoutId;
  const held = await s.finished(p);
  expect(held).toMatchObject({ state: 'held', stage: 'converted', doubt: 'send' });

  // The first operator works through the dead letters.
  const replay = await ops('dlq', 'replay', a);
  expect(replay.code).toBe(0);
  // The worker's live re-check holds it: nothing unexplained is left to move.
  await expect.poll(async () => (await s.record(a)).state, { timeout: 15_000 }).toBe('held');
  expect((await s.record(a)).reason).toMatch(/re-checked before the transfer \(above-unexplained\)/);

  // The payout's stablecoin is still in the wallet, and the unexplained 5 USDC moved once.
  expect(new Decimal(balance(s, 'USDC')).gte(held.boughtAmount!)).toBe(true);
  const moved = s.sim
    .transfers()
    .filter((t) => (t.request as { from?: { id?: string } }).from?.id === PAYOUT_WALLET);
  expect(moved).toHaveLength(1);
});
