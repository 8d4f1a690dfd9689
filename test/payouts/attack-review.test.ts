import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import {
  approvePayout,
  cancelPayout,
  createPayout,
  refundPayout,
  retryPayout,
} from '../../src/payouts/payout-commands.js';
import { applyPayoutEvent } from '../../src/payouts/apply-payout-event.js';
import { payoutStepId } from '../../src/payouts/payout-ids.js';
import type { PayoutRecord } from '../../src/payouts/payout-record.js';
import type { PayoutStep } from '../../src/policy/payout-policy.js';
import { enqueuePayout } from '../../src/queues/create-queues.js';
import { runReconcile } from '../../src/reconcile/run-reconcile.js';
import { reconcileDeps } from '../reconcile/helpers.js';
import { cli } from '../ops/cli-harness.js';
import {
  ETH_ADDRESS,
  PAYOUT_ACCOUNT,
  PAYOUT_WALLET,
  startPayoutStack,
  type PayoutStack,
} from '../helpers/payouts.js';

// Issue #11's attack review: each test is one way the review found to move a payout's money twice,
// move it while the payout says otherwise, or record it in the wrong place (docs/payouts.md,
// "Attack review"). Each fails without its fix.

let stack: PayoutStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const balance = (s: PayoutStack, walletId: string, currency: string) =>
  s.sim.wallet(walletId)?.balances.find((b) => b.currency === currency)?.available;

/**
 * A payout whose step 5 committed at Interlace but whose answer was lost, with no notification to
 * tell (webhook off) and no attempt left: held, the withdrawal in doubt.
 */
async function heldWithWithdrawalInDoubt(name: string, env: Record<string, string> = {}) {
  const s = await startPayoutStack(name, { env: { PAYOUT_ATTEMPTS: '1', ...env } });
  s.sim.setWebhookUrl(undefined);
  s.sim.faults.enqueue('withdraw', 'reset-after-commit');
  const { payout } = await createPayout(s.commands, s.request(`${name}-1`), 'test');
  const held = await s.finished(payout.payoutId);
  expect(held).toMatchObject({ state: 'held', stage: 'converted' });
  expect(s.committedFor(payout.payoutId, 'send')).toHaveLength(1);
  return { s, payoutId: payout.payoutId };
}

describe('1. refund while a money-moving step is in doubt', () => {
  it('is refused after step 5 was sent without an answer: the withdrawal may have gone out', async () => {
    const { s, payoutId } = await heldWithWithdrawalInDoubt('attack-refund-doubt');
    stack = s;
    expect(await s.payouts.get(payoutId)).toMatchObject({ doubt: 'send' });

    await expect(refundPayout(s.commands, payoutId, 'mallory')).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/in doubt/),
    });
    expect(await s.payouts.get(payoutId)).toMatchObject({ state: 'held', doubt: 'send' });
    expect(s.stepCallsFor(payoutId, 'refund')).toHaveLength(0);
    expect(s.sim.transfers()).toHaveLength(0);
  });

  it('is refused while step 3 (the trade) is in doubt', async () => {
    stack = await startPayoutStack('attack-refund-trade', { env: { PAYOUT_ATTEMPTS: '1' } });
    stack.sim.faults.enqueue('trade', 'reset-after-commit');
    const { payout } = await createPayout(stack.commands, stack.request('rt-1'), 'test');
    expect(await stack.finished(payout.payoutId)).toMatchObject({
      state: 'held',
      stage: 'funded',
      doubt: 'convert',
    });

    await expect(refundPayout(stack.commands, payout.payoutId, 'mallory')).rejects.toThrow(/in doubt/);
    expect(stack.stepCallsFor(payout.payoutId, 'refund')).toHaveLength(0);
  });
});

describe('2. retry never resets doubt', () => {
  it('resends the same step with the same idempotencyKey and body, and a refusal then holds it again', async () => {
    const { s, payoutId } = await heldWithWithdrawalInDoubt('attack-retry-doubt');
    stack = s;
    // Whatever Interlace now answers to the resend, a refusal cannot prove the first call did nothing.
    s.sim.faults.enqueue('withdraw', { kind: 'business-error', code: '999999', message: 'refused' });

    await retryPayout(s.commands, payoutId, 'alice');
    const trigger = (await s.payoutQueue.getJobs(['completed', 'failed', 'active', 'waiting']))
      .map((job) => job.id ?? '')
      .find((id) => id.includes('retry'));
    const record = await s.finished(payoutId, trigger!.slice(trigger!.indexOf('retry')));

    expect(record).toMatchObject({ state: 'held', stage: 'converted', doubt: 'send' });
    const calls = s.stepCallsFor(payoutId, 'send');
    expect(calls).toHaveLength(2);
    expect(JSON.stringify(calls[1]!.body)).toBe(JSON.stringify(calls[0]!.body));
    await expect(refundPayout(s.commands, payoutId, 'alice')).rejects.toThrow(/in doubt/);
  });
});

