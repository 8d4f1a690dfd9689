import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { loadConfig } from '../../src/config.js';
import { startWorkers } from '../../workers/start-workers.js';
import { LEGACY_BACKFILL_QUEUE, RECONCILE_QUEUE, RECONCILE_SCHEDULER_ID } from '../../src/reconcile/keys.js';
import { syncReconcileScheduler } from '../../src/reconcile/scheduler.js';

let stack: Stack;
let queue: Queue;
let legacy: Queue;

beforeAll(async () => {
  stack = await startStack('reconcile-scheduler', {
    env: { RECONCILE_ENABLED: 'true', RECONCILE_INTERVAL_MS: '3600000' },
  });
  queue = new Queue(RECONCILE_QUEUE, { connection: stack.redis, prefix: stack.prefix });
  legacy = new Queue(LEGACY_BACKFILL_QUEUE, { connection: stack.redis, prefix: stack.prefix });
});
afterAll(async () => {
  await queue?.close();
  await legacy?.close();
  await stack?.close();
});

describe('the reconciliation job scheduler', () => {
  it('exists on the reconcile queue once a worker process started with RECONCILE_ENABLED=true', async () => {
    expect(await queue.getJobSchedulers()).toEqual([
      expect.objectContaining({
        key: RECONCILE_SCHEDULER_ID,
        name: RECONCILE_SCHEDULER_ID,
        every: 3_600_000,
      }),
    ]);
  });

  it('is removed by a worker process started with RECONCILE_ENABLED=false (the off switch), with the old backfill schedule', async () => {
    // A deployment upgraded from the sweeping backfill still has its schedule.
    await legacy.upsertJobScheduler(
      LEGACY_BACKFILL_QUEUE,
      { every: 900_000 },
      { name: LEGACY_BACKFILL_QUEUE },
    );
    const config = loadConfig({ ...stack.env, RECONCILE_ENABLED: 'false' });
    const workers = await startWorkers(config, stack.logger);
    try {
      expect(await queue.getJobSchedulers()).toEqual([]);
      expect(await legacy.getJobSchedulers()).toEqual([]);
    } finally {
      await workers.close();
    }
    // And back on.
    expect(await syncReconcileScheduler(queue, stack.config)).toBe('scheduled');
    expect(await queue.getJobSchedulers()).toHaveLength(1);
  });
});
