import { enqueueSweep, type Queues } from '../queues/create-queues.js';
import { sweepJobId } from '../queues/names.js';
import { OpsError } from './ops-error.js';

export type SweepJobInfo = {
  id: string;
  state: string;
  attemptsMade: number;
  failedReason?: string;
  finishedOn?: string;
  result?: unknown;
};

/** The deposit's sweep job as BullMQ sees it, or undefined when there is none. */
export async function sweepJobInfo(queues: Queues, depositId: string): Promise<SweepJobInfo | undefined> {
  const job = await queues.sweep.getJob(sweepJobId(depositId));
  if (!job) return undefined;
  return {
    id: job.id ?? sweepJobId(depositId),
    state: await job.getState(),
    attemptsMade: job.attemptsMade,
    ...(job.failedReason ? { failedReason: job.failedReason } : {}),
    ...(job.finishedOn ? { finishedOn: new Date(job.finishedOn).toISOString() } : {}),
    ...(job.returnvalue !== null && job.returnvalue !== undefined ? { result: job.returnvalue } : {}),
  };
}

/** Refuses while a worker holds the deposit's job: it could still be moving the money. */
export async function assertSweepJobIdle(queues: Queues, depositId: string): Promise<void> {
  const info = await sweepJobInfo(queues, depositId);
  if (info?.state === 'active') {
    throw new OpsError(
      `deposit ${depositId}: its sweep job is running right now; try again when it has finished`,
    );
  }
}

/**
 * Makes sure a queued deposit has a live sweep job. BullMQ ignores an add whose job id still exists, so
 * a finished (failed or completed) job left from an earlier sweep must go first, or the deposit would
 * stay queued with nothing to run it. Safe: the deposit record, not the job, decides whether money moves.
 */
export async function ensureSweepJob(
  queues: Queues,
  depositId: string,
): Promise<'enqueued' | 'already-queued'> {
  const job = await queues.sweep.getJob(sweepJobId(depositId));
  if (job) {
    const state = await job.getState();
    if (state !== 'completed' && state !== 'failed' && state !== 'unknown') return 'already-queued';
    await job.remove();
  }
  await enqueueSweep(queues.sweep, depositId);
  return 'enqueued';
}