describe('2b. what puts a step in doubt', () => {
  const refusal = {
    kind: 'business-error',
    code: '010021',
    message: 'account balance does not exist',
  } as const;

  it('a call without an answer (503): a later refusal of the resend holds the payout, never fails it', async () => {
    stack = await startPayoutStack('attack-doubt-503', { env: { SWEEP_BACKOFF_MS: '100' } });
    stack.sim.faults.enqueue('transfer', 'http-503');
    stack.sim.faults.enqueue('transfer', refusal);
    const { payout } = await createPayout(stack.commands, stack.request('d-503'), 'test');

    expect(await stack.finished(payout.payoutId)).toMatchObject({
      state: 'held',
      stage: 'none',
      doubt: 'fund',
    });
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({ USD: '10' });
  });

  it('a 429 proves nothing moved: a refusal after it fails the payout and releases the reservation', async () => {
    stack = await startPayoutStack('attack-doubt-429', { env: { SWEEP_BACKOFF_MS: '100' } });
    stack.sim.faults.enqueue('transfer', { kind: 'rate-limit', retryAfterSeconds: 0 });
    stack.sim.faults.enqueue('transfer', refusal);
    const { payout } = await createPayout(stack.commands, stack.request('d-429'), 'test');

    const record = await stack.finished(payout.payoutId);
    expect(record).toMatchObject({ state: 'failed', stage: 'none', doubt: '' });
    expect(record.reason).toMatch(/010021|balance/);
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({});
    expect(stack.committedFor(payout.payoutId, 'fund')).toHaveLength(0);
  });
});

describe('3. a resend after a config change', () => {
  it('sends the stored request body byte for byte, not one rebuilt from the new settings', async () => {
    const { s, payoutId } = await heldWithWithdrawalInDoubt('attack-config-change');
    stack = s;
    // A redeploy between the lost answer and the resume changes the type strings and the gas mode.
    await s.restartWorkers({
      PAYOUT_TRANSFER_SOURCE_TYPE: 'WALLET',
      PAYOUT_TRANSFER_DESTINATION_TYPE: 'BLOCKCHAIN',
      PAYOUT_GAS_MODE: 'on-top',
    });

    await retryPayout(s.commands, payoutId, 'alice');
    await expect.poll(() => s.stepCallsFor(payoutId, 'send').length, { timeout: 15_000 }).toBe(2);
    const [first, resend] = s.stepCallsFor(payoutId, 'send');
    expect(JSON.stringify(resend!.body)).toBe(JSON.stringify(first!.body));
    expect(first!.body).toMatchObject({ source: { type: 'cryptoconnect_wallet' } });
    expect(s.committedFor(payoutId, 'send')).toHaveLength(1);
  });

  it('resends step 1 with the stored body after PAYOUT_FUNDING_TO changed', async () => {
    stack = await startPayoutStack('attack-config-fund', { env: { PAYOUT_ATTEMPTS: '1' } });
    stack.sim.faults.enqueue('transfer', 'reset-after-commit');
    const { payout } = await createPayout(stack.commands, stack.request('cf-1'), 'test');
    expect(await stack.finished(payout.payoutId)).toMatchObject({ state: 'held', stage: 'none' });
    await stack.restartWorkers({ PAYOUT_FUNDING_TO: 'wallet' });

    await retryPayout(stack.commands, payout.payoutId, 'alice');
    await expect.poll(() => stack!.stepCallsFor(payout.payoutId, 'fund').length, { timeout: 15_000 }).toBe(2);
    const [first, resend] = stack.stepCallsFor(payout.payoutId, 'fund');
    expect(JSON.stringify(resend!.body)).toBe(JSON.stringify(first!.body));
    expect(first!.body).toMatchObject({ to: { id: PAYOUT_ACCOUNT } });
    expect(stack.committedFor(payout.payoutId, 'fund')).toHaveLength(1);
  });
});

