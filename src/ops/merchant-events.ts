import { Queue, type Job } from 'bullmq';
import { MERCHANT_EVENT_QUEUE, type MerchantEventJobData } from '../merchant-events/merchant-event.js';
import { appendAudit } from './audit-log.js';
import type { OpsDeps } from './ops-context.js';
import { OpsError } from './ops-error.js';

/** The delivery states an operator filters by (`failed` = dead-lettered after every attempt). */
export const MERCHANT_EVENT_STATES = ['failed', 'completed', 'delayed', 'waiting', 'active'] as const;
export type MerchantEventState = (typeof MERCHANT_EVENT_STATES)[number];

export type MerchantEventSummary = {
  eventId: string;
  type: string;
  depositId: string;
  state: string;
  attempts: number;
  createdAt: string;
  /** Why the last attempt failed (a failed or retrying event). */
  lastError?: string;
};

export type MerchantEventReplay = {
  eventId: string;
  previousState: string;
  outcome: 'requeued' | 'would-requeue';
};

/** The delivery queue for reading (no meta keys written on open). */
function openQueue(deps: Pick<OpsDeps, 'redis' | 'config'>): Queue<MerchantEventJobData> {
  const queue = new Queue<MerchantEventJobData>(MERCHANT_EVENT_QUEUE, {
    connection: deps.redis,
    prefix: deps.config.queuePrefix,
    skipMetasUpdate: true,
  });
  queue.on('error', () => undefined);
  return queue;
}

function summary(job: Job<MerchantEventJobData>, state: string): MerchantEventSummary {
  return {
    eventId: job.data.eventId,
    type: job.data.type,
    depositId: job.data.depositId,
    state,
    attempts: job.attemptsMade,
    createdAt: job.data.createdAt,
    ...(job.failedReason ? { lastError: job.failedReason } : {}),
  };
}

/** Merchant events by delivery state, newest first. */
export async function listMerchantEvents(
  deps: Pick<OpsDeps, 'redis' | 'config'>,
  input: { state?: MerchantEventState; limit: number },
): Promise<MerchantEventSummary[]> {
  const queue = openQueue(deps);
  try {
    const states = input.state ? [input.state] : [...MERCHANT_EVENT_STATES];
    // BullMQ pages each state on its own: the newest `limit` of every state, then merged by event time.
    const jobs = (await queue.getJobs(states, 0, input.limit - 1, false))
      .filter(Boolean)
      .sort(
        (a, b) =>
          b.data.createdAt.localeCompare(a.data.createdAt) || b.data.eventId.localeCompare(a.data.eventId),
      )
      .slice(0, input.limit);
    const found: MerchantEventSummary[] = [];
    for (const job of jobs) found.push(summary(job, input.state ?? (await job.getState())));
    return found;
  } finally {
    await queue.close();
  }
}

/** One merchant event: its delivery state and the body as it is signed and sent. */
export async function showMerchantEvent(
  deps: Pick<OpsDeps, 'redis' | 'config'>,
  eventId: string,
): Promise<MerchantEventSummary & { body: unknown }> {
  const queue = openQueue(deps);
  try {
    const job = await queue.getJob(eventId);
    if (!job) throw new OpsError(`no merchant event ${eventId} (delivered ones are kept 30 days)`);
    return { ...summary(job, await job.getState()), body: JSON.parse(job.data.body) as unknown };
  } finally {
    await queue.close();
  }
}

/**
 * Sends an event again, with the same id and body (a receiver that already has it recognises it by
 * `webhook-id`): a dead-lettered one gets every attempt again, a delivered one is queued anew. One
 * still on its way is refused. Audited.
 */
export async function replayMerchantEvent(
  deps: OpsDeps,
  input: { eventId: string; dryRun: boolean },
): Promise<MerchantEventReplay> {
  const queue = openQueue(deps);
  try {
    const job = await queue.getJob(input.eventId);
    if (!job) throw new OpsError(`no merchant event ${input.eventId} (delivered ones are kept 30 days)`);
    const previousState = await job.getState();
    if (previousState !== 'failed' && previousState !== 'completed')
      throw new OpsError(
        `merchant event ${input.eventId} is ${previousState}: already on its way, not replayed`,
      );
    const result: MerchantEventReplay = {
      eventId: input.eventId,
      previousState,
      outcome: input.dryRun ? 'would-requeue' : 'requeued',
    };
    if (!input.dryRun) {
      if (previousState === 'failed') {
        await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
      } else {
        // A completed job keeps its id: it goes, and the same event is added under the same id.
        await job.remove();
        await queue.add(job.name, job.data, { ...job.opts, jobId: input.eventId });
      }
    }
    await appendAudit(deps, {
      command: 'events merchant replay',
      targets: [input.eventId],
      result,
      dryRun: input.dryRun,
    });
    return result;
  } finally {
    await queue.close();
  }
}
