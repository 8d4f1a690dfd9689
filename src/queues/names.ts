/** BullMQ queue names; every key lives under the configured QUEUE_PREFIX. */
export const SWEEP_QUEUE = 'sweep';
export const DEAD_LETTER_QUEUE = 'sweep-dead';

/** Job id of a deposit's sweep: BullMQ refuses integer-like custom ids, and Interlace ids are numeric. */
export function sweepJobId(depositId: string): string {
  return `deposit-${depositId}`;
}

export type SweepJobData = { depositId: string };

export type DeadLetterKind = 'sweep-failed' | 'invalid-notification';

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
