import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { sweepJobId } from '../../src/queues/names.js';
import { createDepositStore } from '../../src/deposits/deposit-store.js';
import { createRedis } from '../../src/redis.js';
import type { Fault } from '../../simulator/simulator.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('money-safety', {
    env: { SWEEP_ATTEMPTS: '10', SWEEP_MAX_AMOUNT: '100', SWEEP_TRANSFER_LOOKUPS: '2' },
  });
});
afterAll(async () => {
  await stack?.close();
});

/** Runs `act` while the sweep worker takes no job, so the deposit's job stays queued meanwhile. */
async function whileQueued(act: () => Promise<void>): Promise<void> {
  await stack.workers!.worker.pause();
  try {
    await act();
  } finally {
    stack.workers!.worker.resume();
  }
}

function usdcLeft(walletId: string): string | undefined {
  return stack.sim.wallet(walletId)!.balances.find((balance) => balance.currency === 'USDC')?.available;
}

describe('a later status stops a queued sweep', () => {
  it.each([
    ['ON_HOLD', 'held'],
    ['FAIL', 'failed'],
    ['REVERSED', 'held'],
  ] as const)(
    'CLOSED, then %s while the job waits: no transfer call, the deposit is %s',
    async (status, state) => {
      const depositId = stack.deposit('12');
      await whileQueued(async () => {
        await stack.notify(depositId, 'CLOSED');
        expect((await stack.record(depositId)).state).toBe('queued');
        await stack.sim.postNotification(
          stack.webhookUrl,
          stack.sim.buildRawNotification(stack.sim.options.depositEventType, {
            ...stack.sim.depositResource(depositId),
            status,
          }),
        );
      });

      expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
      expect(await stack.record(depositId)).toMatchObject({
        state,
        upstreamStatus: status,
        lastStatus: status,
      });
      expect(stack.callsFor(depositId).calls).toBe(0);
    },
  );

  it('refuses at the claim a queued deposit whose latest upstream status is not CLOSED', async () => {
    // A record left queued with a later ON_HOLD (as the ledger wrote it before this rule existed).
    const depositId = stack.deposit('13');
    await whileQueued(async () => {
      await stack.notify(depositId, 'CLOSED');
      await stack.redis.hset(stack.keys.deposit(depositId), {
        upstreamStatus: 'ON_HOLD',
        statusAt: String(Date.now()),
      });
    });

    expect(await stack.settled(depositId)).toMatchObject({
      status: 'completed',
      result: { outcome: 'stopped', state: 'held' },
    });
    expect(await stack.record(depositId)).toMatchObject({
      state: 'held',
      reason: expect.stringContaining('ON_HOLD'),
    });
    expect(stack.callsFor(depositId).calls).toBe(0);
  });
});

describe('a replay after the ledger forgot a swept deposit', () => {
  it('sends no transfer call, even with a fresh job and no ledger record', async () => {
    const depositId = stack.deposit('14');
    await stack.notify(depositId);
    await stack.settled(depositId);
    expect(stack.callsFor(depositId).calls).toBe(1);
    // LEDGER_RETENTION_DAYS later: the record and the job are gone; Interlace may have forgotten the id.
    await stack.redis.del(stack.keys.deposit(depositId));
    await (await stack.sweepQueue.getJob(sweepJobId(depositId)))!.remove();

    expect(await stack.notify(depositId)).toMatchObject({ status: 200 });

    expect(await stack.record(depositId)).toMatchObject({ state: 'swept', restoredAt: expect.any(String) });
    expect(await stack.sweepQueue.getJob(sweepJobId(depositId))).toBeUndefined();
    expect(stack.callsFor(depositId).calls).toBe(1);
  });

  it('is refused at the claim even when something requeued it', async () => {
    const depositId = stack.deposit('15');
    await stack.notify(depositId);
    await stack.settled(depositId);
    // Whatever put it back to queued (a bad restore, a hand edit), the swept-ids record says no.
    await stack.redis.hset(stack.keys.deposit(depositId), 'state', 'queued');
    await (await stack.sweepQueue.getJob(sweepJobId(depositId)))!.remove();
    await stack.sweepQueue.add('sweep', { depositId }, { jobId: sweepJobId(depositId) });

    expect(await stack.settled(depositId)).toMatchObject({ result: { outcome: 'already-swept' } });
    expect(stack.callsFor(depositId).calls).toBe(1);
    expect((await stack.record(depositId)).state).toBe('swept');
  });
});

