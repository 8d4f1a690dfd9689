import { Job } from 'bullmq';
import type { DeadLetterData } from '../queues/names.js';
import type { Queues } from '../queues/create-queues.js';

export type DeadLetter = DeadLetterData & { id: string };

// Nothing consumes the dead-letter queue, so its entries wait; the other states cover a paused queue or
// someone having moved one by hand in Bull Board.
const STATES = ['waiting', 'paused', 'prioritized', 'delayed', 'active', 'completed', 'failed'] as const;

export async function allDeadLetters(queues: Queues): Promise<DeadLetter[]> {
  const jobs = await queues.dead.getJobs([...STATES], 0, -1, true);
  return jobs
    .filter((job): job is Job<DeadLetterData> & { id: string } => job !== undefined && job.id !== undefined)
    .map((job) => ({ id: job.id, ...job.data }))
    .sort((a, b) => a.deadAt.localeCompare(b.deadAt) || a.id.localeCompare(b.id));
}

/** Finds a dead letter by its job id, or by the deposit id it is about. */
export async function findDeadLetter(queues: Queues, ref: string): Promise<Job<DeadLetterData> | undefined> {
  for (const id of [ref, `deposit-${ref}`]) {
    const job = await Job.fromId<DeadLetterData>(queues.dead, id);
    if (job) return job;
  }
  return undefined;
}

/** Prefix or substring of the reason, case-insensitive. */
export function reasonMatches(letter: Pick<DeadLetterData, 'reason'>, filter: string): boolean {
  return letter.reason.toLowerCase().includes(filter.toLowerCase());
}
