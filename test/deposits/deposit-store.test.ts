import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createDepositStore, type AcceptInput } from '../../src/deposits/deposit-store.js';
import { createKeys } from '../../src/keys.js';
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
    decision: { kind: 'sweep' },
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
    await store.accept(notification('d-5', 'CLOSED', { decision: { kind: 'dust', reason: 'too small' } }));
    expect(await store.get('d-5')).toMatchObject({ state: 'dust', reason: 'too small' });
    await store.accept(notification('d-6', 'CLOSED', { decision: { kind: 'unsupported', reason: 'BTC' } }));
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