describe('3b. a payout begun before request bodies were stored', () => {
  it('is resent with the body rebuilt as that version did, same idempotencyKey, never a second transfer', async () => {
    const { s, payoutId } = await heldWithWithdrawalInDoubt('attack-legacy-body');
    stack = s;
    // What a payout held across the upgrade looks like: the step begun, no stored body.
    await s.redis.hdel(s.keys.payout(payoutId), 'withdrawRequest');

    await retryPayout(s.commands, payoutId, 'alice');
    await expect.poll(() => s.stepCallsFor(payoutId, 'send').length, { timeout: 15_000 }).toBe(2);
    const [first, resend] = s.stepCallsFor(payoutId, 'send');
    expect(JSON.stringify(resend!.body)).toBe(JSON.stringify(first!.body));
    expect(s.committedFor(payoutId, 'send')).toHaveLength(1);
  });
});

describe('4. cancel racing step 1', () => {
  it('is refused when it lands while the step-1 transfer is in flight, and the payout goes on', async () => {
    stack = await startPayoutStack('attack-cancel-race', { env: { PAYOUT_REQUIRE_APPROVAL: 'true' } });
    const { payout } = await createPayout(stack.commands, stack.request('race-1'), 'test');
    // The operator's `payouts cancel` read the payout before step 1 began; its write lands after.
    await stack.workers!.close();
    await approvePayout(stack.commands, payout.payoutId, 'alice');
    const readByCancel = (await stack.payouts.get(payout.payoutId))!;
    expect(readByCancel).toMatchObject({ state: 'approved' });
    stack.sim.faults.enqueue('transfer', { kind: 'latency', delayMs: 1_500 });
    const inFlight = stack.sim.waitFor('fault', (f) => f.endpoint === 'transfer');
    const closed = stack.delivered('Closed');
    await stack.restartWorkers();
    await inFlight;

    const cancel = await applyPayoutEvent(stack.commands, readByCancel, 'cancel', {
      fields: { cancelledBy: 'mallory' },
    });
    expect(cancel).toMatchObject({ ok: false, reason: expect.stringMatching(/step 1/) });
    await expect(cancelPayout(stack.commands, payout.payoutId, 'mallory')).rejects.toMatchObject({
      status: 409,
    });
    await stack.finished(payout.payoutId);
    await closed;
    expect(await stack.payouts.get(payout.payoutId)).toMatchObject({ state: 'confirmed' });
    expect(stack.committedFor(payout.payoutId, 'fund')).toHaveLength(1);
  });

  it('the step begin refuses a payout cancelled first: nothing is called', async () => {
    stack = await startPayoutStack('attack-cancel-first', { env: { PAYOUT_REQUIRE_APPROVAL: 'true' } });
    const { payout } = await createPayout(stack.commands, stack.request('cf-2'), 'test');
    const record = (await stack.payouts.get(payout.payoutId))!;
    await cancelPayout(stack.commands, payout.payoutId, 'alice');

    expect(await stack.payouts.beginStep(record, 'approved', 'fund')).toEqual({
      ok: false,
      found: 'cancelled',
    });
    expect((await stack.payouts.get(payout.payoutId))?.fundingCalledAt).toBeUndefined();
    expect(stack.sim.requestCount()).toBe(0);
  });
});

describe('6. PAYOUT_WALLET_ID is not the wallet the money lands in', () => {
  it('reserves on the wallet the payout actually uses, and refunds from it', async () => {
    stack = await startPayoutStack('attack-wallet');
    // The account's default wallet (where an account-addressed funding and a trade go) is another one.
    stack.sim.createWallet(PAYOUT_ACCOUNT, { walletId: 'wallet-master', nickname: 'master', master: true });
    stack.sim.faults.enqueue('trade', 'trade-failed');
    const { payout } = await createPayout(stack.commands, stack.request('w-1'), 'test');

    expect(await stack.finished(payout.payoutId)).toMatchObject({
      state: 'failed',
      stage: 'funded',
      fundsWalletId: 'wallet-master',
    });
    expect(balance(stack, 'wallet-master', 'USD')).toBe('10');
    expect(await stack.payouts.reserved('wallet-master', ['USD', 'USDC'])).toEqual({ USD: '10' });
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD', 'USDC'])).toEqual({});
    const { body: metrics } = await stack.workers!.metrics.render();
    expect(metrics).toMatch(/isweep_payout_money_in_flight\{currency="USD"\} 10/);

    await refundPayout(stack.commands, payout.payoutId, 'alice');
    expect(await stack.finished(payout.payoutId, 'refund')).toMatchObject({ state: 'refunded' });
    expect(balance(stack, 'wallet-master', 'USD')).toBe('0');
    expect(await stack.payouts.reserved('wallet-master', ['USD', 'USDC'])).toEqual({});
  });
});

