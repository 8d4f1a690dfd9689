import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { INGEST_GROUP } from '../../src/webhooks/ingest-log.js';

let stack: Stack;

beforeAll(async () => {
  // Failures answered by Redis are retried, not dead-lettered, for as long as this test needs.
  stack = await startStack('batched-store', { workers: false, env: { INGEST_MAX_FAILURES: '1000' } });
});
afterAll(async () => {
  await stack?.close();
});

describe('ingest of notifications arriving together', () => {
  it('keeps every notification of a batch whose job adds fail pending, then stores and sweeps each once', async () => {
    const deposits = Array.from({ length: 12 }, (_, i) => stack.deposit(String(10 + i)));
    // BullMQ's add script reads the queue's meta hash: a string there makes every add of the batch fail,
    // while the ledger scripts (other keys) succeed.
    await stack.redis.set(stack.sweepQueue.keys.meta!, 'not a hash');
    const failuresBefore = stack.logLines.filter((l) => l.includes('storing a notification failed')).length;

    // Delivered without waiting for the consumer: it cannot finish them yet.
    const wait = stack.sim.afterDelivery;
    stack.sim.afterDelivery = undefined;
    const answers = await Promise.all(deposits.map((id) => stack.notify(id)));
    stack.sim.afterDelivery = wait;

    // Interlace was told "received": each notification is in the event log, so it is not lost.
    expect(answers.map((r) => r.status)).toEqual(deposits.map(() => 200));
    await vi.waitFor(
      () =>
        expect(
          stack.logLines.filter((l) => l.includes('storing a notification failed')).length - failuresBefore,
        ).toBeGreaterThanOrEqual(12),
      { timeout: 10_000, interval: 20 },
    );
    for (const id of deposits) expect((await stack.record(id)).state).toBe('queued');
    expect(await stack.redis.exists(stack.sweepQueue.toKey(`deposit-${deposits[0]}`))).toBe(0);
    const [pending] = (await stack.redis.xpending(stack.keys.events, INGEST_GROUP)) as [number];
    expect(pending).toBe(12);

    await stack.redis.del(stack.sweepQueue.keys.meta!);
    await stack.api.ingest.caughtUp(20_000);
    await stack.restartWorkers();

    for (const id of deposits) {
      expect(await stack.settled(id)).toMatchObject({ status: 'completed' });
      expect(stack.transfersFor(id)).toHaveLength(1);
      expect((await stack.record(id)).state).toBe('swept');
    }
    expect(await stack.redis.xpending(stack.keys.events, INGEST_GROUP)).toEqual([0, null, null, null]);
  });
});
