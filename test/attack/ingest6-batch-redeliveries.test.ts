import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { gate } from '../helpers/gate.js';
import { failFirstClaim, holdTransferCalls } from '../helpers/sweep-spies.js';
import { sweepJobId } from '../../src/queues/names.js';
import { INGEST_GROUP } from '../../src/webhooks/ingest-log.js';

// Attack round 6 on e713f08: every redelivery of a queued deposit whose job has finished now removes the
// job and adds it again. Redeliveries of one deposit that arrive together are stored in one chunk: each
// ledger call of the chunk answers the old job's finishedOn, so each removes "the" job and adds one, the
// later removes racing the job the earlier ones added (waiting, running, or already finished). The money
// must still move once and the deposit must not be left queued behind a job that never runs.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('attack6-batch', { env: { SWEEP_ATTEMPTS: '1', INGEST_MAX_FAILURES: '1000' } });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await stack?.close();
});

/**
 * A queued deposit whose only job failed before its claim wrote anything, and whose safety-net bury
 * failed too (Redis lost for a moment): queued behind a failed job, no dead letter.
 */
async function queuedBehindFailedJob(amount: string) {
  const deps = stack.workers!.deps;
  const depositId = stack.deposit(amount);
  const claimSpy = failFirstClaim(deps, depositId);
  const buryFailed = gate();
  const markDead = deps.deposits.markDead.bind(deps.deposits);
  const deadSpy = vi.spyOn(deps.deposits, 'markDead').mockImplementation(async (id, ...rest) => {
    if (id !== depositId) return markDead(id, ...rest);
    buryFailed.open();
    throw new Error('Connection is closed.');
  });
  expect((await stack.notify(depositId)).status).toBe(200);
  await buryFailed.opened;
  claimSpy.mockRestore();
  deadSpy.mockRestore();
  expect((await stack.record(depositId)).state).toBe('queued');
  expect(await (await stack.sweepQueue.getJob(sweepJobId(depositId)))?.getState()).toBe('failed');
  return depositId;
}

async function redeliverTogether(depositId: string, times: number) {
  const answers = await Promise.all(Array.from({ length: times }, () => stack.notify(depositId)));
  for (const answer of answers) expect(answer.status).toBe(200);
}

async function nothingPending() {
  expect(await stack.redis.xpending(stack.keys.events, INGEST_GROUP)).toEqual([0, null, null, null]);
}

it('twelve redeliveries together of a deposit queued behind its failed job: swept once', async () => {
  const depositId = await queuedBehindFailedJob('62');
  await redeliverTogether(depositId, 12);
  await nothingPending();
  expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
  expect((await stack.record(depositId)).state).toBe('swept');
  expect(stack.transfersFor(depositId)).toHaveLength(1);
  expect(stack.callsFor(depositId)).toMatchObject({ calls: 1, resentAfterConfirmed: [] });
});

it('the same with the fresh job holding its transfer call while the others remove and add: swept once', async () => {
  const depositId = await queuedBehindFailedJob('63');
  const deps = stack.workers!.deps;
  const held = holdTransferCalls(deps);
  const delivered = redeliverTogether(depositId, 12);
  await held.calling;
  // More redeliveries while the job is in flight: the record says sweeping, no job is touched.
  await redeliverTogether(depositId, 5);
  held.release();
  await delivered;
  await nothingPending();
  expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
  vi.restoreAllMocks();
  expect((await stack.record(depositId)).state).toBe('swept');
  expect(stack.transfersFor(depositId)).toHaveLength(1);
  expect(stack.callsFor(depositId)).toMatchObject({ calls: 1, resentAfterConfirmed: [] });
});
