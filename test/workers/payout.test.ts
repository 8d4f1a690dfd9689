import { afterEach, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { ALERT_QUEUE, type AlertJobData } from '../../src/alerts/alerts.js';
import { approvePayout, createPayout, refundPayout, retryPayout } from '../../src/payouts/payout-commands.js';
import { payoutStepId } from '../../src/payouts/payout-ids.js';
import type { PayoutStep } from '../../src/policy/payout-policy.js';
import { runReconcile } from '../../src/reconcile/run-reconcile.js';
import { reconcileDeps } from '../reconcile/helpers.js';
import { PAYOUT_ACCOUNT, PAYOUT_WALLET, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

let stack: PayoutStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const usdc = (s: PayoutStack) =>
  s.sim.wallet(PAYOUT_WALLET)?.balances.find((b) => b.currency === 'USDC')?.available;
const walletUsd = (s: PayoutStack) =>
  s.sim.wallet(PAYOUT_WALLET)?.balances.find((b) => b.currency === 'USD')?.available;
const infinityUsd = (s: PayoutStack) => s.sim.infinityWallet(PAYOUT_ACCOUNT)?.available;

describe('a payout: Infinity USD -> CryptoConnect -> USDC -> the address', () => {
  it('moves 10 USD to 9.95 USDC, sends it, and is confirmed by the Closed notification', async () => {
    stack = await startPayoutStack('payout-happy');
    const closed = stack.delivered('Closed');
    const { payout } = await createPayout(stack.commands, stack.request('inv-1'), 'test');
    await stack.finished(payout.payoutId);
    await closed;

    const record = (await stack.payouts.get(payout.payoutId))!;
    expect(record).toMatchObject({
      state: 'confirmed',
      stage: 'confirmed',
      fundedAmount: '10',
      boughtAmount: '9.95',
      sentAmount: '9.95',
      gasFee: '0.2',
      arrivedAmount: '9.75',
      withdrawStatus: 'Closed',
    });
    expect(record.transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(infinityUsd(stack)).toBe('990');
    expect(usdc(stack)).toBe('0');
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD', 'USDC'])).toEqual({});
    const history = await stack.payouts.history(payout.payoutId);
    expect(history.map((h) => h.to)).toEqual([
      'requested',
      'approved',
      'funded',
      'converted',
      'sent',
      'confirmed',
    ]);
  });
});

describe('exactly once per step', () => {
  const steps: [PayoutStep, string][] = [
    ['fund', 'transfer'],
    ['convert', 'trade'],
    ['send', 'withdraw'],
  ];

  it.each(steps)(
    'resumes %s after its answer is lost (commit-then-drop): one committed call, resent with the same value',
    async (step, endpoint) => {
      stack = await startPayoutStack(`payout-drop-${step}`);
      stack.sim.faults.enqueue(endpoint as 'transfer', 'reset-after-commit');
      const closed = stack.delivered('Closed');
      const { payout } = await createPayout(stack.commands, stack.request(`drop-${step}`), 'test');
      await stack.finished(payout.payoutId);
      await closed;

      const calls = stack.stepCallsFor(payout.payoutId, step);
      expect(calls[0]?.outcome).toBe('reset');
      // Step 5's Pending notification may record it before the resend: one call is then enough.
      expect(calls.length).toBeGreaterThanOrEqual(step === 'send' ? 1 : 2);
      for (const each of ['fund', 'convert', 'send'] as const) {
        expect(stack.committedFor(payout.payoutId, each)).toHaveLength(1);
      }
      expect((await stack.payouts.get(payout.payoutId))?.state).toBe('confirmed');
      expect(infinityUsd(stack)).toBe('990');
    },
  );

  it('resends step 5 with the same idempotencyKey when no notification tells what happened', async () => {
    stack = await startPayoutStack('payout-drop-silent');
    stack.sim.setWebhookUrl(undefined);
    stack.sim.faults.enqueue('withdraw', 'reset-after-commit');
    const { payout } = await createPayout(stack.commands, stack.request('silent-1'), 'test');
    const record = await stack.finished(payout.payoutId);

    const calls = stack.stepCallsFor(payout.payoutId, 'send');
    expect(calls.map((c) => c.outcome)).toEqual(['reset', 'answered']);
    expect(stack.committedFor(payout.payoutId, 'send')).toHaveLength(1);
    // The resend's answer is the original transfer, by now Closed on chain: that confirms it.
    expect(record).toMatchObject({ state: 'confirmed', withdrawStatus: 'Closed', arrivedAmount: '9.75' });
  });

  it('never resends a step past the idempotency window: the payout is held and nothing is called', async () => {
    stack = await startPayoutStack('payout-window', { env: { PAYOUT_REQUIRE_APPROVAL: 'true' } });
    const { payout } = await createPayout(stack.commands, stack.request('old-1'), 'test');
    // As if step 1 had been sent 90 days ago and its answer never recorded.
    await stack.redis.hset(stack.keys.payout(payout.payoutId), {
      fundingId: payoutStepId(payout.payoutId, 'fund'),
      fundingCalledAt: String(Date.now() - 90 * 86_400_000),
    });
    await approvePayout(stack.commands, payout.payoutId, 'alice');
    const record = await stack.finished(payout.payoutId);

    expect(record.state).toBe('held');
    expect(record.reason).toMatch(/^idempotency-window-closed/);
    expect(stack.stepCallsFor(payout.payoutId, 'fund')).toHaveLength(0);
  });
});

describe('failures leave the money somewhere known', () => {
  it('a failed trade leaves 10 USD in the wallet; refund moves it back to Infinity with its own id', async () => {
    stack = await startPayoutStack('payout-trade-failed');
    stack.sim.faults.enqueue('trade', 'trade-failed');
    const { payout } = await createPayout(stack.commands, stack.request('tf-1'), 'test');
    const failed = await stack.finished(payout.payoutId);

    expect(failed).toMatchObject({ state: 'failed', stage: 'funded' });
    expect(failed.reason).toMatch(/^trade-failed/);
    expect(walletUsd(stack)).toBe('10');
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD', 'USDC'])).toEqual({ USD: '10' });
    const { body: metrics } = await stack.workers!.metrics.render();
    expect(metrics).toMatch(/isweep_payout_money_in_flight\{currency="USD"\} 10/);
    expect(metrics).toMatch(/isweep_payouts\{state="failed"\} 1/);
    expect(metrics).toMatch(/isweep_payout_step_seconds_count\{step="fund",outcome="success"\} 1/);

    await refundPayout(stack.commands, payout.payoutId, 'alice');
    const refunded = await stack.finished(payout.payoutId, 'refund');
    expect(refunded).toMatchObject({ state: 'refunded', stage: 'refunded', refundedAmount: '9.95' });
    expect(stack.committedFor(payout.payoutId, 'refund')).toHaveLength(1);
    expect(walletUsd(stack)).toBe('0');
    expect(infinityUsd(stack)).toBe('999.95');
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD', 'USDC'])).toEqual({});
  });

  it('holds an ON_HOLD transfer for an operator and never retries it', async () => {
    stack = await startPayoutStack('payout-on-hold');
    stack.sim.faults.enqueue('withdraw', 'withdraw-on-hold');
    const held = stack.delivered('ON_HOLD');
    const { payout } = await createPayout(stack.commands, stack.request('hold-1'), 'test');
    await stack.finished(payout.payoutId);
    await held;

    const record = (await stack.payouts.get(payout.payoutId))!;
    expect(record).toMatchObject({ state: 'held', stage: 'sent', onHold: '1' });
    await expect(retryPayout(stack.commands, payout.payoutId, 'alice')).rejects.toThrow(/never retried/);
    await expect(refundPayout(stack.commands, payout.payoutId, 'alice')).rejects.toThrow(/ON_HOLD/);
    expect(stack.stepCallsFor(payout.payoutId, 'send')).toHaveLength(1);
  });

  it('holds a payout whose transfer stays Pending past the bounded wait, and alerts', async () => {
    stack = await startPayoutStack('payout-stalled', {
      env: { PAYOUT_CONFIRM_TIMEOUT_MS: '1000', ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/alerts' },
    });
    stack.sim.faults.enqueue('withdraw', 'withdraw-stuck');
    const { payout } = await createPayout(stack.commands, stack.request('stuck-1'), 'test');
    const sent = await stack.finished(payout.payoutId);
    expect(sent.state).toBe('sent');
    const record = await stack.finished(payout.payoutId, 'confirm-check');

    expect(record.state).toBe('held');
    expect(record.reason).toMatch(/^stalled/);
    const alerts = new Queue<AlertJobData>(ALERT_QUEUE, { connection: stack.redis, prefix: stack.prefix });
    const jobs = await alerts.getJobs(['waiting', 'active', 'delayed', 'failed', 'completed']);
    await alerts.close();
    expect(jobs.map((j) => j.data.message.text).join('\n')).toMatch(
      /Payout .* is held: 9\.95 USDC is at in-transit/,
    );

    // The Closed that finally comes still confirms it.
    const closed = stack.delivered('Closed');
    stack.sim.setWithdrawalStatus(stack.sim.withdrawals()[0]!.id, 'Closed');
    await closed;
    expect((await stack.payouts.get(payout.payoutId))?.state).toBe('confirmed');
  });
});

describe('controls', () => {
  it('waits for an operator when approval is required, and moves no money before', async () => {
    stack = await startPayoutStack('payout-approval', { env: { PAYOUT_REQUIRE_APPROVAL: 'true' } });
    const { payout } = await createPayout(stack.commands, stack.request('appr-1'), 'test');
    expect(payout.state).toBe('requested');
    expect(stack.sim.requests().filter((r) => r.endpoint === 'transfer')).toHaveLength(0);

    const closed = stack.delivered('Closed');
    await approvePayout(stack.commands, payout.payoutId, 'alice');
    await stack.finished(payout.payoutId);
    await closed;
    expect(await stack.payouts.get(payout.payoutId)).toMatchObject({
      state: 'confirmed',
      approvedBy: 'alice',
    });
  });

  it('refuses over the maximum, off the allow-list and a malformed address, storing nothing', async () => {
    stack = await startPayoutStack('payout-controls', {
      env: { PAYOUT_MAX_AMOUNT: '50', PAYOUT_ALLOWED_ADDRESSES: `ETH:0x${'a'.repeat(40)}` },
    });
    const refusals = [
      stack.request('c-1', '50.01', { address: `0x${'a'.repeat(40)}` }),
      stack.request('c-2', '10'),
      stack.request('c-3', '10', { address: '0x1234' }),
    ];
    for (const body of refusals) {
      await expect(createPayout(stack.commands, body, 'test')).rejects.toMatchObject({ status: 422 });
    }
    expect(await stack.payouts.list()).toHaveLength(0);
    expect(stack.sim.requestCount()).toBe(0);
  });

  it('keeps the rolling daily limit under concurrent requests', async () => {
    stack = await startPayoutStack('payout-daily', {
      env: { PAYOUT_DAILY_LIMIT: '100', PAYOUT_REQUIRE_APPROVAL: 'true' },
    });
    const results = await Promise.allSettled(
      [1, 2, 3, 4, 5].map((n) => createPayout(stack!.commands, stack!.request(`d-${n}`, '30'), 'test')),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(3);
    expect(
      results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason.code),
    ).toEqual(['daily-limit', 'daily-limit']);
    expect(await stack.payouts.dailyUsed(Date.now())).toBe('90.00');
  });

  it('answers the same payout for a repeated external_id, and 409 for a different request', async () => {
    stack = await startPayoutStack('payout-idempotent', { env: { PAYOUT_REQUIRE_APPROVAL: 'true' } });
    const first = await createPayout(stack.commands, stack.request('same-1'), 'test');
    const again = await createPayout(stack.commands, stack.request('same-1'), 'test');
    expect(again).toMatchObject({ created: false, payout: { payoutId: first.payout.payoutId } });
    await expect(createPayout(stack.commands, stack.request('same-1', '11'), 'test')).rejects.toMatchObject({
      status: 409,
      code: 'external-id-conflict',
    });
  });
});

describe('the sweep side never touches payout funds', () => {
  it('reconciliation counts the USD a failed payout left in the wallet as reserved, and reports none of it', async () => {
    stack = await startPayoutStack('payout-reconcile');
    stack.sim.faults.enqueue('trade', 'trade-failed');
    const { payout } = await createPayout(stack.commands, stack.request('bf-1'), 'test');
    expect(await stack.finished(payout.payoutId)).toMatchObject({ state: 'failed', stage: 'funded' });

    const reconcile = reconcileDeps(stack);
    reconcile.accountIds.push(PAYOUT_ACCOUNT);
    const report = await runReconcile(reconcile.deps);
    await reconcile.close();

    expect(report.discrepancies).toEqual([]);
    expect(stack.sim.transfers()).toHaveLength(0);
    expect(walletUsd(stack)).toBe('10');
  });
});

describe('blockchain transfer notifications on /webhooks/interlace', () => {
  const transfer = (key: string, status: string) => ({
    id: 'tr-1',
    idempotencyKey: key,
    source: { type: 'cryptoconnect_wallet', id: PAYOUT_WALLET },
    destination: { type: 'blockchain', chain: 'ETH', address: '0x89F9Cfaa0dA076351DdfC6E320bD8df8b538dB17' },
    amount: { amount: '9.95', currency: 'USDC' },
    status,
  });

  it('acknowledges one that is not ours without a dead letter, and holds a payout on a status no setting names', async () => {
    stack = await startPayoutStack('payout-notes');
    const stranger = stack.sim.buildRawNotification(
      'CRYPTO_CONNECT_TRANSFER.UPDATED',
      transfer('someone-else', 'Closed'),
    );
    expect((await stack.sim.postNotification(stack.webhookUrl, stranger)).status).toBe(200);
    expect(await stack.deadQueue.count()).toBe(0);

    stack.sim.faults.enqueue('withdraw', 'withdraw-stuck');
    const { payout } = await createPayout(stack.commands, stack.request('odd-1'), 'test');
    const sent = await stack.finished(payout.payoutId);
    expect(sent.state).toBe('sent');
    const odd = stack.sim.buildRawNotification(
      'CRYPTO_CONNECT_TRANSFER.UPDATED',
      transfer(sent.withdrawKey!, 'Reversed'),
    );
    await stack.sim.postNotification(stack.webhookUrl, odd);
    expect(await stack.payouts.get(payout.payoutId)).toMatchObject({
      state: 'held',
      reason: expect.stringMatching(/^status-unknown/),
    });

    // Closed still confirms it; a late Pending after that changes nothing.
    for (const status of ['Closed', 'Pending']) {
      const note = stack.sim.buildRawNotification(
        'CRYPTO_CONNECT_TRANSFER.UPDATED',
        transfer(sent.withdrawKey!, status),
      );
      expect((await stack.sim.postNotification(stack.webhookUrl, note)).status).toBe(200);
    }
    expect(await stack.payouts.get(payout.payoutId)).toMatchObject({
      state: 'confirmed',
      arrivedAmount: '9.75',
    });
  });
});