describe('7. the wallet reservation around step 1', () => {
  it('is written before the step-1 call goes out and released only once the money has left the wallet', async () => {
    stack = await startPayoutStack('attack-reserve-step1');
    stack.sim.faults.enqueue('transfer', { kind: 'latency', delayMs: 1_000 });
    const inFlight = stack.sim.waitFor('fault', (f) => f.endpoint === 'transfer');
    const closed = stack.delivered('Closed');
    const { payout } = await createPayout(stack.commands, stack.request('rs-1'), 'test');
    await inFlight;

    // The transfer has arrived at Interlace and not been answered: the USD is already accounted for.
    expect(stack.committedFor(payout.payoutId, 'fund')).toHaveLength(0);
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD', 'USDC'])).toEqual({ USD: '10' });
    await stack.finished(payout.payoutId);
    await closed;
    expect(await stack.payouts.get(payout.payoutId)).toMatchObject({ state: 'confirmed' });
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD', 'USDC'])).toEqual({});
  });

  it('stays while step 1 is in doubt (held), and a retry keeps it', async () => {
    stack = await startPayoutStack('attack-reserve-doubt', { env: { PAYOUT_ATTEMPTS: '1' } });
    stack.sim.faults.enqueue('transfer', 'reset-after-commit');
    const { payout } = await createPayout(stack.commands, stack.request('rs-2'), 'test');
    expect(await stack.finished(payout.payoutId)).toMatchObject({
      state: 'held',
      stage: 'none',
      doubt: 'fund',
    });
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({ USD: '10' });
    expect(balance(stack, PAYOUT_WALLET, 'USD')).toBe('10');
  });
});

describe('7. reconciliation straddling a payout', () => {
  /** One reconciliation run over the payout account: its report (it never moves money). */
  async function reconcileNow(s: PayoutStack) {
    const reconcile = reconcileDeps(s);
    reconcile.accountIds.push(PAYOUT_ACCOUNT);
    try {
      return await runReconcile(reconcile.deps);
    } finally {
      await reconcile.close();
    }
  }

  it('a run after the step-1 USD landed but before its answer was recorded reports none of it', async () => {
    stack = await startPayoutStack('attack-reconcile-step1');
    // Step 1 commits at Interlace; its answer is held past the client's timeout (then resent: same id).
    stack.sim.faults.enqueue('transfer', { kind: 'timeout-after-commit', delayMs: 2_000 });
    const committed = stack.sim.waitFor('held', (entry) => entry.endpoint === 'transfer');
    const closed = stack.delivered('Closed');
    const { payout } = await createPayout(stack.commands, stack.request('rc-1'), 'test');
    await committed;

    expect(balance(stack, PAYOUT_WALLET, 'USD')).toBe('10');
    expect((await stack.payouts.get(payout.payoutId))?.state).toBe('approved');
    const during = await reconcileNow(stack);
    expect(during.errors).toEqual([]);
    expect(during.discrepancies).toEqual([]);

    await stack.finished(payout.payoutId);
    await closed;
    expect(await stack.payouts.get(payout.payoutId)).toMatchObject({ state: 'confirmed' });
    expect(stack.committedFor(payout.payoutId, 'fund')).toHaveLength(1);
    expect((await reconcileNow(stack)).discrepancies).toEqual([]);
  });

  it('the stablecoin of a payout held with step 5 in doubt is never reported, and an operator sweep of it is refused', async () => {
    stack = await startPayoutStack('attack-reconcile-coin', { env: { PAYOUT_ATTEMPTS: '1' } });
    // Step 5 gets no usable answer (here it did not commit, but the service cannot know that).
    stack.sim.faults.enqueue('withdraw', 'http-503');
    const { payout } = await createPayout(stack.commands, stack.request('rc-2'), 'test');
    const held = await stack.finished(payout.payoutId);
    expect(held).toMatchObject({ state: 'held', stage: 'converted', doubt: 'send' });
    expect(balance(stack, PAYOUT_WALLET, 'USDC')).toBe(held.boughtAmount);

    expect((await reconcileNow(stack)).discrepancies).toEqual([]);
    const sweep = await cli(
      { ...stack.env },
      'reconcile',
      'sweep',
      PAYOUT_WALLET,
      'USDC',
      held.boughtAmount!,
      '--operator',
      'mallory',
    );
    expect(sweep.code).toBe(1);
    expect(sweep.err).toMatch(/no unexplained USDC/);
    expect(stack.sim.transfers()).toHaveLength(0);
    expect(balance(stack, PAYOUT_WALLET, 'USDC')).toBe(held.boughtAmount);
  });
});

