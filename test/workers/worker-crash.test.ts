import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';

let stack: Stack;
let child: ChildProcess | undefined;

beforeAll(async () => {
  // No in-process worker: the first sweep runs in a child process that the test kills.
  stack = await startStack('worker-crash', {
    workers: false,
    env: { SWEEP_LOCK_MS: '1500', INTERLACE_TIMEOUT_MS: '20000' },
  });
});
afterAll(async () => {
  child?.kill('SIGKILL');
  await stack?.close();
});

function startWorkerProcess(env: Record<string, string | undefined>): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', 'workers/start-workers.ts'], {
    env: { ...process.env, ...env, LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}

describe('a worker killed mid-sweep', () => {
  it('loses nothing: the stalled job runs again elsewhere with the same ids, and moves the money once', async () => {
    const depositId = stack.deposit('25');
    // The transfer commits, then Interlace's answer is held: the worker is killed while waiting for it.
    stack.sim.faults.enqueue('transfer', { kind: 'timeout-after-commit', delayMs: 60_000 }, 1);
    child = startWorkerProcess(stack.env);
    const held = stack.sim.waitFor('held', () => true, 30_000);

    await stack.notify(depositId);
    await held;
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect((await stack.record(depositId)).state).toBe('sweeping');

    await stack.restartWorkers();

    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    const [transfer, ...others] = stack.transfersFor(depositId);
    expect(others).toHaveLength(0);
    expect(transfer?.replays).toBe(1);
    expect(transfer?.clientTransactionId).toBe(sweepTransactionId(depositId));
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept', transferId: transfer?.id });
  });
});
