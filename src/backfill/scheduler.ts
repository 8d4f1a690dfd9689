import { Queue, type ConnectionOptions } from 'bullmq';
import type { Config } from '../config.js';
import { BACKFILL_QUEUE, BACKFILL_SCHEDULER_ID } from './keys.js';

export type BackfillJobData = { mode?: 'sweep' | 'report' };

export function createBackfillQueue(connection: ConnectionOptions, config: Config): Queue<BackfillJobData> {
  return new Queue<BackfillJobData>(BACKFILL_QUEUE, {
    connection,
    prefix: config.queuePrefix,
    defaultJobOptions: {
      // A failed run is not retried: the next scheduled run does the same work.
      attempts: 1,
      removeOnComplete: { count: 100 },
      removeOnFail: { count: 100 },
    },
  });
}

/**
 * Makes the queue's job scheduler match the configuration: BACKFILL_ENABLED=true upserts it every
 * BACKFILL_INTERVAL_MS (BullMQ runs the first one at once), false removes it (the off switch).
 */
export async function syncBackfillScheduler(
  queue: Queue<BackfillJobData>,
  config: Config,
): Promise<'scheduled' | 'removed'> {
  if (config.backfill.enabled) {
    await queue.upsertJobScheduler(
      BACKFILL_SCHEDULER_ID,
      { every: config.backfill.intervalMs },
      { name: BACKFILL_SCHEDULER_ID },
    );
    return 'scheduled';
  }
  await queue.removeJobScheduler(BACKFILL_SCHEDULER_ID);
  return 'removed';
}
