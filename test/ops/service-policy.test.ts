import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { readServicePolicy } from '../../src/policy/service-policy.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';
import type { EventReplayReport } from '../../src/ops/events-replay.js';
import { cli, keysUnder } from './cli-harness.js';

let stack: Stack;

beforeAll(async () => {
  // A USDC-only service with a minimum of 5 and a maximum of 100.
  stack = await startStack('service-policy', {
    env: {
      SWEEP_CURRENCIES: 'USDC',
      SWEEP_MIN_AMOUNT: '5',
      SWEEP_MAX_AMOUNT: '100',
      RECONCILE_ENABLED: 'false',
    },
  });
});
afterAll(async () => {
  await stack?.close();
});

// The operator's shell says otherwise: both stablecoins, no minimum worth the name, no maximum.
const shell = () => ({
  ...stack.env,
  SWEEP_CURRENCIES: 'USDC,USDT',
  SWEEP_MIN_AMOUNT: '0.01',
  SWEEP_MAX_AMOUNT: 'none',
});

describe("the service's policy is the only policy", () => {
  it('is published to Redis when the service starts', async () => {
    expect(await readServicePolicy(stack.redis, stack.keys)).toMatchObject({
      version: 1,
      currencies: ['USDC'],
      minAmount: '5',
      maxAmount: '100',
      unknownWalletDeposits: 'sweep',
      mode: 'mor',
    });
  });

  it("events replay applies the service's rules, not the operator's shell: an unsupported USDT deposit stays unswept", async () => {
    const usdt = stack.deposit('20', 'USDT');
    await stack.notify(usdt);
    expect((await stack.record(usdt)).state).toBe('unsupported');
    // Its record is gone (expired, deleted); the event log still has its notification.
    await stack.redis.del(stack.keys.deposit(usdt));

    const run = await cli(
      shell(),
      'events',
      'replay',
      '--since',
      '1h',
      '--operator',
      'policy-tester',
      '--json',
    );

    expect(run.code).toBe(0);
    const fed = run.json<EventReplayReport>().events.find((e) => JSON.stringify(e.result).includes(usdt));
    // Recreated by the CLI with the service's rules: unsupported, no sweep job (the shell's would queue it).
    expect(fed?.result).toMatchObject({
      outcome: 'deposit',
      depositId: usdt,
      state: 'unsupported',
      sweep: 'none',
    });
    expect((await stack.record(usdt)).state).toBe('unsupported');
    expect(stack.sim.transferCalls(sweepTransactionId(usdt)).calls).toBe(0);
    // The same for an amount above the service's maximum: held, not swept.
    const big = stack.deposit('150');
    await stack.notify(big);
    expect((await stack.record(big)).state).toBe('held');
    await stack.redis.del(stack.keys.deposit(big));
    expect(
      (await cli(shell(), 'events', 'replay', '--since', '1h', '--operator', 'policy-tester')).code,
    ).toBe(0);
    expect((await stack.record(big)).state).toBe('held');
    expect(stack.sim.transferCalls(sweepTransactionId(big)).calls).toBe(0);
  });

  it('refuses to run without a published policy (a mistyped QUEUE_PREFIX, a service not restarted), writing nothing', async () => {
    const policy = await stack.redis.get(stack.keys.policy);
    await stack.redis.del(stack.keys.policy);
    try {
      const before = await keysUnder(stack.redis, stack.prefix);
      const run = await cli(shell(), 'events', 'replay', '--since', '1h');
      expect(run.code).toBe(1);
      expect(run.err).toMatch(/no service policy under QUEUE_PREFIX ".*".*check QUEUE_PREFIX/);
      expect(run.err.trim().split('\n')).toHaveLength(1);
      expect(await keysUnder(stack.redis, stack.prefix)).toEqual(before);
    } finally {
      await stack.redis.set(stack.keys.policy, policy!);
    }
  });
});
