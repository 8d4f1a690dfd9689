import { Job } from 'bullmq';
import type { DepositState } from '../deposits/deposit-state.js';
import type { DeadLetterData } from '../queues/names.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import type { OpsDeps } from './ops-context.js';
import { OpsError } from './ops-error.js';
import { appendAudit } from './audit-log.js';
import { readEvents } from './event-log.js';
import { feedNotification, parseStoredBody } from './notification-replay.js';
import { assertSweepJobIdle, ensureSweepJob } from './sweep-job.js';

/**
 * States an operator may explicitly send to the sweep: each was kept out of it on purpose (hold, upstream
 * FAIL, dust, pending), so only a named deposit, never a bulk command, goes from them to queued.
 */
export const ENQUEUE_ALLOWED: readonly DepositState[] = [
  'dead',
  'held',
  'failed',
  'dust',
  'unsupported',
  'pending',
];

export type EnqueueResult = {
  depositId: string;
  outcome: 'enqueued' | 'already-queued' | 'fed-from-event-log';
  previousState: string;
  state: string;
  clientTransactionId: string;
  notificationsFed?: number;
};

/** Sends one deposit to the sweep, whatever kept it out; never a swept or in-flight one. */
export async function enqueueDeposit(deps: OpsDeps, input: { depositId: string }): Promise<EnqueueResult> {
  const { depositId } = input;
  const result = await enqueue(deps, depositId).catch(async (error: unknown) => {
    if (error instanceof OpsError)
      await appendAudit(deps, {
        command: 'sweep enqueue',
        targets: [depositId],
        result: { refused: error.message },
      });
    throw error;
  });
  await appendAudit(deps, { command: 'sweep enqueue', targets: [depositId], result });
  return result;
}

async function enqueue(deps: OpsDeps, depositId: string): Promise<EnqueueResult> {
  const clientTransactionId = sweepTransactionId(depositId);
  const deposit = await deps.deposits.get(depositId);
  if (!deposit) return feedFromEventLog(deps, depositId);
  if (deposit.state === 'swept')
    throw new OpsError(`deposit ${depositId}: already swept, transfer ${deposit.transferId ?? '(unknown)'}`);
  if (deposit.state === 'sweeping') throw new OpsError(`deposit ${depositId} is being swept right now`);
  await assertSweepJobIdle(deps.queues, depositId);
  if (deposit.state === 'queued') {
    // Queued without a runnable job (e.g. an interrupted replay): repair it.
    const sweep = await ensureSweepJob(deps.queues, depositId);
    return { depositId, outcome: sweep, previousState: 'queued', state: 'queued', clientTransactionId };
  }
  const previous = await deps.deposits.requeue(depositId, deps.operator, ENQUEUE_ALLOWED);
  if (previous === 'missing') throw new OpsError(`deposit ${depositId} vanished from the ledger`);
  if (previous.startsWith('refused:'))
    throw new OpsError(`deposit ${depositId} is ${previous.slice('refused:'.length)}: not enqueued`);
  // A dead deposit's letter is settled by this decision; left behind, a replay of it would be refused.
  const letter = await Job.fromId<DeadLetterData>(deps.queues.dead, `deposit-${depositId}`);
  if (letter) await letter.remove();
  const sweep = await ensureSweepJob(deps.queues, depositId);
  return { depositId, outcome: sweep, previousState: previous, state: 'queued', clientTransactionId };
}

async function feedFromEventLog(deps: OpsDeps, depositId: string): Promise<EnqueueResult> {
  let fed = 0;
  let last: Awaited<ReturnType<typeof feedNotification>> | undefined;
  for await (const event of readEvents(deps, {})) {
    // A cheap filter before parsing: the deposit id appears verbatim in the body of its notifications.
    if (!event.body.includes(depositId)) continue;
    const parsed = parseStoredBody(event.body);
    if (!parsed.ok || resourceId(parsed.envelope.resource) !== depositId) continue;
    last = await feedNotification(deps, parsed.envelope, event.body);
    fed += 1;
  }
  if (fed === 0 || last === undefined)
    throw new OpsError(`unknown deposit ${depositId}: not in the ledger nor in the event log`);
  const state = last.outcome === 'deposit' ? last.state : last.outcome;
  return {
    depositId,
    outcome: 'fed-from-event-log',
    previousState: 'missing',
    state,
    clientTransactionId: sweepTransactionId(depositId),
    notificationsFed: fed,
  };
}

function resourceId(resource: string): string | undefined {
  try {
    const parsed = JSON.parse(resource) as { id?: unknown };
    return typeof parsed.id === 'string' ? parsed.id : undefined;
  } catch {
    return undefined;
  }
}
