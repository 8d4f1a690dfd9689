import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { loadConfig } from '../../src/config.js';
import { startWorkers } from '../../workers/start-workers.js';
import { BACKFILL_QUEUE, BACKFILL_SCHEDULER_ID } from '../../src/backfill/keys.js';
import { syncBackfillScheduler } from '../../src/backfill/scheduler.js';

let stack: Stack;
let queue: Queue;

beforeAll(async () => {
  stack = await startStack('backfill-scheduler', {
    env: { BACKFILL_ENABLED: 'true', BACKFILL_INTERVAL_MS: '3600000' },
  });
  queue = new Queue(BACKFILL_QUEUE, { connection: stack.redis, prefix: stack.prefix });
});
afterAll(async () => {
  await queue?.close();
  await stack?.close();
});

describe('the backfill job scheduler', () => {
  it('exists on the backfill queue once a worker process started with BACKFILL_ENABLED=true', async () => {
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers).toEqual([
      expect.objectContaining({ key: BACKFILL_SCHEDULER_ID, name: BACKFILL_SCHEDULER_ID, every: 3_600_000 }),
    ]);
  });

  it('is removed by a worker process started with BACKFILL_ENABLED=false (the off switch)', async () => {
    const config = loadConfig({ ...stack.env, BACKFILL_ENABLED: 'false' });
    const workers = await startWorkers(config, stack.logger);
    try {
      expect(await queue.getJobSchedulers()).toEqual([]);
    } finally {
      await workers.close();
    }
    // And back on.
    expect(await syncBackfillScheduler(queue, stack.config)).toBe('scheduled');
    expect(await queue.getJobSchedulers()).toHaveLength(1);
  });
});
