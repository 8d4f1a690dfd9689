import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { sweepJobId } from '../../src/queues/names.js';
import { deadLetterId } from '../../src/queues/dead-letter.js';
import { openOps, type OpsContext } from '../../src/ops/ops-context.js';
import { replayDeadLetters } from '../../src/ops/dlq-replay.js';
import { enqueueDeposit } from '../../src/ops/sweep-enqueue.js';

// Attack round 6 on e713f08: a redelivery of a queued deposit whose job has finished now removes the job
// and adds a fresh one. An operator's `dlq replay` and `sweep enqueue` requeue a deposit (the record says
// queued) and only then remove the old finished job and add theirs: a redelivery landing between the two
// adds a job first, which may run to its end before the operator's command goes on. The money must move
// once, and a deposit that dies again must not be left dead with no dead letter (buried unseen).

let stack: Stack;
let ops: OpsContext;
beforeAll(async () => {
  stack = await startStack('attack6-operator-race', { env: { SWEEP_ATTEMPTS: '2' } });
  ops = await openOps(stack.config, { operator: 'op', stderr: { write: () => undefined } });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await ops?.close();
  await stack?.close();
});

const letterOf = (depositId: string) =>
  stack.deadQueue.getJob(deadLetterId({ kind: 'sweep-failed', depositId }));

async function deadDeposit(amount: string) {
  stack.failTransfers('010021', 1);
  const depositId = stack.deposit(amount);
  expect((await stack.notify(depositId)).status).toBe(200);
  expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
  expect((await stack.record(depositId)).state).toBe('dead');
  expect(await letterOf(depositId)).toBeDefined();
  return depositId;
}

/** After the operator's requeue, Interlace redelivers, and the job it adds runs to its end. */
function redeliverAfterRequeue(depositId: string) {
  const requeue = ops.deposits.requeue.bind(ops.deposits);
  return vi.spyOn(ops.deposits, 'requeue').mockImplementation(async (...args) => {
    const old = await stack.sweepQueue.getJob(sweepJobId(depositId));
    const previous = await requeue(...args);
    expect((await stack.notify(depositId)).status).toBe(200);
    // The redelivery took the widened path: the old finished job is gone, a fresh one was added.
    const job = await stack.sweepQueue.getJob(sweepJobId(depositId));
    expect(old?.finishedOn).toBeDefined();
    expect(job?.timestamp).toBeGreaterThanOrEqual(old!.finishedOn!);
    await stack.settled(depositId);
    return previous;
  });
}

it('dlq replay with a redelivery after its requeue whose job sweeps: swept once, no letter left', async () => {
  const depositId = await deadDeposit('71');
  const spy = redeliverAfterRequeue(depositId);
  const [outcome] = await replayDeadLetters(ops, { refs: [depositId], all: false, dryRun: false });
  spy.mockRestore();
  expect(outcome).toMatchObject({ outcome: 'replayed' });
  expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
  expect((await stack.record(depositId)).state).toBe('swept');
  expect(stack.transfersFor(depositId)).toHaveLength(1);
  expect(stack.callsFor(depositId)).toMatchObject({ resentAfterConfirmed: [] });
  expect(await letterOf(depositId)).toBeUndefined();
});

it('dlq replay with a redelivery after its requeue whose job dies again: dead, and its letter is there', async () => {
  const depositId = await deadDeposit('72');
  stack.failTransfers('010021', 1);
  const spy = redeliverAfterRequeue(depositId);
  const [outcome] = await replayDeadLetters(ops, { refs: [depositId], all: false, dryRun: false });
  spy.mockRestore();
  expect(outcome).toMatchObject({ outcome: 'replayed' });
  await stack.settled(depositId);
  expect((await stack.record(depositId)).state).toBe('dead');
  expect(stack.transfersFor(depositId)).toHaveLength(0);
  // Dead again: an operator must see it in the dead-letter queue.
  await expect.poll(async () => (await letterOf(depositId))?.id, { timeout: 10_000 }).toBeDefined();
});

it('sweep enqueue of a held deposit with a redelivery after its requeue: swept once', async () => {
  // Credited, then put on hold before its job ran: the job completes not-sweepable.
  const depositId = stack.deposit('73');
  await stack.sweepQueue.pause();
  expect((await stack.notify(depositId)).status).toBe(200);
  expect((await stack.notify(depositId, 'ON_HOLD')).status).toBe(200);
  expect((await stack.record(depositId)).state).toBe('held');
  await stack.sweepQueue.resume();
  expect(await stack.settled(depositId)).toMatchObject({
    status: 'completed',
    result: { outcome: 'not-sweepable' },
  });
  const spy = redeliverAfterRequeue(depositId);
  const result = await enqueueDeposit(ops, { depositId });
  spy.mockRestore();
  expect(result).toMatchObject({ previousState: 'held' });
  expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
  expect((await stack.record(depositId)).state).toBe('swept');
  expect(stack.transfersFor(depositId)).toHaveLength(1);
  expect(stack.callsFor(depositId)).toMatchObject({ resentAfterConfirmed: [] });
});
