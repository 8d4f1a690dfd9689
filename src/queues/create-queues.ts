import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Config } from '../config.js';
import {
  DEAD_LETTER_QUEUE,
  SWEEP_QUEUE,
  sweepJobId,
  type DeadLetterData,
  type SweepJobData,
} from './names.js';

export type Queues = { sweep: Queue<SweepJobData>; dead: Queue<DeadLetterData> };

/** Backoff type name registered by the worker (exponential with jitter, honouring Retry-After). */
export const SWEEP_BACKOFF = 'sweep-backoff';

export function sweepJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.sweep.attempts,
    backoff: { type: SWEEP_BACKOFF },
    // Completed jobs may go: the deposit record, not the job, is what makes a sweep happen once.
    removeOnComplete: { age: 7 * 24 * 3600, count: 100_000 },
    removeOnFail: { age: 30 * 24 * 3600 },
  };
}

/** The sweep queue and its dead-letter queue, on one connection, under QUEUE_PREFIX. */
export function createQueues(connection: ConnectionOptions, config: Config): Queues {
  const prefix = config.queuePrefix;
  return {
    sweep: new Queue<SweepJobData>(SWEEP_QUEUE, {
      connection,
      prefix,
      defaultJobOptions: sweepJobOptions(config),
    }),
    dead: new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, {
      connection,
      prefix,
      // Dead letters wait for an operator: nothing consumes or removes them automatically.
      defaultJobOptions: { attempts: 1, removeOnComplete: false, removeOnFail: false },
    }),
  };
}

/** Adds the deposit's sweep job; a no-op when a job with its deterministic id still exists. */
export async function enqueueSweep(queue: Queue<SweepJobData>, depositId: string): Promise<void> {
  await queue.add('sweep', { depositId }, { jobId: sweepJobId(depositId) });
}

export async function closeQueues(queues: Queues): Promise<void> {
  await Promise.allSettled([queues.sweep.close(), queues.dead.close()]);
}
