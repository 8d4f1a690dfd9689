import { Job } from 'bullmq';
import type { DepositState } from '../deposits/deposit-state.js';
import { REQUEUEABLE_STATES } from '../policy/deposit-policy.js';
import type { DeadLetterData } from '../queues/names.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import type { OpsDeps } from './ops-context.js';
import { OpsError } from './ops-error.js';
import { appendAudit } from './audit-log.js';
import { readEvents } from './event-log.js';
import { feedNotification, parseStoredBody } from './notification-replay.js';
import { assertSweepJobIdle, ensureSweepJob, sweepJobInfo } from './sweep-job.js';

/**
 * States an operator may explicitly send to the sweep: each was kept out of it on purpose (hold, upstream
 * FAIL, dust, pending), so only a named deposit, never a bulk command, goes from them to queued.
 */
export const ENQUEUE_ALLOWED: readonly DepositState[] = REQUEUEABLE_STATES;

export type EnqueueResult = {
  depositId: string;
  outcome:
    'enqueued' | 'already-queued' | 'fed-from-event-log' | 'would-enqueue' | 'would-feed-from-event-log';
  previousState: string;
  state: string;
  clientTransactionId: string;
  notificationsFed?: number;
};

/**
 * Sends one deposit to the sweep, whatever kept it out; never a swept or in-flight one. With `dryRun`,
 * answers what it would do (the same refusals included) and writes nothing, not even the audit log.
 */
export async function enqueueDeposit(
  deps: OpsDeps,
  input: { depositId: string; dryRun?: boolean },
): Promise<EnqueueResult> {
  const { depositId } = input;
  if (input.dryRun) return preview(deps, depositId);
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

/** The checks that refuse an enqueue; answers the deposit's record, or undefined when there is none. */
async function checkEnqueueable(deps: OpsDeps, depositId: string) {
  const deposit = await deps.deposits.get(depositId);
  if (!deposit) return undefined;
  if (deposit.state === 'swept')
    throw new OpsError(`deposit ${depositId}: already swept, transfer ${deposit.transferId ?? '(unknown)'}`);
  if (deposit.state === 'sweeping') throw new OpsError(`deposit ${depositId} is being swept right now`);
  await assertSweepJobIdle(deps.queues, depositId);
  if (deposit.state !== 'queued' && !ENQUEUE_ALLOWED.includes(deposit.state))
    throw new OpsError(`deposit ${depositId} is ${deposit.state}: not enqueued`);
  return deposit;
}

async function preview(deps: OpsDeps, depositId: string): Promise<EnqueueResult> {
  const clientTransactionId = sweepTransactionId(depositId);
  const deposit = await checkEnqueueable(deps, depositId);
  if (deposit) {
    const job = await sweepJobInfo(deps.queues, depositId);
    const live = job !== undefined && !['completed', 'failed', 'unknown'].includes(job.state);
    return {
      depositId,
      outcome: deposit.state === 'queued' && live ? 'already-queued' : 'would-enqueue',
      previousState: deposit.state,
      state: 'queued',
      clientTransactionId,
    };
  }
  let found = 0;
  const events = matchingEvents(deps, depositId);
  while (!(await events.next()).done) found += 1;
  if (found === 0) throw new OpsError(`unknown deposit ${depositId}: not in the ledger nor in the event log`);
  return {
    depositId,
    outcome: 'would-feed-from-event-log',
    previousState: 'missing',
    state: 'unknown until fed',
    clientTransactionId,
    notificationsFed: found,
  };
}

async function enqueue(deps: OpsDeps, depositId: string): Promise<EnqueueResult> {
  const clientTransactionId = sweepTransactionId(depositId);
  const deposit = await checkEnqueueable(deps, depositId);
  if (!deposit) return feedFromEventLog(deps, depositId);
  if (deposit.state === 'queued') {
    // Queued without a runnable job (e.g. an interrupted replay): repair it.
    const sweep = await ensureSweepJob(deps.queues, depositId);
    return { depositId, outcome: sweep, previousState: 'queued', state: 'queued', clientTransactionId };
  }
  // By name, one deposit: the operator's release of it, also past the unknown-wallet rule.
  const previous = await deps.deposits.requeue(depositId, deps.operator, ENQUEUE_ALLOWED, Date.now(), true);
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
  for await (const { envelope, body } of matchingEvents(deps, depositId)) {
    last = await feedNotification(deps, envelope, body);
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

/** The deposit's notifications in the event log, oldest first. */
async function* matchingEvents(deps: OpsDeps, depositId: string) {
  for await (const event of readEvents(deps, {})) {
    // A cheap filter before parsing: the deposit id appears verbatim in the body of its notifications.
    if (!event.body.includes(depositId)) continue;
    const parsed = parseStoredBody(event.body);
    if (!parsed.ok || resourceId(parsed.envelope.resource) !== depositId) continue;
    yield { envelope: parsed.envelope, body: event.body };
  }
}

function resourceId(resource: string): string | undefined {
  try {
    const parsed = JSON.parse(resource) as { id?: unknown };
    return typeof parsed.id === 'string' ? parsed.id : undefined;
  } catch {
    return undefined;
  }
}
