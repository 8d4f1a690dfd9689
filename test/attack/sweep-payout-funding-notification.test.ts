import { afterEach, expect, it } from 'vitest';
import { createPayout } from '../../src/payouts/payout-commands.js';
import { PAYOUT_ACCOUNT, PAYOUT_WALLET, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack review A (sweep vs payouts): the sweep never asks whether a deposit's money is a payout's.
// If Interlace notifies the step-1 internal transfer into the CryptoConnect wallet as a CryptoConnect
// transfer IN (what it sends for an internal transfer is not documented, API-NOTES §6), the deposit path
// takes it as a credited USD deposit (USD is in SWEEP_CURRENCIES by default) and sweeps the payout's
// reserved USD straight back to Infinity while the payout says it is in the wallet. Condition: the payout
// wallet's deposits are swept (UNKNOWN_WALLET_DEPOSITS=sweep, as in the tests, or a wallet the service
// created). Reconciliation trusts the same notification ("USD that a deposit notification explains").

let stack: PayoutStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const walletUsd = (s: PayoutStack) =>
  s.sim.wallet(PAYOUT_WALLET)?.balances.find((b) => b.currency === 'USD')?.available ?? '0';

it("a deposit notification for a payout's step-1 USD never sweeps the payout's reserved money", async () => {
  const s = await startPayoutStack('attack-a-funding-notice', { env: { PAYOUT_ATTEMPTS: '1' } });
  stack = s;
  // The trade gets no answer: the payout is held with its 10 USD in the wallet, reserved.
  s.sim.faults.enqueue('trade', 'http-503');
  const { payout } = await createPayout(s.commands, s.request('funding-notice-1'), 'test');
  const held = await s.finished(payout.payoutId);
  expect(held).toMatchObject({ state: 'held', stage: 'funded', doubt: 'convert' });
  expect(walletUsd(s)).toBe('10');
  expect(await s.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({ USD: '10' });

  // Interlace's signed notification of the internal transfer that funded the wallet.
  const depositId = held.fundingTransferId!;
  const notification = s.sim.buildRawNotification('CRYPTO_CONNECT_TRANSFER.UPDATED', {
    id: depositId,
    accountId: PAYOUT_ACCOUNT,
    walletId: PAYOUT_WALLET,
    direction: 'IN',
    currency: 'USD',
    amount: '10',
    status: 'CLOSED',
  });
  expect((await s.sim.postNotification(s.webhookUrl, notification)).status).toBe(200);
  const record = await s.record(depositId).catch(() => undefined);
  if (record?.state === 'queued' || record?.state === 'sweeping') await s.settled(depositId);

  // The payout's USD is still where the payout says it is.
  expect(walletUsd(s)).toBe('10');
  // Fixed (fix-money): the sweep worker holds it (payoutMoneyCheck), with the reason.
  expect(await s.record(depositId)).toMatchObject({ state: 'held' });
  expect((await s.record(depositId)).reason).toMatch(/^re-checked|payout-funds: /);
});

it("a deposit notification naming a payout's step-1 transfer is held even once no USD is reserved", async () => {
  const s = await startPayoutStack('attack-a-funding-notice-late');
  stack = s;
  const { payout } = await createPayout(s.commands, s.request('funding-notice-2'), 'test');
  await expect
    .poll(async () => (await s.payouts.get(payout.payoutId))?.stage, { timeout: 15_000 })
    .toMatch(/^(sent|confirmed)$/);
  expect(await s.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({});
  const depositId = (await s.payouts.get(payout.payoutId))!.fundingTransferId!;
  const notification = s.sim.buildRawNotification('CRYPTO_CONNECT_TRANSFER.UPDATED', {
    id: depositId,
    accountId: PAYOUT_ACCOUNT,
    walletId: PAYOUT_WALLET,
    direction: 'IN',
    currency: 'USD',
    amount: '10',
    status: 'CLOSED',
  });
  expect((await s.sim.postNotification(s.webhookUrl, notification)).status).toBe(200);
  await s.settled(depositId);
  expect(await s.record(depositId)).toMatchObject({ state: 'held' });
  expect((await s.record(depositId)).reason).toMatch(/is the transfer of payout/);
  expect(s.transfersFor(depositId)).toHaveLength(0);
});
