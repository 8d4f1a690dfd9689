import { Queue, type ConnectionOptions } from 'bullmq';
import type { Config } from '../config.js';
import { LEGACY_BACKFILL_QUEUE, RECONCILE_QUEUE, RECONCILE_SCHEDULER_ID } from './keys.js';

// A run takes no parameters: it only reports, whoever asked for it.
export type ReconcileJobData = Record<string, never>;

export function createReconcileQueue(connection: ConnectionOptions, config: Config): Queue<ReconcileJobData> {
  return new Queue<ReconcileJobData>(RECONCILE_QUEUE, {
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
 * Makes the queue's job scheduler match the configuration: RECONCILE_ENABLED=true upserts it every
 * RECONCILE_INTERVAL_MS (BullMQ runs the first one at once), false removes it (the off switch). Also
 * removes the scheduler of the backfill this replaced, which swept balances by itself.
 */
export async function syncReconcileScheduler(
  queue: Queue<ReconcileJobData>,
  config: Config,
): Promise<'scheduled' | 'removed'> {
  const legacy = new Queue(LEGACY_BACKFILL_QUEUE, {
    connection: queue.opts.connection,
    prefix: config.queuePrefix,
    // Only to remove its schedule: no meta key written for a queue nothing uses any more.
    skipMetasUpdate: true,
  });
  try {
    await legacy.removeJobScheduler(LEGACY_BACKFILL_QUEUE);
  } finally {
    await legacy.close();
  }
  if (config.reconcile.enabled) {
    await queue.upsertJobScheduler(
      RECONCILE_SCHEDULER_ID,
      { every: config.reconcile.intervalMs },
      { name: RECONCILE_SCHEDULER_ID },
    );
    return 'scheduled';
  }
  await queue.removeJobScheduler(RECONCILE_SCHEDULER_ID);
  return 'removed';
}
