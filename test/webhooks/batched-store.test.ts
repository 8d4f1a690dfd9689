import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('batched-store', { workers: false });
});
afterAll(async () => {
  await stack?.close();
});

describe('POST /webhooks/interlace, notifications arriving together', () => {
  it('answers 503 to every notification of a batch whose enqueue fails, then sweeps each once after redelivery', async () => {
    const deposits = Array.from({ length: 12 }, (_, i) => stack.deposit(String(10 + i)));
    // BullMQ's add script reads the queue's meta hash: a string there makes every add of the batch fail,
    // while the ledger scripts (other keys) succeed.
    await stack.redis.set(stack.sweepQueue.keys.meta!, 'not a hash');

    const refused = await Promise.all(deposits.map((id) => stack.notify(id)));

    expect(refused.map((r) => r.status)).toEqual(deposits.map(() => 503));
    for (const id of deposits) expect((await stack.record(id)).state).toBe('queued');
    expect(await stack.redis.exists(stack.sweepQueue.toKey(`deposit-${deposits[0]}`))).toBe(0);

    await stack.redis.del(stack.sweepQueue.keys.meta!);
    const redelivered = await Promise.all(deposits.map((id) => stack.notify(id)));
    expect(redelivered.map((r) => r.status)).toEqual(deposits.map(() => 200));
    await stack.restartWorkers();

    for (const id of deposits) {
      expect(await stack.settled(id)).toMatchObject({ status: 'completed' });
      expect(stack.transfersFor(id)).toHaveLength(1);
      expect((await stack.record(id)).state).toBe('swept');
    }
  });
});