describe('8. the allow-list or the maximum shrinks after create', () => {
  const other = `0x${'b'.repeat(40)}`;

  it('approve re-checks the controls and refuses; the payout moves nothing', async () => {
    stack = await startPayoutStack('attack-allow-approve', {
      env: { PAYOUT_REQUIRE_APPROVAL: 'true', PAYOUT_ALLOWED_ADDRESSES: `ETH:${ETH_ADDRESS}` },
    });
    const { payout } = await createPayout(stack.commands, stack.request('al-1'), 'test');
    const shrunk = {
      ...stack.commands,
      config: loadConfig({ ...stack.env, PAYOUT_ALLOWED_ADDRESSES: other }),
    };

    await expect(approvePayout(shrunk, payout.payoutId, 'alice')).rejects.toMatchObject({
      status: 409,
      message: expect.stringMatching(/PAYOUT_ALLOWED_ADDRESSES/),
    });
    const lowered = { ...stack.commands, config: loadConfig({ ...stack.env, PAYOUT_MAX_AMOUNT: '5' }) };
    await expect(approvePayout(lowered, payout.payoutId, 'alice')).rejects.toThrow(/PAYOUT_MAX_AMOUNT/);
    expect((await stack.payouts.get(payout.payoutId))?.state).toBe('requested');
    expect(stack.sim.requestCount()).toBe(0);
  });

  it('the worker re-checks right before step 1 and fails the payout with nothing moved', async () => {
    stack = await startPayoutStack('attack-allow-worker', {
      env: { PAYOUT_REQUIRE_APPROVAL: 'true', PAYOUT_ALLOWED_ADDRESSES: `ETH:${ETH_ADDRESS}` },
    });
    const { payout } = await createPayout(stack.commands, stack.request('al-2'), 'test');
    // The workers run the new allow-list; the operator's CLI still has the old one.
    await stack.restartWorkers({ PAYOUT_ALLOWED_ADDRESSES: other });
    await approvePayout(stack.commands, payout.payoutId, 'alice');
    const record = await stack.finished(payout.payoutId);

    expect(record).toMatchObject({ state: 'failed', stage: 'none' });
    expect(record.reason).toMatch(/^controls-changed: .*PAYOUT_ALLOWED_ADDRESSES/);
    expect(stack.stepCallsFor(payout.payoutId, 'fund')).toHaveLength(0);
    expect(await stack.payouts.reserved(PAYOUT_WALLET, ['USD'])).toEqual({});
  });
});

describe('the idempotency window, every step', () => {
  const old = () => String(Date.now() - 90 * 86_400_000);
  // A payout parked at each step as if its first call had been sent 90 days ago, answer never recorded.
  const parked: [PayoutStep, Partial<Record<keyof PayoutRecord, string>>][] = [
    ['convert', { state: 'funded', stage: 'funded', fundingCalledAt: old(), tradeCalledAt: old() }],
    ['send', { state: 'converted', stage: 'converted', boughtAmount: '9.95', withdrawCalledAt: old() }],
    ['refund', { state: 'refunding', stage: 'funded', refundRequested: '1', refundCalledAt: old() }],
  ];

  it.each(parked)('never resends %s past the window: held, nothing called', async (step, fields) => {
    stack = await startPayoutStack(`attack-window-${step}`, { env: { PAYOUT_REQUIRE_APPROVAL: 'true' } });
    const { payout } = await createPayout(stack.commands, stack.request(`win-${step}`), 'test');
    const idField = {
      convert: 'tradeReferenceId',
      send: 'withdrawKey',
      refund: 'refundId',
      fund: 'fundingId',
    };
    await stack.redis.hset(stack.keys.payout(payout.payoutId), {
      ...fields,
      [idField[step]]: payoutStepId(payout.payoutId, step),
    });
    await enqueuePayout(stack.payoutQueue, stack.config, payout.payoutId, 'window');
    const record = await stack.finished(payout.payoutId, 'window');

    expect(record.state).toBe('held');
    expect(record.reason).toMatch(/^idempotency-window-closed/);
    expect(record.doubt).toBe(step);
    expect(stack.stepCallsFor(payout.payoutId, step)).toHaveLength(0);
  });
});
