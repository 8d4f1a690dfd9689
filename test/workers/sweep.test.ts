import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';
import { sweepJobId } from '../../src/queues/names.js';
import { Decimal } from '../../src/sweep/decimal.js';
import { TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../helpers/config.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('sweep', {
    env: { SWEEP_ATTEMPTS: '5', SWEEP_INSUFFICIENT_BALANCE_RETRIES: '2', INTERLACE_TIMEOUT_MS: '400' },
  });
});
afterAll(async () => {
  await stack?.close();
});

describe('sweeping a credited deposit into the Infinity USD wallet', () => {
  it('makes exactly one transfer with the exact MoR body, and records its outcome', async () => {
    const depositId = stack.deposit('10');
    const usdBefore = stack.sim.infinityWallet(stack.account.accountId)!.available!;

    expect(await stack.notify(depositId)).toMatchObject({ status: 200, body: { received: true } });
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });

    const [transfer, ...others] = stack.transfersFor(depositId);
    expect(others).toHaveLength(0);
    // One call, not merely one committed transfer: the simulator dedupes repeats of the same id.
    expect(stack.callsFor(depositId)).toMatchObject({ calls: 1, confirmed: 1, resentAfterConfirmed: [] });
    expect(transfer?.replays).toBe(0);
    expect(transfer?.request).toEqual({
      clientTransactionId: sweepTransactionId(depositId),
      accountId: stack.account.accountId,
      from: { businessType: 2, id: stack.wallet.id, currency: 'USDC' },
      to: { businessType: 0, id: stack.account.infinityWalletId, currency: 'USD' },
      amount: '10',
    });
    expect(transfer?.idempotencyKey).toBe(sweepTransactionId(depositId));
    expect(await stack.record(depositId)).toMatchObject({
      state: 'swept',
      transferId: transfer!.id,
      transferStatus: 'CLOSED',
      feeTotal: '0.05',
      feeCurrency: 'USDC',
      netAmount: '9.95',
      netCurrency: 'USD',
    });
    const usdAfter = stack.sim.infinityWallet(stack.account.accountId)!.available!;
    expect(Number(usdAfter) * 100 - Number(usdBefore) * 100).toBeCloseTo(995);
  });

  it('sweeps once when the same notification arrives 5 times at once', async () => {
    const depositId = stack.deposit('20');
    const notification = stack.sim.buildNotification(depositId);

    const replies = await Promise.all(
      Array.from({ length: 5 }, () => stack.sim.postNotification(stack.webhookUrl, notification)),
    );

    expect(replies.map((reply) => reply.status)).toEqual([200, 200, 200, 200, 200]);
    await stack.settled(depositId);
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    expect(stack.callsFor(depositId)).toMatchObject({ calls: 1, confirmed: 1 });
    expect((await stack.record(depositId)).notifications).toBe('5');
  });

  it('waits for PENDING, sweeps on CLOSED, and ignores a second CLOSED', async () => {
    const depositId = stack.deposit('30', 'USDT', 'PENDING');
    await stack.notify(depositId, 'PENDING');
    expect((await stack.record(depositId)).state).toBe('pending');
    expect(await stack.sweepQueue.getJob(sweepJobId(depositId))).toBeUndefined();

    stack.sim.setDepositStatus(depositId, 'CLOSED');
    await stack.notify(depositId, 'CLOSED');
    await stack.notify(depositId, 'CLOSED');
    await stack.settled(depositId);

    expect(stack.transfersFor(depositId)).toHaveLength(1);
    expect(stack.callsFor(depositId)).toMatchObject({ calls: 1, confirmed: 1 });
    expect(await stack.record(depositId)).toMatchObject({
      state: 'swept',
      currency: 'USDT',
      notifications: '3',
    });
  });

  it('does not sweep again when Interlace redelivers long after the job was removed', async () => {
    const depositId = stack.deposit('40');
    await stack.notify(depositId);
    await stack.settled(depositId);
    await (await stack.sweepQueue.getJob(sweepJobId(depositId)))!.remove();

    expect(await stack.notify(depositId)).toMatchObject({ status: 200 });

    expect(await stack.sweepQueue.getJob(sweepJobId(depositId))).toBeUndefined();
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    expect(stack.callsFor(depositId)).toMatchObject({ calls: 1, resentAfterConfirmed: [] });
    expect((await stack.record(depositId)).state).toBe('swept');
  });

  it('retries Interlace 5xx answers with the same ids and ends with one transfer', async () => {
    const depositId = stack.deposit('50');
    stack.sim.faults.enqueue('transfer', 'http-500', 1);
    stack.sim.faults.enqueue('transfer', 'http-503', 1);

    await stack.notify(depositId);

    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    const calls = stack.transferCallsFor(depositId);
    expect(calls.map((call) => call.status)).toEqual([500, 503, 200]);
    expect((await stack.record(depositId)).attempts).toBe('3');
  });

  it.each(['timeout-after-commit', 'reset-after-commit'] as const)(
    'survives a %s: the retry gets the original transfer back, never a second debit',
    async (kind) => {
      const depositId = stack.deposit('60');
      const walletBefore = stack.sim
        .wallet(stack.wallet.id)!
        .balances.find((b) => b.currency === 'USDC')!.available;
      stack.sim.faults.enqueue(
        'transfer',
        kind === 'timeout-after-commit' ? { kind, delayMs: 3_000 } : kind,
        1,
      );

      await stack.notify(depositId);

      expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
      const [transfer, ...others] = stack.transfersFor(depositId);
      expect(others).toHaveLength(0);
      expect(transfer?.replays).toBe(1);
      expect((await stack.record(depositId)).transferId).toBe(transfer?.id);
      const walletAfter = stack.sim
        .wallet(stack.wallet.id)!
        .balances.find((b) => b.currency === 'USDC')!.available;
      // Debited exactly once: the deposit's 60 left the wallet, not 120.
      expect(new Decimal(walletBefore).minus(walletAfter).toFixed()).toBe('60');
    },
  );

  it('renews an expired token once, mid-run, shared through Redis', async () => {
    const first = stack.deposit('11');
    await stack.notify(first);
    await stack.settled(first);
    const issued = stack.sim.tokensIssued().length;

    stack.sim.expireTokens();
    const second = stack.deposit('12');
    await stack.notify(second);

    expect(await stack.settled(second)).toMatchObject({ status: 'completed' });
    expect(stack.sim.tokensIssued().length).toBe(issued + 1);
    expect(stack.transfersFor(second)).toHaveLength(1);
    // The rejected call (expired token) and the one after the renewal.
    expect(stack.callsFor(second)).toMatchObject({ calls: 2, confirmed: 1 });
    expect((await stack.record(second)).attempts).toBe('1');
  });

  it('dead-letters a permanent error at once, without burning retries', async () => {
    const depositId = stack.deposit('70');
    stack.failTransfers('010021');

    await stack.notify(depositId);

    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
    const job = await stack.sweepQueue.getJob(sweepJobId(depositId));
    expect(job?.attemptsMade).toBe(1);
    expect(await stack.record(depositId)).toMatchObject({
      state: 'dead',
      reason: expect.stringContaining('010021'),
    });
    const dead = await stack.deadQueue.getJob(`deposit-${depositId}`);
    expect(dead?.data).toMatchObject({
      kind: 'sweep-failed',
      depositId,
      reason: expect.stringContaining('010021'),
      lastError: expect.stringContaining('account balance does not exist'),
      deposit: expect.objectContaining({ amount: '70', walletId: stack.wallet.id }),
    });
    expect(dead?.data.attempts).toHaveLength(1);
    expect(stack.transfersFor(depositId)).toHaveLength(0);
  });

  it('retries an insufficient balance a few times (credit lag), then dead-letters it with the history', async () => {
    const depositId = stack.deposit('80');
    stack.failTransfers('100100001', 10);

    await stack.notify(depositId);

    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
    const dead = await stack.deadQueue.getJob(`deposit-${depositId}`);
    expect(dead?.data.reason).toMatch(/^insufficient-balance/);
    expect(dead?.data.attempts.map((a) => a.reason)).toEqual([
      'insufficient-balance',
      'insufficient-balance',
      'insufficient-balance',
    ]);
    stack.sim.faults.clear();
  });

  it('sweeps after a short credit lag', async () => {
    const depositId = stack.deposit('81');
    stack.failTransfers('100100001');
    await stack.notify(depositId);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(stack.transfersFor(depositId)).toHaveLength(1);
  });

  it('dead-letters after SWEEP_ATTEMPTS transient failures, naming the last error', async () => {
    const depositId = stack.deposit('90');
    stack.sim.faults.enqueue('transfer', 'http-502', 5);

    await stack.notify(depositId);

    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
    const dead = await stack.deadQueue.getJob(`deposit-${depositId}`);
    expect(dead?.data.reason).toMatch(/^retries-exhausted: http-5xx/);
    expect(dead?.data.attempts).toHaveLength(5);
    expect((await stack.record(depositId)).state).toBe('dead');
  });

  it('honours a 429 Retry-After without spending an attempt', async () => {
    const depositId = stack.deposit('95');
    stack.sim.faults.enqueue('transfer', { kind: 'rate-limit', retryAfterSeconds: 1 }, 1);

    await stack.notify(depositId);

    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    const calls = stack.transferCallsFor(depositId);
    expect(calls.map((c) => c.status)).toEqual([429, 200]);
    expect(calls[1]!.time - calls[0]!.time).toBeGreaterThanOrEqual(900);
    // BullMQ counts the successful attempt; the 429 did not count, or this would be 2.
    expect((await stack.sweepQueue.getJob(sweepJobId(depositId)))?.attemptsMade).toBe(1);
  });

  it('looks the Infinity wallet up once per account, then uses the cache', async () => {
    const before = stack.sim.requests().filter((r) => r.endpoint === 'wallets').length;
    const depositId = stack.deposit('15');
    await stack.notify(depositId);
    await stack.settled(depositId);
    expect(stack.sim.requests().filter((r) => r.endpoint === 'wallets').length).toBe(before);
  });

  it('never writes the client secret, the webhook secret or an access token to the logs', async () => {
    const token = await stack.redis.hget(stack.keys.token(TEST_CLIENT_ID), 'accessToken');
    expect(token).toBeTruthy();
    expect(stack.logLines.length).toBeGreaterThan(20);
    const logs = stack.logLines.join('\n');
    for (const secret of [TEST_CLIENT_SECRET, stack.config.interlace.webhookSecret, token!])
      expect(logs).not.toContain(secret);
    // Failed attempts (the 5xx, timeout and reset stories above) leave their errors on the jobs.
    const jobs = await stack.sweepQueue.getJobs(['completed', 'failed']);
    const dead = await stack.deadQueue.getJobs(['waiting', 'completed', 'failed']);
    const stored = JSON.stringify([
      ...jobs.map((job) => [job.data, job.failedReason, job.stacktrace]),
      ...dead.map((job) => job.data),
    ]);
    expect(jobs.some((job) => (job.stacktrace ?? []).length > 0)).toBe(true);
    for (const secret of [TEST_CLIENT_SECRET, token!]) expect(stored).not.toContain(secret);
  });
});

describe('a deposit record lost while its finished job remains', () => {
  it('is rebuilt as swept from the swept-ids record on redelivery: no second transfer call', async () => {
    const depositId = stack.deposit('44');
    await stack.notify(depositId);
    await stack.settled(depositId);
    const transferId = (await stack.record(depositId)).transferId;
    // As after a restore from an old backup: the ledger forgot the deposit, BullMQ kept the completed job.
    await stack.redis.del(stack.keys.deposit(depositId));

    await stack.notify(depositId);

    expect(await stack.record(depositId)).toMatchObject({
      state: 'swept',
      transferId,
      restoredAt: expect.any(String),
    });
    expect(stack.callsFor(depositId)).toMatchObject({ calls: 1, resentAfterConfirmed: [] });
  });
});
