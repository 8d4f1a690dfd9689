import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from '../config.js';
import { microBatch } from '../micro-batch.js';
import {
  DEAD_LETTER_QUEUE,
  PAYOUT_QUEUE,
  payoutJobId,
  type PayoutJobData,
  SWEEP_QUEUE,
  sweepJobId,
  type DeadLetterData,
  type SweepJobData,
} from './names.js';

export type Queues = {
  sweep: Queue<SweepJobData>;
  dead: Queue<DeadLetterData>;
  /** enqueueSweep on `sweep`, batched: deposits enqueued in the same turn share one MULTI. */
  enqueueSweep: (depositId: string) => Promise<void>;
  payout: Queue<PayoutJobData>;
};

/** Retries of a payout run: each resends the step it stopped at with the same idempotency value. */
export function payoutJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.payout.attempts,
    backoff: { type: 'exponential', delay: config.sweep.backoffMs },
    // The payout record, not the job, says what happened; jobs are kept a while for the dashboard.
    removeOnComplete: { age: 30 * 24 * 3600 },
    removeOnFail: { age: 90 * 24 * 3600 },
  };
}

/** Adds a run of the payout's job (one per trigger: a repeat of the same trigger is a no-op). */
export async function enqueuePayout(
  queue: Queue<PayoutJobData>,
  config: Config,
  payoutId: string,
  trigger?: string,
): Promise<void> {
  await queue.add(
    'run',
    { payoutId, kind: 'run' },
    { ...payoutJobOptions(config), jobId: payoutJobId(payoutId, trigger) },
  );
}

/** Backoff type name registered by the worker (exponential with jitter, honouring Retry-After). */
export const SWEEP_BACKOFF = 'sweep-backoff';

export function sweepJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.sweep.attempts,
    backoff: { type: SWEEP_BACKOFF },
    // Completed jobs may go: the deposit record, not the job, is what makes a sweep happen once. A kept
    // job costs about 1.3 KB of Redis, more than the deposit's whole ledger (docs/capacity.md): keep a
    // count for the dashboard, not days' worth.
    removeOnComplete: { count: config.sweep.keepCompletedJobs },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

/**
 * The sweep queue and its dead-letter queue, on one connection, under QUEUE_PREFIX. `skipMetasUpdate`
 * (the ops CLI) stops BullMQ writing the queues' meta keys on open, so reading creates no key.
 */
export function createQueues(
  connection: ConnectionOptions,
  config: Config,
  options: { skipMetasUpdate?: boolean } = {},
): Queues {
  const prefix = config.queuePrefix;
  const skipMetasUpdate = options.skipMetasUpdate === true;
  const sweep = new Queue<SweepJobData>(SWEEP_QUEUE, {
    connection,
    prefix,
    skipMetasUpdate,
    defaultJobOptions: sweepJobOptions(config),
  });
  return {
    sweep,
    enqueueSweep: createSweepEnqueuer(sweep),
    payout: new Queue<PayoutJobData>(PAYOUT_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: payoutJobOptions(config),
    }),
    dead: new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, {
      connection,
      prefix,
      skipMetasUpdate,
      // Dead letters wait for an operator: nothing consumes or removes them automatically.
      defaultJobOptions: { attempts: 1, removeOnComplete: false, removeOnFail: false },
    }),
  };
}

/** Adds the deposit's sweep job; a no-op when a job with its deterministic id still exists. */
export async function enqueueSweep(queue: Queue<SweepJobData>, depositId: string): Promise<void> {
  await queue.add('sweep', { depositId }, { jobId: sweepJobId(depositId) });
}

/**
 * enqueueSweep, batched: one addBulk (a MULTI, all or nothing) for the deposits of one turn. A failed
 * batch fails each of its callers, who answer 503 so Interlace redelivers; the job ids make a repeat a
 * no-op.
 */
export function createSweepEnqueuer(
  queue: Queue<SweepJobData>,
  maxSize = 64,
): (depositId: string) => Promise<void> {
  return microBatch<string, void>(
    async (depositIds) => {
      if (depositIds.length === 1) await enqueueSweep(queue, depositIds[0]!);
      else
        await queue.addBulk(
          depositIds.map((depositId) => ({
            name: 'sweep',
            data: { depositId },
            opts: { jobId: sweepJobId(depositId) },
          })),
        );
      return depositIds.map(() => ({ ok: true, value: undefined }));
    },
    { maxSize },
  );
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.allSettled([queues.sweep.close(), queues.dead.close(), queues.payout.close()]);
}
