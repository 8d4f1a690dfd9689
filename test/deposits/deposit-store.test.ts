import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createDepositStore, type AcceptInput } from '../../src/deposits/deposit-store.js';
import { createKeys } from '../../src/keys.js';
import { SWEPT_DROPS } from '../../src/deposits/scripts.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

let redis: Redis;
const prefix = uniquePrefix('deposit-store');
let store: ReturnType<typeof createDepositStore>;
let counter = 0;

beforeAll(() => {
  redis = connectTestRedis();
  store = createDepositStore(redis, createKeys(prefix));
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

function notification(depositId: string, status: string, patch: Partial<AcceptInput> = {}): AcceptInput {
  counter += 1;
  return {
    depositId,
    notificationId: `n-${counter}`,
    status,
    credit: { kind: 'sweep' },
    fields: {
      depositId,
      accountId: 'acc-1',
      walletId: 'w-1',
      currency: 'USDC',
      amount: '10',
      clientTransactionId: 'ctx',
    },
    now: Date.now(),
    ...patch,
  };
}

describe('deposit ledger transitions', () => {
  it('queues a credited deposit once, however many notifications arrive', async () => {
    const first = await store.accept(notification('d-1', 'CLOSED'));
    const again = await store.accept(notification('d-1', 'CLOSED'));
    expect(first).toMatchObject({ state: 'queued', change: 'created', freshNotification: true });
    expect(again).toMatchObject({ state: 'queued', change: 'unchanged' });
    expect((await store.get('d-1'))?.notifications).toBe('2');
  });

  it('records PENDING without sweeping, then queues on CLOSED, and never goes back on a late PENDING', async () => {
    expect((await store.accept(notification('d-2', 'PENDING'))).state).toBe('pending');
    expect((await store.accept(notification('d-2', 'CLOSED', { fields: { amount: '9.5' } }))).state).toBe(
      'queued',
    );
    expect((await store.accept(notification('d-2', 'PENDING'))).state).toBe('queued');
    expect((await store.get('d-2'))?.amount).toBe('9.5');
  });

  it('holds ON_HOLD and FAIL deposits for good', async () => {
    expect((await store.accept(notification('d-3', 'ON_HOLD'))).state).toBe('held');
    expect((await store.accept(notification('d-3', 'CLOSED'))).state).toBe('held');
    expect((await store.accept(notification('d-4', 'FAIL'))).state).toBe('failed');
    expect((await store.accept(notification('d-4', 'CLOSED'))).state).toBe('failed');
  });

  it('records dust and unsupported currencies with the reason', async () => {
    await store.accept(notification('d-5', 'CLOSED', { credit: { kind: 'dust', reason: 'too small' } }));
    expect(await store.get('d-5')).toMatchObject({ state: 'dust', reason: 'too small' });
    await store.accept(notification('d-6', 'CLOSED', { credit: { kind: 'unsupported', reason: 'BTC' } }));
    expect(await store.get('d-6')).toMatchObject({ state: 'unsupported', reason: 'BTC' });
  });

  it('counts a redelivered notification id as not fresh', async () => {
    const input = notification('d-7', 'CLOSED');
    await store.accept(input);
    expect((await store.accept({ ...input })).freshNotification).toBe(false);
    expect(await store.notificationIds('d-7')).toEqual([input.notificationId]);
  });

  it('flags a CLOSED notification whose amount disagrees with the record', async () => {
    await store.accept(notification('d-8', 'CLOSED'));
    await store.accept(notification('d-8', 'CLOSED', { fields: { amount: '11' } }));
    expect((await store.get('d-8'))?.conflict).toContain('amount=11');
    expect((await store.get('d-8'))?.amount).toBe('10');
  });

  it('stores notifications that arrive together as one batch, each atomically, a bad one failing alone', async () => {
    const keys = createKeys(prefix);
    // A foreign value where d-bad's record belongs: its script must fail before writing anything.
    await redis.set(keys.deposit('d-bad'), 'not a hash');
    const ids = Array.from({ length: 30 }, (_, i) => `batch-${i}`);
    const results = await Promise.allSettled([
      ...ids.map((id) => store.accept(notification(id, 'CLOSED'))),
      store.accept(notification('d-bad', 'CLOSED')),
      store.accept(notification('batch-0', 'CLOSED')),
    ]);
    expect(results.slice(0, 30).map((r) => r.status)).toEqual(ids.map(() => 'fulfilled'));
    expect(results[30]).toMatchObject({
      status: 'rejected',
      reason: expect.objectContaining({ message: expect.stringContaining('WRONGTYPE') }),
    });
    // Scripts of one batch run in order: the second notification of batch-0 sees the first's record.
    expect(results[31]).toMatchObject({
      status: 'fulfilled',
      value: { state: 'queued', change: 'unchanged' },
    });
    expect(await redis.exists(keys.depositNotifications('d-bad'))).toBe(0);
    for (const id of ids) expect((await store.get(id))?.state).toBe('queued');
  });

  it('records the claim of a sweep in the record it answers', async () => {
    await store.accept(notification('d-claim', 'CLOSED'));
    const first = await store.claim('d-claim', 1_000);
    expect(first).toMatchObject({
      state: 'sweeping',
      record: { state: 'sweeping', attempts: '1', sweepingAt: '1000' },
    });
    const second = await store.claim('d-claim', 2_000);
    expect(second).toMatchObject({ outcome: 'claimed' });
    expect(second.outcome === 'claimed' ? second.record : undefined).toMatchObject({
      attempts: '2',
      sweepingAt: '2000',
      updatedAt: '2000',
      depositId: 'd-claim',
    });
    expect(await store.get('d-claim')).toMatchObject({
      state: 'sweeping',
      attempts: '2',
      sweepingAt: '2000',
    });
  });

  it('lets only queued or sweeping deposits be swept, and a swept one never moves again', async () => {
    await store.accept(notification('d-9', 'CLOSED'));
    expect(await store.beginSweep('d-9')).toBe('sweeping');
    expect(await store.beginSweep('d-9')).toBe('sweeping');
    expect(await store.markSwept('d-9', { transferId: 't-1' })).toBe('sweeping');
    expect(await store.markSwept('d-9', { transferId: 't-2' })).toBe('swept');
    expect(await store.beginSweep('d-9')).toBe('swept');
    expect(await store.markDead('d-9', 'late failure')).toBe('swept');
    expect(await store.get('d-9')).toMatchObject({ state: 'swept', transferId: 't-1', attempts: '2' });
    expect(await store.beginSweep('no-such-deposit')).toBe('missing');
  });

  it('compacts a swept record: drops what a swept deposit no longer needs, keeps what it is', async () => {
    const first = notification('d-compact', 'CLOSED');
    await store.accept(first);
    await store.beginSweep('d-compact');
    await store.markSwept('d-compact', { transferId: 't-c', netAmount: '9.9' });
    const record = (await redis.hgetall(`${prefix}:deposit:d-compact`)) as Record<string, string>;
    for (const dropped of SWEPT_DROPS) expect(record).not.toHaveProperty(dropped);
    expect(record).toMatchObject({
      state: 'swept',
      amount: '10',
      currency: 'USDC',
      walletId: 'w-1',
      transferId: 't-c',
      netAmount: '9.9',
      lastNotificationId: first.notificationId,
    });
    expect(await redis.exists(`${prefix}:deposit:d-compact:notifications`)).toBe(0);
    // A redelivery afterwards changes nothing and brings no notification set back.
    expect(await store.accept({ ...first })).toMatchObject({
      state: 'swept',
      change: 'unchanged',
      freshNotification: false,
    });
    expect(await redis.exists(`${prefix}:deposit:d-compact:notifications`)).toBe(0);
  });

  it('buries a failing deposit with its reason, and refuses to sweep it afterwards', async () => {
    await store.accept(notification('d-10', 'CLOSED'));
    await store.beginSweep('d-10');
    expect(await store.markDead('d-10', 'business-error: 010021')).toBe('sweeping');
    expect(await store.get('d-10')).toMatchObject({ state: 'dead', reason: 'business-error: 010021' });
    expect(await store.beginSweep('d-10')).toBe('dead');
    expect((await store.accept(notification('d-10', 'CLOSED'))).state).toBe('dead');
  });

  it('keeps a bounded attempt history', async () => {
    for (let attempt = 1; attempt <= 30; attempt += 1) {
      await store.recordAttempt('d-11', {
        at: 'now',
        attempt,
        category: 'transient',
        reason: 'http-5xx',
        message: 'HTTP 500',
      });
    }
    const attempts = await store.attempts('d-11');
    expect(attempts).toHaveLength(25);
    expect(attempts.at(-1)?.attempt).toBe(30);
  });
});

describe('deposit ledger look-ups, retention and operator replays', () => {
  it('finds deposits by tx hash and by wallet, newest first, filtered by state', async () => {
    const base = Date.now();
    await store.accept(
      notification('l-1', 'CLOSED', {
        now: base,
        fields: {
          depositId: 'l-1',
          walletId: 'w-look',
          txHash: '0xaaa',
          accountId: 'a',
          currency: 'USDC',
          amount: '1',
        },
      }),
    );
    await store.accept(
      notification('l-2', 'PENDING', {
        now: base + 1,
        fields: {
          depositId: 'l-2',
          walletId: 'w-look',
          txHash: '0xbbb',
          accountId: 'a',
          currency: 'USDC',
          amount: '2',
        },
      }),
    );
    await store.accept(
      notification('l-3', 'CLOSED', {
        now: base + 2,
        fields: { depositId: 'l-3', walletId: 'w-other', accountId: 'a', currency: 'USDC', amount: '3' },
      }),
    );

    expect(await store.findByTx('0xaaa')).toEqual(['l-1']);
    expect(await redis.sismember(createKeys(prefix).accounts, 'a')).toBe(1);
    expect((await store.list({ walletId: 'w-look' })).map((d) => d.depositId)).toEqual(['l-2', 'l-1']);
    expect((await store.list({ walletId: 'w-look', state: 'pending' })).map((d) => d.depositId)).toEqual([
      'l-2',
    ]);
    expect((await store.list({ since: base + 2 })).map((d) => d.depositId)).toEqual(['l-3']);
    expect(await store.list({ limit: 2 })).toHaveLength(2);
  });

  it('gives every key of a deposit the retention period', async () => {
    await store.accept(notification('r-1', 'CLOSED'));
    await store.recordAttempt('r-1', {
      at: 'now',
      attempt: 1,
      category: 'transient',
      reason: 'http-5xx',
      message: 'x',
    });
    const keys = createKeys(prefix);
    for (const key of [
      keys.deposit('r-1'),
      keys.depositNotifications('r-1'),
      keys.depositAttempts('r-1'),
      keys.depositsByTime,
    ]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(89 * 86_400_000);
      expect(ttl).toBeLessThanOrEqual(90 * 86_400_000);
    }
  });

  it('lets an operator requeue a dead deposit, never a swept or in-flight one', async () => {
    await store.accept(notification('q-1', 'CLOSED'));
    await store.beginSweep('q-1');
    expect(await store.requeue('q-1', 'alice', ['dead'])).toBe('refused:sweeping');
    await store.markDead('q-1', 'boom');
    expect(await store.requeue('q-1', 'alice', ['dead'])).toBe('dead');
    expect(await store.get('q-1')).toMatchObject({
      state: 'queued',
      replayedBy: 'alice',
      previousState: 'dead',
      replays: '1',
    });
    await store.beginSweep('q-1');
    expect((await store.get('q-1'))?.reason).toBe('boom');
    await store.markSwept('q-1', { transferId: 't' });
    // A swept deposit carries no failure reason any more.
    expect((await store.get('q-1'))?.reason).toBeUndefined();
    expect(await store.requeue('q-1', 'alice', ['dead', 'swept'])).toBe('refused:swept');
    expect(await store.requeue('nope', 'alice', ['dead'])).toBe('missing');
  });
});

describe('deposit ledger: what each call answers and writes', () => {
  const keys = createKeys(prefix);

  it('counts the notification it records and never writes the event log (the receiver appended it)', async () => {
    const before = await redis.xlen(keys.events);
    await store.accept(notification('e-1', 'CLOSED', { event: { counterField: 'ev-count' } }));
    await store.accept(notification('e-1', 'CLOSED', { event: { counterField: 'ev-count' } }));
    expect(await redis.hget(keys.eventCounts, 'ev-count')).toBe('2');
    await store.accept(notification('e-1', 'CLOSED'));
    expect(await redis.hget(keys.eventCounts, 'ev-count')).toBe('2');
    expect(await redis.xlen(keys.events)).toBe(before);
  });

  it('counts a notification that moves no deposit, and writes nothing else', async () => {
    const before = await redis.xlen(keys.events);
    await store.logNotification({ counterField: 'other' });
    await store.logNotification({ counterField: 'other' });
    expect(await redis.hget(keys.eventCounts, 'other')).toBe('2');
    expect(await redis.xlen(keys.events)).toBe(before);
  });

  it('answers when the sweep job under the deposit id has already finished', async () => {
    const jobKey = `${prefix}:job:e-2`;
    await redis.hset(jobKey, 'finishedOn', '12345');
    expect(await store.accept(notification('e-2', 'CLOSED', { jobKey }))).toMatchObject({
      state: 'queued',
      change: 'created',
      freshNotification: true,
      jobFinishedOn: '12345',
    });
    const unfinished = await store.accept(notification('e-3', 'CLOSED'));
    expect(unfinished).toMatchObject({ state: 'queued', change: 'created', freshNotification: true });
    expect(unfinished).not.toHaveProperty('jobFinishedOn');
  });

  it('indexes a deposit by its tx hash only when it has one, and by its wallet', async () => {
    await store.accept(notification('e-4', 'CLOSED'));
    expect(await redis.exists(keys.depositsByTx(''))).toBe(0);
    expect(await redis.exists(keys.depositsByWallet(''))).toBe(0);
    expect(await redis.zscore(keys.depositsByWallet('w-1'), 'e-4')).not.toBeNull();
    expect(await store.get('e-4')).toMatchObject({ depositId: 'e-4', walletId: 'w-1', amount: '10' });
  });

  it('answers each way a claim ends', async () => {
    expect(await store.claim('e-none')).toEqual({ outcome: 'missing', state: 'missing' });
    await store.accept(notification('e-5', 'ON_HOLD'));
    expect(await store.claim('e-5')).toEqual({ outcome: 'refused', state: 'held' });
    // Queued, but its latest upstream status says stop.
    await redis.hset(keys.deposit('e-6'), {
      depositId: 'e-6',
      state: 'queued',
      upstreamStatus: 'ON_HOLD',
      statusAt: '5',
    });
    expect(await store.claim('e-6')).toEqual({ outcome: 'stopped', state: 'held' });
    await redis.hset(keys.deposit('e-7'), {
      depositId: 'e-7',
      state: 'queued',
      upstreamStatus: 'FAIL',
      statusAt: '5',
    });
    expect(await store.claim('e-7')).toEqual({ outcome: 'stopped', state: 'failed' });
    await store.accept(notification('e-8', 'CLOSED'));
    const claimed = await store.claim('e-8', 7_000);
    expect(claimed.outcome).toBe('claimed');
    expect(claimed.outcome === 'claimed' ? claimed.record : undefined).toMatchObject({
      depositId: 'e-8',
      accountId: 'acc-1',
      walletId: 'w-1',
      currency: 'USDC',
      amount: '10',
      upstreamStatus: 'CLOSED',
      state: 'sweeping',
      clientTransactionId: 'ctx',
      sweepingAt: '7000',
    });
  });

  it('records the transfer fields with the swept deposit, and answers missing for an unknown one', async () => {
    expect(await store.markDead('e-none', 'x')).toBe('missing');
    expect(await store.sweptTransfer('e-none')).toBeUndefined();
    expect(await store.get('e-none')).toBeUndefined();
    await store.accept(notification('e-9', 'CLOSED'));
    await store.claim('e-9');
    expect(
      await store.markSwept('e-9', { transferId: 'tr-9', transferStatus: 'CLOSED', feeTotal: '0.1' }, 9_000),
    ).toBe('sweeping');
    expect(await store.get('e-9')).toMatchObject({
      state: 'swept',
      transferId: 'tr-9',
      transferStatus: 'CLOSED',
      feeTotal: '0.1',
      sweptAt: '9000',
    });
    expect(await store.sweptTransfer('e-9')).toBe('tr-9');
    expect(await store.markSwept('e-none-2', { transferId: 'tr-x' })).toBe('missing');
    expect(await store.sweptTransfer('e-none-2')).toBe('tr-x');
  });

  it('answers the previous and the new state of a move the worker decided', async () => {
    await store.accept(notification('e-10', 'CLOSED'));
    expect(await store.move('e-10', 'recheck-dust', 'policy changed')).toEqual({
      previous: 'queued',
      state: 'queued',
    });
    await store.claim('e-10');
    expect(await store.move('e-10', 'recheck-dust', 'policy changed', 10_000)).toEqual({
      previous: 'sweeping',
      state: 'dust',
    });
    expect(await store.get('e-10')).toMatchObject({ state: 'dust', reason: 'policy changed' });
    expect(await store.move('e-none', 'recheck-dust', 'x')).toEqual({
      previous: 'missing',
      state: 'missing',
    });
  });

  it('requeues only the states the operator allowed', async () => {
    await store.accept(notification('e-11', 'ON_HOLD'));
    expect(await store.requeue('e-11', 'bob', ['dead'])).toBe('refused:held');
    expect(await store.requeue('e-11', 'bob', ['dead', 'held'])).toBe('held');
    expect(await store.get('e-11')).toMatchObject({ state: 'queued', replayedBy: 'bob' });
  });

  it('has no attempts or notifications for a deposit it never saw', async () => {
    expect(await store.attempts('e-none')).toEqual([]);
    expect(await store.notificationIds('e-none')).toEqual([]);
    expect(await store.findByTx('0xnone')).toEqual([]);
  });

  it('keeps a deposit for the retention it was given', async () => {
    const short = createDepositStore(redis, keys, { retentionMs: 60_000 });
    await short.accept(notification('e-12', 'CLOSED'));
    await short.recordAttempt('e-12', {
      at: 'now',
      attempt: 1,
      category: 'transient',
      reason: 'http-5xx',
      message: 'x',
    });
    for (const key of [keys.deposit('e-12'), keys.depositAttempts('e-12')]) {
      const ttl = await redis.pttl(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    }
  });
});

describe('deposit ledger listing', () => {
  const keys = createKeys(prefix);
  const inWallet = (depositId: string, walletId: string, status: string, now: number) =>
    notification(depositId, status, {
      now,
      fields: { depositId, walletId, accountId: 'a', currency: 'USDC', amount: '1' },
    });

  it('reads page after page until it has found enough, 50 by default', async () => {
    const base = Date.now();
    // The one pending deposit is the oldest: behind more than one page of 200 queued ones.
    await store.accept(inWallet('big-pending', 'w-big', 'PENDING', base));
    await Promise.all(
      Array.from({ length: 230 }, (_, i) =>
        store.accept(inWallet(`big-${i}`, 'w-big', 'CLOSED', base + 1 + i)),
      ),
    );
    expect((await store.list({ walletId: 'w-big', state: 'pending' })).map((d) => d.depositId)).toEqual([
      'big-pending',
    ]);
    const newest = await store.list({ walletId: 'w-big' });
    expect(newest).toHaveLength(50);
    expect(newest[0]?.depositId).toBe('big-229');
    expect(await store.list({ walletId: 'w-big', limit: 210 })).toHaveLength(210);
    expect(await store.list({ walletId: 'w-big', limit: 1000 })).toHaveLength(231);
  });

  it('filters by time on both ends, and skips index entries whose record is gone', async () => {
    const base = Date.now() + 1_000_000;
    await store.accept(inWallet('t-1', 'w-time', 'CLOSED', base));
    await store.accept(inWallet('t-2', 'w-time', 'CLOSED', base + 10));
    await store.accept(inWallet('t-3', 'w-time', 'CLOSED', base + 20));
    await redis.zadd(keys.depositsByWallet('w-time'), base + 15, 't-gone');
    const ids = async (filter: Parameters<typeof store.list>[0]) =>
      (await store.list({ walletId: 'w-time', ...filter })).map((d) => d.depositId);
    expect(await ids({})).toEqual(['t-3', 't-2', 't-1']);
    expect(await ids({ until: base + 10 })).toEqual(['t-2', 't-1']);
    expect(await ids({ since: base + 10 })).toEqual(['t-3', 't-2']);
    expect(await ids({ since: base + 5, until: base + 15 })).toEqual(['t-2']);
    expect(await ids({ limit: 1 })).toEqual(['t-3']);
  });
});

describe('deposit ledger: wallets, customers and merchant events', () => {
  const keys = createKeys(prefix);
  const own = (walletId: string, externalId: string) =>
    redis.hset(keys.walletOwner(walletId), {
      id: `own-${walletId}`,
      external_id: externalId,
      name: 'A customer',
    });
  const into = (depositId: string, walletId: string, patch: Partial<AcceptInput> = {}) =>
    notification(depositId, 'CLOSED', {
      fields: { depositId, walletId, accountId: 'acc-1', currency: 'USDC', amount: '10' },
      ...patch,
    });

  it('answers whether the service created the wallet', async () => {
    await own('w-owned', 'cust-owned');
    expect(await store.accept(into('o-1', 'w-owned'))).toMatchObject({ walletOwned: true });
    expect(await store.accept(into('o-2', 'w-stranger'))).toMatchObject({ walletOwned: false });
  });

  it('holds a deposit into a wallet it did not create under UNKNOWN_WALLET_DEPOSITS=hold, and only then', async () => {
    await own('w-owned-2', 'cust-2');
    expect((await store.accept(into('o-3', 'w-stranger-2', { unknownWallets: 'hold' }))).state).toBe('held');
    expect((await store.get('o-3'))?.reason).toContain('UNKNOWN_WALLET_DEPOSITS=hold');
    expect((await store.accept(into('o-4', 'w-owned-2', { unknownWallets: 'hold' }))).state).toBe('queued');
    expect((await store.accept(into('o-5', 'w-stranger-2', { unknownWallets: 'sweep' }))).state).toBe(
      'queued',
    );
    expect((await store.accept(into('o-6', 'w-stranger-2'))).state).toBe('queued');
  });

  it("lists a customer's deposits by external id, narrowed by wallet when one is given", async () => {
    await own('w-cust-a', 'cust-list');
    await store.accept(into('o-7', 'w-cust-a'));
    expect((await store.list({ externalId: 'cust-list' })).map((d) => d.depositId)).toEqual(['o-7']);
    expect(await store.list({ externalId: 'cust-list', walletId: 'w-elsewhere' })).toEqual([]);
    expect(await store.list({ externalId: 'cust-nobody' })).toEqual([]);
  });

  it('writes merchant events to the outbox only when they are switched on', async () => {
    const quiet = await redis.xlen(keys.merchantOutbox);
    await store.accept(into('o-8', 'w-events'));
    expect(await redis.xlen(keys.merchantOutbox)).toBe(quiet);
    const emitting = createDepositStore(redis, keys, { merchantEvents: true });
    await emitting.accept(into('o-9', 'w-events'));
    const [last] = await redis.xrevrange(keys.merchantOutbox, '+', '-', 'COUNT', 1);
    expect(last?.[1]).toEqual(expect.arrayContaining(['type', 'deposit.received', 'depositId', 'o-9']));
  });

  it('counts nothing for a notification that brings no event', async () => {
    const counters = await redis.hgetall(keys.eventCounts);
    await store.accept(into('o-10', 'w-quiet'));
    expect(await redis.hgetall(keys.eventCounts)).toEqual(counters);
  });

  it('answers a claimed record with exactly the stored fields', async () => {
    await store.accept(into('o-11', 'w-claim'));
    const claimed = await store.claim('o-11');
    const stored = await store.get('o-11');
    expect(claimed.outcome === 'claimed' ? claimed.record : undefined).toStrictEqual(stored);
  });

  it('skips index entries whose record is gone when listing everything', async () => {
    const at = Date.now() + 5_000_000;
    await store.accept(into('o-12', 'w-gone', { now: at }));
    await redis.zadd(keys.depositsByTime, at + 1, 'o-gone');
    expect((await store.list({ since: at, until: at + 1 })).map((d) => d.depositId)).toEqual(['o-12']);
  });
});
