import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { Queue } from 'bullmq';
import { startStack, type Stack } from '../helpers/stack.js';
import { sweepJobId } from '../../src/queues/names.js';
import { INGEST_GROUP } from '../../src/webhooks/ingest-log.js';

// Attack round 5, found on the way (not introduced by the chunks of 5, but a failure at a chunk's job
// step is one way in): acceptNotification removes a finished sweep job still holding the deposit's job id
// only when the ledger script answers change 'created' or 'transitioned' (staleJob). If anything fails
// after the ledger script and before the remove (a Redis error, a crash or close between the chunk's
// ledger pipeline and its job step), the entry stays pending and is stored again: the script now answers
// 'unchanged', the remove is skipped, the add is a no-op on the finished job's id, the entry is
// acknowledged, and the deposit stays queued with no job to run: its money is never swept.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('attack5-stale-job', { env: { INGEST_MAX_FAILURES: '1000' } });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await stack?.close();
});

/** A finished sweep job under the deposit's job id while it has no record (the record lost, the job kept). */
async function finishedJobWithoutRecord(depositId: string) {
  await stack.sweepQueue.add('sweep', { depositId }, { jobId: sweepJobId(depositId) });
  expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
  expect(await stack.redis.exists(stack.keys.deposit(depositId))).toBe(0);
}

it('control: a deposit whose old job finished is swept when its notification comes (staleJob path)', async () => {
  const depositId = stack.deposit('55');
  await finishedJobWithoutRecord(depositId);
  expect((await stack.notify(depositId)).status).toBe(200);
  expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
  expect((await stack.record(depositId)).state).toBe('swept');
  expect(stack.transfersFor(depositId)).toHaveLength(1);
});

it('the same deposit with the stale job removal failing once: still swept after the retry', async () => {
  const depositId = stack.deposit('56');
  await finishedJobWithoutRecord(depositId);

  // The first removal of the finished job fails (Redis lost for a moment right after the ledger pipeline).
  let failures = 1;
  const remove = Queue.prototype.remove;
  vi.spyOn(Queue.prototype, 'remove').mockImplementation(async function (this: Queue, ...args) {
    if (this.name === 'sweep' && args[0] === sweepJobId(depositId) && failures > 0) {
      failures -= 1;
      throw new Error('Connection is closed.');
    }
    return remove.apply(this, args);
  });
  // Resolves once the consumer has acknowledged the entry (after its retry).
  expect((await stack.notify(depositId)).status).toBe(200);
  vi.restoreAllMocks();
  expect(failures).toBe(0);
  expect(await stack.redis.xpending(stack.keys.events, INGEST_GROUP)).toEqual([0, null, null, null]);

  // Acknowledged: the sweep job must be a fresh one that runs (it may already have), not the old failed one.
  const job = await stack.sweepQueue.getJob(sweepJobId(depositId));
  expect(await job?.getState()).not.toBe('failed');
  expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
  expect((await stack.record(depositId)).state).toBe('swept');
  expect(stack.transfersFor(depositId)).toHaveLength(1);
});