describe('transfer answers: only a documented success status is swept', () => {
  const answered = (fault: Fault) => stack.sim.faults.enqueue('transfer', fault, 1);

  it.each(['FAIL', 'FAILED', 'Fail', 'REJECTED', 'SOMETHING_NEW'])(
    'a transfer answered %s is not swept: dead letter with the status in the reason',
    async (status) => {
      const depositId = stack.deposit('16');
      answered({ kind: 'transfer-status', status, commit: false });

      await stack.notify(depositId);

      expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
      expect(await stack.record(depositId)).toMatchObject({
        state: 'dead',
        reason: expect.stringContaining(status),
      });
      const letter = await stack.deadQueue.getJob(`deposit-${depositId}`);
      expect(letter?.data.reason).toContain(status);
      expect(await stack.redis.hget(stack.keys.sweptIds(depositId), depositId)).toBeNull();
      expect(stack.callsFor(depositId).calls).toBe(1);
    },
  );

  it('looks a PENDING transfer up (same request again) until it is CLOSED, then records it', async () => {
    const depositId = stack.deposit('17');
    answered({ kind: 'transfer-status', status: 'PENDING', settleAfter: 1 });

    await stack.notify(depositId);

    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    const [transfer, ...others] = stack.transfersFor(depositId);
    expect(others).toHaveLength(0);
    expect(await stack.record(depositId)).toMatchObject({
      state: 'swept',
      transferId: transfer!.id,
      transferStatus: 'CLOSED',
    });
    // The first call and two look-ups: PENDING, PENDING, CLOSED; never a call after the CLOSED.
    expect(stack.callsFor(depositId)).toMatchObject({ calls: 3, confirmed: 1, resentAfterConfirmed: [] });
  });

  it('dead-letters a transfer still PROCESSING after SWEEP_TRANSFER_LOOKUPS look-ups', async () => {
    const depositId = stack.deposit('18');
    answered({ kind: 'transfer-status', status: 'PROCESSING' });

    await stack.notify(depositId);

    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
    expect(await stack.record(depositId)).toMatchObject({
      state: 'dead',
      reason: expect.stringMatching(/^transfer-unconfirmed: .*PROCESSING.*2 look-ups/),
    });
    expect(stack.callsFor(depositId).calls).toBe(3);
  });
});

describe('smaller holes', () => {
  it('holds a deposit above SWEEP_MAX_AMOUNT for an operator, and never lets a held record expire', async () => {
    const depositId = stack.deposit('100.01');

    await stack.notify(depositId);

    expect(await stack.record(depositId)).toMatchObject({
      state: 'held',
      reason: expect.stringContaining('SWEEP_MAX_AMOUNT'),
    });
    expect(await stack.sweepQueue.getJob(sweepJobId(depositId))).toBeUndefined();
    expect(await stack.redis.pttl(stack.keys.deposit(depositId))).toBe(-1);
    expect(await stack.redis.zscore(stack.keys.depositsHeld, depositId)).not.toBeNull();
    expect(stack.callsFor(depositId).calls).toBe(0);
  });

  it('gives a held deposit its retention back when an operator requeues it', async () => {
    const depositId = stack.deposit('7');
    await stack.notify(depositId, 'ON_HOLD');
    expect(await stack.redis.pttl(stack.keys.deposit(depositId))).toBe(-1);
    const store = createDepositStore(stack.redis, stack.keys);

    expect(await store.requeue(depositId, 'ops', ['held'])).toBe('held');

    expect(await stack.redis.pttl(stack.keys.deposit(depositId))).toBeGreaterThan(0);
    expect(await stack.redis.zscore(stack.keys.depositsHeld, depositId)).toBeNull();
  });

  it('sweeps "10.0000000" USDC as 10: zeros past the precision do not change the amount', async () => {
    const depositId = stack.deposit('10.0000000');

    await stack.notify(depositId);

    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept', amount: '10' });
    expect((stack.transfersFor(depositId)[0]?.request as { amount: string }).amount).toBe('10');
  });

  it('forgets a cached Infinity wallet id as soon as Interlace rejects it', async () => {
    const account = stack.sim.createAccount();
    const wallet = stack.sim.createWallet(account.accountId);
    const cacheKey = stack.keys.infinityWallet(account.accountId);
    await stack.redis.set(cacheKey, 'stale-wallet-id', 'PX', 3_600_000);
    const depositId = stack.sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: '19' }).id;

    await stack.notify(depositId);

    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
    expect(await stack.redis.get(cacheKey)).toBeNull();
    expect(usdcLeft(wallet.id)).toBe('19');
  });
});

describe('the swept-ids record', () => {
  it('costs a few tens of bytes per deposit (measured with MEMORY USAGE)', async () => {
    const redis = createRedis(stack.config.redisUrl, 'worker', 'bytes');
    try {
      const store = createDepositStore(redis, stack.keys);
      const ids = Array.from({ length: 20_000 }, (_, i) => `${1986315238040416258n + BigInt(i)}`);
      for (let i = 0; i < ids.length; i += 500)
        await Promise.all(
          ids
            .slice(i, i + 500)
            .map((id) => store.markSwept(id, { transferId: `${9876543210123456789n + BigInt(i)}` })),
        );
      const buckets = new Set(ids.map((id) => stack.keys.sweptIds(id)));
      let bytes = 0;
      for (const key of buckets) bytes += Number(await redis.call('MEMORY', 'USAGE', key, 'SAMPLES', '0'));
      const perDeposit = bytes / ids.length;
      // docs/money-safety.md states the figure; this keeps it honest.
      expect(perDeposit).toBeLessThan(80);
    } finally {
      await redis.quit();
    }
  });
});
