import type { OpsDeps } from './ops-context.js';
import { usageError } from './ops-error.js';
import { appendAudit } from './audit-log.js';
import { findDeadLetter } from './dead-letters.js';

export type PurgeOutcome = { ref: string; outcome: 'purged' | 'not-found'; id?: string; depositId?: string };

/**
 * Deletes dead letters for good (the deposit records stay as they are). Destructive, so it demands an
 * explicit confirmation.
 */
export async function purgeDeadLetters(
  deps: OpsDeps,
  input: { refs: readonly string[]; confirmed: boolean },
): Promise<PurgeOutcome[]> {
  if (input.refs.length === 0) throw usageError('dlq purge: name at least one dead-letter id');
  if (!input.confirmed) throw usageError('dlq purge deletes dead letters for good: add --yes to confirm');
  const outcomes: PurgeOutcome[] = [];
  for (const ref of input.refs) {
    const job = await findDeadLetter(deps.queues, ref);
    if (!job?.id) {
      outcomes.push({ ref, outcome: 'not-found' });
      continue;
    }
    await job.remove();
    outcomes.push({
      ref,
      outcome: 'purged',
      id: job.id,
      ...(job.data.depositId ? { depositId: job.data.depositId } : {}),
    });
  }
  await appendAudit(deps, { command: 'dlq purge', targets: input.refs, result: outcomes });
  return outcomes;
}
