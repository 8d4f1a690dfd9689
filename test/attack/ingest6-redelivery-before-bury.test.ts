import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { gate } from '../helpers/gate.js';
import { failFirstClaim, holdTransferCalls } from '../helpers/sweep-spies.js';
import { sweepJobId } from '../../src/queues/names.js';
import { deadLetterId } from '../../src/queues/dead-letter.js';
import { cli } from '../ops/cli-harness.js';

// Attack round 6 on e713f08 (a finished job of a queued deposit is removed and re-added also when the
// ledger answers 'unchanged'). The one way a deposit is queued while its job has finished for good is a
// job that failed before its claim wrote anything (here: the claim's Redis call lost on the only
// attempt). The worker's safety net (onFailed) then buries the deposit, asynchronously. A redelivery in
// between now removes the failed job and adds a fresh one, which claims the deposit and calls the
// transfer while the safety net buries it. The money must move once, the record must follow the money,
// and the dead letter left behind must never replay it.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('attack6-before-bury', { env: { SWEEP_ATTEMPTS: '1' } });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await stack?.close();
});

it('a redelivery between a final job failure and its bury: swept once, the leftover letter replays nothing', async () => {
  const deps = stack.workers!.deps;
  const depositId = stack.deposit('61');

  // The first claim is lost (a Redis error before the script wrote): the only attempt fails, queued.
  failFirstClaim(deps, depositId);
  // The safety net's bury waits until the fresh job has claimed and is calling the transfer.
  const buryStarted = gate();
  const releaseBury = gate();
  const markDead = deps.deposits.markDead.bind(deps.deposits);
  let buried: Promise<unknown> | undefined;
  vi.spyOn(deps.deposits, 'markDead').mockImplementation((id, ...rest) => {
    if (id !== depositId) return markDead(id, ...rest);
    buried = (async () => {
      buryStarted.open();
      await releaseBury.opened;
      return markDead(id, ...rest);
    })();
    return buried as ReturnType<typeof markDead>;
  });
  const transferCalls = holdTransferCalls(deps);

  expect((await stack.notify(depositId)).status).toBe(200);
  await buryStarted.opened;
  expect((await stack.record(depositId)).state).toBe('queued');
  expect(await (await stack.sweepQueue.getJob(sweepJobId(depositId)))?.getState()).toBe('failed');

  // Interlace redelivers: 'unchanged', queued, job finished → the job is removed and added again.
  expect((await stack.notify(depositId)).status).toBe(200);
  await transferCalls.calling;
  expect((await stack.record(depositId)).state).toBe('sweeping');

  // The bury lands while the transfer is in flight, then the transfer answers.
  releaseBury.open();
  await buried;
  await expect
    .poll(async () => (await stack.deadQueue.getJob(deadLetterId({ kind: 'sweep-failed', depositId })))?.id)
    .toBeDefined();
  transferCalls.release();
  expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
  vi.restoreAllMocks();

  expect(await stack.record(depositId)).toMatchObject({ state: 'swept' });
  expect(stack.transfersFor(depositId)).toHaveLength(1);
  expect(stack.callsFor(depositId)).toMatchObject({ calls: 1, resentAfterConfirmed: [] });

  // The letter the bury wrote replays nothing: the deposit is swept.
  const run = await cli(stack.env, '--operator', 'op', '--json', 'dlq', 'replay', '--all');
  expect(run.json<{ outcomes: unknown[] }>().outcomes).toEqual([
    expect.objectContaining({
      depositId,
      outcome: 'refused',
      message: expect.stringMatching(/already swept/),
    }),
  ]);
  expect(stack.transfersFor(depositId)).toHaveLength(1);
  expect(stack.callsFor(depositId).calls).toBe(1);
  expect((await stack.record(depositId)).state).toBe('swept');
});
