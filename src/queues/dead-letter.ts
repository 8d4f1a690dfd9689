import { createHash } from 'node:crypto';
import { Job, type Queue } from 'bullmq';
import type { DeadLetterData } from './names.js';

/** Job id of a dead letter: one entry per deposit, or per invalid notification. */
export function deadLetterId(data: Pick<DeadLetterData, 'kind' | 'depositId' | 'notification'>): string {
  if (data.kind === 'sweep-failed' && data.depositId !== undefined) return `deposit-${data.depositId}`;
  const seed = data.notification?.id ?? data.notification?.body ?? data.depositId ?? '';
  return `notification-${createHash('sha256').update(seed).digest('hex').slice(0, 32)}`;
}

/**
 * Writes a dead letter: the one place that does (STYLE §6). A deposit that dies again after a replay
 * updates its entry instead of leaving the old reason behind.
 */
export async function writeDeadLetter(queue: Queue<DeadLetterData>, data: DeadLetterData): Promise<string> {
  const jobId = deadLetterId(data);
  const existing = await Job.fromId<DeadLetterData>(queue, jobId);
  if (existing) {
    await existing.updateData(data);
    return jobId;
  }
  await queue.add(data.kind, data, { jobId });
  return jobId;
}
