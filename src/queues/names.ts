/** BullMQ queue names; every key lives under the configured QUEUE_PREFIX. */
export const SWEEP_QUEUE = 'sweep';
export const DEAD_LETTER_QUEUE = 'sweep-dead';
/** One job per payout run: it resumes at the payout's recorded step (workers/payout-processor.ts). */
export const PAYOUT_QUEUE = 'payout';

/** `run` moves a payout along its chain; `confirm-check` is the bounded wait for its Closed. */
export type PayoutJobData = { payoutId: string; kind: 'run' | 'confirm-check' };

/** Job id of a payout's run; `trigger` names a later run (an operator's retry or refund). */
export function payoutJobId(payoutId: string, trigger?: string): string {
  return trigger === undefined ? `payout-${payoutId}` : `payout-${payoutId}-${trigger}`;
}

/** Job id of a deposit's sweep: BullMQ refuses integer-like custom ids, and Interlace ids are numeric. */
export function sweepJobId(depositId: string): string {
  return `deposit-${depositId}`;
}

export type SweepJobData = { depositId: string };

/**
 * sweep-failed: a deposit's sweep gave up; invalid-notification: a verified notification that does not
 * parse as a deposit; ingest-failed: one the ingest consumer could not store (INGEST_MAX_FAILURES).
 */
export type DeadLetterKind = 'sweep-failed' | 'invalid-notification' | 'ingest-failed';

export type AttemptRecord = {
  at: string;
  attempt: number;
  category: string;
  reason: string;
  message: string;
};

export type DeadLetterData = {
  kind: DeadLetterKind;
  /** Present when the deposit could be identified. */
  depositId?: string;
  reason: string;
  lastError?: string;
  attempts: AttemptRecord[];
  deposit?: Record<string, string>;
  /** For invalid notifications: the signed notification as received, for fixing and replaying. */
  notification?: { id?: string; eventType?: string; body: string };
  deadAt: string;
};
