import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { cli } from '../ops/cli-harness.js';

// Attack C (lead's memory at rest, 5396a6f), attempts that HOLD: a swept record loses its
// clientTransactionId, statusAt, queuedAt and notification set, and completed sweep jobs go at once
// (SWEEP_KEEP_COMPLETED_JOBS=0). Redelivered notifications (same and new envelope ids, late stop
// statuses), an operator's events replay, sweep enqueue and deleting the ledger record never move the
// money again: state 'swept' is terminal and the swept-ids record answers when the record is gone.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('attack-c-swept-compaction', {
    env: { UNKNOWN_WALLET_DEPOSITS: 'sweep', SWEEP_KEEP_COMPLETED_JOBS: '0' },
  });
});
afterAll(async () => {
  await stack?.close();
});

const swept = async (depositId: string) =>
  expect.poll(async () => (await stack.record(depositId)).state, { timeout: 15_000 }).toBe('swept');

it('a compacted swept deposit is never swept again, whatever is replayed at it', async () => {
  const since = new Date(Date.now() - 1000).toISOString();
  const depositId = stack.deposit('45');
  expect((await stack.notify(depositId)).status).toBe(200);
  await swept(depositId);
  const record = await stack.record(depositId);
  expect(record.statusAt).toBeUndefined();
  expect(record.clientTransactionId).toBeUndefined();
  expect(await stack.sweepQueue.getJob(`deposit-${depositId}`)).toBeUndefined();

  // Redeliveries: the same one, under a new envelope id, late stop statuses.
  expect((await stack.notify(depositId)).status).toBe(200);
  expect((await stack.notify(depositId, 'CLOSED', `evt-new-${depositId}`)).status).toBe(200);
  expect((await stack.notify(depositId, 'ON_HOLD')).status).toBe(200);
  expect((await stack.notify(depositId, 'FAIL')).status).toBe(200);
  expect((await stack.record(depositId)).state).toBe('swept');

  // Operators: events replay, sweep enqueue (refused), then the ledger record lost and enqueue again.
  const ops = (...argv: string[]) => cli(stack.env, '--operator', 'op', '--json', ...argv);
  expect((await ops('events', 'replay', '--since', since)).code).toBe(0);
  expect((await ops('sweep', 'enqueue', depositId)).code).toBe(1);
  await stack.redis.del(stack.keys.deposit(depositId));
  const fed = await ops('sweep', 'enqueue', depositId);
  expect(fed.code, fed.err).toBe(0);
  expect((await stack.record(depositId)).state).toBe('swept');
  expect((await stack.notify(depositId)).status).toBe(200);
  expect((await stack.record(depositId)).state).toBe('swept');

  expect(stack.transferCallsFor(depositId)).toHaveLength(1);
  expect(await stack.sweepQueue.getJob(`deposit-${depositId}`)).toBeUndefined();
});
