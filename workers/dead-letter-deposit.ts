import type { AttemptRecord } from '../src/queues/names.js';
import { deadLetterId, writeDeadLetter } from '../src/queues/dead-letter.js';
import type { SweepDeps } from './sweep-deps.js';
import type { Metrics } from '../src/metrics/metrics.js';
import { sendAlert, type Alerts } from '../src/alerts/alerts.js';
import { DEPOSIT_TRANSITIONS } from '../src/policy/deposit-policy.js';
import { transition } from '../src/policy/transition-table.js';

/**
 * Buries a deposit: marks its record dead and writes the dead letter with the reason, the last error
 * and the attempt history. The single place a sweep is declared dead (STYLE §6). Only what the
 * `sweep-dead` rows allow is buried: a swept deposit stays recorded as moved, a held or failed one
 * (a stop status that arrived meanwhile) stays as it is, with no letter that could replay it.
 */
export async function deadLetterDeposit(
  deps: Pick<SweepDeps, 'deposits' | 'queues' | 'logger'> & { metrics?: Metrics; alerts?: Alerts },
  depositId: string,
  reason: string,
  lastError: string,
): Promise<'dead' | 'swept' | 'missing' | 'kept'> {
  const previous = await deps.deposits.markDead(depositId, reason);
  if (previous === 'swept') return 'swept';
  if (previous !== 'missing' && transition(DEPOSIT_TRANSITIONS, previous, 'sweep-dead').action === 'refuse')
    return 'kept';
  const [deposit, attempts] = await Promise.all([
    deps.deposits.get(depositId),
    deps.deposits.attempts(depositId),
  ]);
  await writeDeadLetter(deps.queues.dead, {
    kind: 'sweep-failed',
    depositId,
    reason,
    lastError,
    attempts: attempts satisfies AttemptRecord[],
    ...(deposit ? { deposit: deposit as unknown as Record<string, string> } : {}),
    deadAt: new Date().toISOString(),
  });
  deps.logger.error({ depositId, reason, lastError }, 'deposit dead-lettered');
  deps.metrics?.countSweep('dead_lettered', reason);
  // Never throws: an alert endpoint or queue problem must not change what happens to the deposit.
  await sendAlert(deps, {
    kind: 'dead-lettered',
    depositId,
    reason,
    ...(deposit ? { amount: deposit.amount, currency: deposit.currency, accountId: deposit.accountId } : {}),
  });
  return previous === 'missing' ? 'missing' : 'dead';
}

/**
 * A worker killed after marking a deposit dead but before writing its dead letter leaves a job that
 * runs (or fails) again and finds it dead: the letter must be written then, or the deposit is buried
 * unseen.
 */
export async function ensureDeadLetter(
  deps: Parameters<typeof deadLetterDeposit>[0],
  depositId: string,
): Promise<void> {
  if (await deps.queues.dead.getJob(deadLetterId({ kind: 'sweep-failed', depositId }))) return;
  const reason = (await deps.deposits.get(depositId))?.reason ?? 'dead';
  await deadLetterDeposit(
    deps,
    depositId,
    reason,
    `${reason} (dead letter written on a re-run after a worker stopped)`,
  );
}
