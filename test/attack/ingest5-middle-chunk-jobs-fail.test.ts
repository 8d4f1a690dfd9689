import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { startStack, type Stack } from '../helpers/stack.js';
import { startApi, type Api } from '../../src/server.js';
import { INGEST_GROUP } from '../../src/webhooks/ingest-log.js';
import { sweepJobId } from '../../src/queues/names.js';

// Attack round 5 (chunks of 5): one batch of 15, whose middle chunk's sweep jobs cannot be added (twice)
// while the chunks before and after it are stored: one XACK for the batch. Invariant, checked at the
// moment of every XACK: an acknowledged entry's deposit has its ledger record (queued) and its sweep
// job; the middle chunk's entries stay pending until their jobs exist; then every deposit is swept once.

let stack: Stack;
let second: Api | undefined;
beforeAll(async () => {
  stack = await startStack('attack5-middle-chunk', {
    workers: false,
    env: { INGEST_BATCH_SIZE: '50', INGEST_MAX_FAILURES: '1000' },
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await second?.close();
  await stack?.close();
});

it("a middle chunk's failed job adds keep its entries pending; nothing is acknowledged without its job", async () => {
  await stack.api.ingest.close();
  stack.sim.afterDelivery = undefined;
  const deposits = Array.from({ length: 15 }, (_, i) => stack.deposit(String(30 + i)));
  for (const id of deposits) expect((await stack.notify(id)).status).toBe(200);
  const entries = await stack.redis.xrange(stack.keys.events, '-', '+');
  const depositOf = new Map(
    entries.map(([streamId, fields]) => [
      streamId,
      deposits.find((id) => fields.join(' ').includes(`\\"${id}\\"`)),
    ]),
  );
  expect([...depositOf.values()].every((id) => id !== undefined)).toBe(true);

  // The middle chunk (indexes 5-9): its job adds fail twice, whichever addBulk they end up in.
  const middle = new Set(deposits.slice(5, 10));
  let failuresLeft = 2;
  const failedDeposits = new Set<string>();
  const addBulk = Queue.prototype.addBulk;
  vi.spyOn(Queue.prototype, 'addBulk').mockImplementation(async function (this: Queue, jobs) {
    const ids = jobs.map((job) => (job.data as { depositId: string }).depositId);
    if (this.name === 'sweep' && failuresLeft > 0 && ids.some((id) => middle.has(id))) {
      failuresLeft -= 1;
      for (const id of ids) failedDeposits.add(id);
      const error = new Error('ERR injected: the middle chunk cannot add its jobs');
      error.name = 'ReplyError';
      throw error;
    }
    return addBulk.call(this, jobs) as never;
  });
  const add = Queue.prototype.add;
  vi.spyOn(Queue.prototype, 'add').mockImplementation(async function (this: Queue, name, data, opts) {
    const id = (data as { depositId?: string }).depositId;
    if (this.name === 'sweep' && failuresLeft > 0 && id !== undefined && middle.has(id)) {
      failuresLeft -= 1;
      failedDeposits.add(id);
      const error = new Error('ERR injected: the middle chunk cannot add its job');
      error.name = 'ReplyError';
      throw error;
    }
    return add.call(this, name, data, opts) as never;
  });

  // At every XACK of the event log: each acknowledged entry's deposit is stored and has its job.
  const violations: string[] = [];
  const acked: string[] = [];
  const xack = Redis.prototype.xack;
  vi.spyOn(Redis.prototype, 'xack').mockImplementation(async function (this: Redis, ...args: unknown[]) {
    const [key, , ...ids] = args as string[];
    if (key === stack.keys.events) {
      for (const streamId of ids) {
        acked.push(streamId);
        const depositId = depositOf.get(streamId);
        if (depositId === undefined) continue;
        const state = await stack.redis.hget(stack.keys.deposit(depositId), 'state');
        const job = await stack.redis.exists(stack.sweepQueue.toKey(sweepJobId(depositId)));
        if (state !== 'queued' || job !== 1)
          violations.push(`${streamId} (deposit ${depositId}) acked with state ${state}, job ${job}`);
      }
    }
    return (xack as (...a: unknown[]) => Promise<number>).apply(this, args);
  });

  second = await startApi(stack.config, stack.logger);
  await second.ingest.caughtUp(20_000);
  vi.restoreAllMocks();

  expect(failuresLeft).toBe(0);
  expect([...failedDeposits].some((id) => middle.has(id))).toBe(true);
  expect(violations).toEqual([]);
  // Every entry was acknowledged, each once the job existed (the failed ones by a later XACK).
  expect(new Set(acked).size).toBe(15);
  expect(await stack.redis.xpending(stack.keys.events, INGEST_GROUP)).toEqual([0, null, null, null]);

  await stack.restartWorkers();
  for (const id of deposits) {
    expect(await stack.settled(id)).toMatchObject({ status: 'completed' });
    expect((await stack.record(id)).state).toBe('swept');
    expect(stack.transfersFor(id)).toHaveLength(1);
  }
}, 60_000);
