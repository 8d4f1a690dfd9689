import { afterEach, expect, it } from 'vitest';
import { createPayout, retryPayout } from '../../src/payouts/payout-commands.js';
import { runReconcile } from '../../src/reconcile/run-reconcile.js';
import { Decimal } from '../../src/sweep/decimal.js';
import { cli } from '../ops/cli-harness.js';
import { reconcileDeps } from '../reconcile/helpers.js';
import { PAYOUT_ACCOUNT, PAYOUT_WALLET, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack review A (reconcile sweep): `ops reconcile sweep` checks the amount against the LATEST REPORT's
// balance minus the reservations AS THEY ARE NOW. A payout reservation released since the report (the
// payout confirmed or refunded: its money left the wallet after that balance was read) is no longer
// subtracted, so the released amount counts as unexplained: the operator may move more than the
// unexplained money. The queued sweep then takes whatever is in the wallet when it runs: here the next
// payout's reserved stablecoin.

let stack: PayoutStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const balance = (s: PayoutStack, currency: string) =>
  s.sim.wallet(PAYOUT_WALLET)?.balances.find((b) => b.currency === currency)?.available ?? '0';

it("an operator sweep against a report older than a payout's release cannot move the next payout's reserved stablecoin", async () => {
  const s = await startPayoutStack('attack-a-stale-reservation', { env: { PAYOUT_ATTEMPTS: '1' } });
  stack = s;
  // Payout 1 converted; its step 5 got no answer (nothing committed): held, its USDC reserved in the wallet.
  s.sim.faults.enqueue('withdraw', 'http-503');
  const p1 = (await createPayout(s.commands, s.request('stale-1'), 'test')).payout.payoutId;
  const held1 = await s.finished(p1);
  expect(held1).toMatchObject({ state: 'held', stage: 'converted', doubt: 'send' });
  const bought1 = held1.boughtAmount!;
  // Plus 5 USDC nobody explains.
  s.sim.creditDeposit({ walletId: PAYOUT_WALLET, currency: 'USDC', amount: '5' });

  const reconcile = reconcileDeps(s);
  reconcile.accountIds.push(PAYOUT_ACCOUNT);
  const report = await runReconcile(reconcile.deps).finally(() => reconcile.close());
  const entry = report.discrepancies.find((d) => d.walletId === PAYOUT_WALLET && d.currency === 'USDC');
  expect(entry).toMatchObject({ unexplained: '5', reserved: bought1 });

  // Payout 1 resumes and is confirmed: its stablecoin leaves, its reservation is released.
  const closed = s.delivered('Closed');
  await retryPayout(s.commands, p1, 'alice');
  await closed;
  await expect.poll(async () => (await s.payouts.get(p1))?.state, { timeout: 15_000 }).toBe('confirmed');
  expect(balance(s, 'USDC')).toBe('5');

  // The sweep queue is paused (an operator, or a 429). The operator moves "the unexplained balance" as
  // the old report's numbers allow: 5 + what payout 1 had reserved.
  await s.sweepQueue.pause();
  const asked = new Decimal(5).plus(bought1).toFixed();
  const sweep = await cli(
    { ...s.env },
    'reconcile',
    'sweep',
    PAYOUT_WALLET,
    'USDC',
    asked,
    '--json',
    '--operator',
    'mallory',
  );

  // Meanwhile payout 2 converts; its step 5 gets no answer: its USDC is reserved in the wallet.
  s.sim.faults.enqueue('withdraw', 'http-503');
  const p2 = (await createPayout(s.commands, s.request('stale-2'), 'test')).payout.payoutId;
  const held2 = await s.finished(p2);
  expect(held2).toMatchObject({ state: 'held', stage: 'converted', doubt: 'send' });
  expect(await s.payouts.reserved(PAYOUT_WALLET, ['USDC'])).toEqual({ USDC: held2.boughtAmount });

  await s.sweepQueue.resume();
  if (sweep.code === 0) await s.settled(sweep.json<{ depositId: string }>().depositId);

  // Payout 2's stablecoin must still be in the wallet (its record says so; its step 5 needs it).
  expect(new Decimal(balance(s, 'USDC')).gte(held2.boughtAmount!)).toBe(true);
  // And the command must not accept more than the money nothing explains (5 USDC).
  expect(sweep.code).toBe(1);
  expect(sweep.err).toMatch(/above-unexplained/);
});

it('an operator CLI without Interlace credentials uses the report only while the reservations are as it saw them', async () => {
  const s = await startPayoutStack('attack-a-stale-no-creds', { env: { PAYOUT_ATTEMPTS: '1' } });
  stack = s;
  s.sim.faults.enqueue('withdraw', 'http-503');
  const p1 = (await createPayout(s.commands, s.request('stale-nc-1'), 'test')).payout.payoutId;
  expect(await s.finished(p1)).toMatchObject({ state: 'held', doubt: 'send' });
  s.sim.creditDeposit({ walletId: PAYOUT_WALLET, currency: 'USDC', amount: '5' });
  const reconcile = reconcileDeps(s);
  reconcile.accountIds.push(PAYOUT_ACCOUNT);
  await runReconcile(reconcile.deps).finally(() => reconcile.close());

  const noCredentials = { ...s.env, INTERLACE_CLIENT_ID: undefined, INTERLACE_CLIENT_SECRET: undefined };
  const sweep = (env: Record<string, string | undefined>) =>
    cli(env, 'reconcile', 'sweep', PAYOUT_WALLET, 'USDC', '5', '--dry-run', '--json', '--operator', 'bob');
  // Reservations unchanged since the report: its balance is used.
  expect((await sweep(noCredentials)).code).toBe(0);

  // Payout 1 is confirmed: its reservation is released after the report read the balance.
  const closed = s.delivered('Closed');
  await retryPayout(s.commands, p1, 'alice');
  await closed;
  await expect.poll(async () => (await s.payouts.get(p1))?.state, { timeout: 15_000 }).toBe('confirmed');
  const refused = await sweep(noCredentials);
  expect(refused.code).toBe(1);
  expect(refused.err).toMatch(/reservations-changed/);
  // With credentials the balance is read now: the 5 unexplained USDC may go.
  expect((await sweep({ ...s.env })).code).toBe(0);
});
