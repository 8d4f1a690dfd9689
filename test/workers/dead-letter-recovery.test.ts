import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { createDepositStore } from '../../src/deposits/deposit-store.js';

let stack: Stack;

beforeAll(async () => {
  // No worker at first: the test sets up the moment a killed worker leaves behind.
  stack = await startStack('dead-letter-recovery', { workers: false });
});
afterAll(async () => {
  await stack?.close();
});

describe('a worker killed between burying a deposit and writing its dead letter', () => {
  it('leaves a job that, run again, writes the missing dead letter instead of failing silently', async () => {
    const depositId = stack.deposit('70');
    await stack.notify(depositId);
    // What the killed worker managed: the record says dead, the dead letter was never written.
    await createDepositStore(stack.redis, stack.keys).markDead(depositId, 'business-error: code 010021');
    expect(await stack.deadQueue.getJob(`deposit-${depositId}`)).toBeUndefined();

    await stack.restartWorkers();

    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
    const letter = await stack.deadQueue.getJob(`deposit-${depositId}`);
    expect(letter?.data).toMatchObject({
      kind: 'sweep-failed',
      depositId,
      reason: 'business-error: code 010021',
    });
    expect(stack.transfersFor(depositId)).toHaveLength(0);
  });
});
