import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack('shutdown', { env: { WORKER_CONCURRENCY: '5', SHUTDOWN_TIMEOUT_MS: '10000' } });
});
afterAll(async () => {
  await stack?.close();
});

describe('SIGTERM with sweeps in flight', () => {
  it('finishes the in-flight sweeps before closing, and takes no new ones', async () => {
    const workers = stack.workers!;
    stack.sim.faults.enqueue('transfer', { kind: 'latency', delayMs: 700 }, 3);
    const deposits = [stack.deposit('31'), stack.deposit('32'), stack.deposit('33')];
    let active = 0;
    const allActive = new Promise<void>((resolve) => {
      workers.worker.on('active', () => {
        active += 1;
        if (active === 3) resolve();
      });
    });
    for (const id of deposits) await stack.notify(id);
    await allActive;

    await workers.close();

    for (const id of deposits) {
      expect((await stack.record(id)).state).toBe('swept');
      expect(stack.transfersFor(id)).toHaveLength(1);
    }
    expect(await stack.sweepQueue.getActiveCount()).toBe(0);

    const late = stack.deposit('34');
    expect((await stack.notify(late)).status).toBe(200);
    expect(await stack.sweepQueue.getWaitingCount()).toBe(1);
    expect(stack.transfersFor(late)).toHaveLength(0);
  });
});

describe('a worker process receiving SIGTERM', () => {
  it('drains its in-flight sweep and exits 0', async () => {
    await stack.restartWorkers().then((w) => w.close());
    // The previous test leaves a deposit waiting on purpose: it must not take this test's fault.
    await stack.sweepQueue.drain();
    const depositId = stack.deposit('35');
    // Below INTERLACE_TIMEOUT_MS (1000 in tests): the call is slow, not failed.
    stack.sim.faults.enqueue('transfer', { kind: 'latency', delayMs: 500 }, 1);
    const child = spawn(process.execPath, ['--import', 'tsx', 'workers/start-workers.ts'], {
      env: { ...process.env, ...stack.env, LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const arrived = stack.sim.waitFor('fault', (fault) => fault.kind === 'latency', 30_000);
    await stack.notify(depositId);
    await arrived;

    child.kill('SIGTERM');
    const [code] = await once(child, 'exit');

    expect(code).toBe(0);
    expect((await stack.record(depositId)).state).toBe('swept');
    expect(stack.transfersFor(depositId)).toHaveLength(1);
  });
});
