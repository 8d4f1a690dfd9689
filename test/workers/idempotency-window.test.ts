import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { cli } from '../ops/cli-harness.js';

// Interlace keeps a transfer's idempotency record 90 days (API-NOTES §9): after that a repeated
// clientTransactionId may move the money again. A dead deposit replayed later than the window after
// its first transfer call must never be sent again (issue #11 attack review, item 5).

const DAY = 86_400_000;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack('sweep-window', { env: { SWEEP_ATTEMPTS: '3' } });
});
afterAll(async () => {
  await stack?.close();
});

/** A deposit whose only transfer call was refused for good: dead-lettered after one call. */
async function deadDeposit(amount: string): Promise<string> {
  stack.sim.faults.enqueue('transfer', { kind: 'business-error', code: '010021' }, 1);
  const depositId = stack.deposit(amount);
  expect((await stack.notify(depositId)).status).toBe(200);
  expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
  expect((await stack.record(depositId)).state).toBe('dead');
  expect(stack.callsFor(depositId).calls).toBe(1);
  return depositId;
}

const replay = (depositId: string) =>
  cli({ ...stack.env }, 'dlq', 'replay', depositId, '--operator', 'test-operator');

describe('the sweep idempotency window (SWEEP_IDEMPOTENCY_WINDOW_DAYS)', () => {
  it('records the time of the first transfer call of a deposit, once, in a record that outlives the ledger', async () => {
    const before = Date.now();
    const depositId = await deadDeposit('21');
    const key = stack.keys.transferFirstAttempts(depositId);
    const first = Number(await stack.redis.hget(key, depositId));
    expect(first).toBeGreaterThanOrEqual(before);
    expect(await stack.redis.ttl(key)).toBe(-1);

    // A replay inside the window sweeps it (same clientTransactionId) and keeps the first time...
    expect((await replay(depositId)).code).toBe(0);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept' });
    // ...which the swept-ids record then replaces: swept deposits cost nothing here.
    expect(await stack.redis.hget(key, depositId)).toBeNull();
  });

  it('a dlq replay past the window never calls the transfer again: the deposit is held with the reason', async () => {
    const depositId = await deadDeposit('22');
    // As if the first transfer call had been made 86 days ago (the default window is 85 days).
    await stack.redis.hset(
      stack.keys.transferFirstAttempts(depositId),
      depositId,
      String(Date.now() - 86 * DAY),
    );

    const run = await replay(depositId);
    expect(run.code).toBe(0);
    await stack.settled(depositId);

    const record = await stack.record(depositId);
    expect(record.state).toBe('held');
    expect(record.reason).toMatch(/^idempotency-window-closed: the first transfer call was 86 days ago/);
    expect(stack.callsFor(depositId).calls).toBe(1);
    expect(stack.transfersFor(depositId)).toHaveLength(0);
    // Held is an operator's: another replay or requeue is refused the same way, never sent.
    expect(await stack.redis.zscore(stack.keys.depositsHeld, depositId)).not.toBeNull();
  });
});
