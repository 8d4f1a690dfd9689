import type { Job } from 'bullmq';
import type { DeadLetterData } from '../queues/names.js';
import { sweepJobId } from '../queues/names.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import type { OpsDeps } from './ops-context.js';
import { usageError } from './ops-error.js';
import { appendAudit } from './audit-log.js';
import { allDeadLetters, findDeadLetter, reasonMatches } from './dead-letters.js';
import { feedNotification, parseStoredBody, predictNotification } from './notification-replay.js';
import { ensureSweepJob, sweepJobInfo } from './sweep-job.js';
import { storedSignatureIsValid } from '../interlace/stored-notification.js';

export type ReplayInput = {
  refs: readonly string[];
  all: boolean;
  reason?: string;
  dryRun: boolean;
  /**
   * Replay an invalid notification whose stored signature is missing or no longer valid (the operator's
   * explicit decision, named in the audit entry). Without it such a letter is refused.
   */
  allowUnsigned?: boolean;
  /** With --all or --reason: at most this many letters, oldest first. */
  limit?: number;
  onProgress?: (done: number, total: number) => void;
};

export type ReplayOutcome = {
  ref: string;
  letterId?: string;
  kind?: DeadLetterData['kind'];
  depositId?: string;
  outcome: 'replayed' | 'would-replay' | 'refused' | 'still-invalid' | 'not-found';
  message: string;
  currency?: string;
  amount?: string;
  clientTransactionId?: string;
  state?: string;
};

/**
 * Replays dead letters. A failed sweep goes back through the ledger's requeue (which never moves a
 * swept or in-flight deposit) and a fresh sweep job; its clientTransactionId is derived from the deposit
 * id, so Interlace sees the same id as in the failed attempts and cannot move the money twice. An
 * invalid notification is fed again through the live receiving path.
 */
export async function replayDeadLetters(deps: OpsDeps, input: ReplayInput): Promise<ReplayOutcome[]> {
  const selectors = Number(input.refs.length > 0) + Number(input.all) + Number(input.reason !== undefined);
  if (selectors !== 1)
    throw usageError('dlq replay: give dead-letter ids, or --all, or --reason R (one of them)');
  if (input.limit !== undefined && input.refs.length > 0)
    throw usageError('dlq replay: --limit goes with --all or --reason, not with ids');
  const targets: { ref: string; job?: Job<DeadLetterData> }[] = [];
  if (input.refs.length > 0) {
    for (const ref of input.refs) {
      const job = await findDeadLetter(deps.queues, ref);
      targets.push(job ? { ref, job } : { ref });
    }
  } else {
    for (const letter of await allDeadLetters(deps.queues)) {
      if (input.reason !== undefined && !reasonMatches(letter, input.reason)) continue;
      if (input.limit !== undefined && targets.length >= input.limit) break;
      const job = await findDeadLetter(deps.queues, letter.id);
      if (job) targets.push({ ref: letter.id, job });
    }
  }
  const outcomes: ReplayOutcome[] = [];
  for (const target of targets) {
    input.onProgress?.(outcomes.length, targets.length);
    if (!target.job?.id) {
      outcomes.push({ ref: target.ref, outcome: 'not-found', message: 'no such dead letter' });
      continue;
    }
    const base = { ref: target.ref, letterId: target.job.id, kind: target.job.data.kind };
    try {
      const outcome =
        target.job.data.kind === 'sweep-failed'
          ? await replaySweep(deps, target.job, input.dryRun)
          : await replayNotification(deps, target.job, input.dryRun, input.allowUnsigned === true);
      outcomes.push({ ...base, ...outcome });
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      outcomes.push({ ...base, outcome: 'refused', message });
    }
  }
  input.onProgress?.(outcomes.length, targets.length);
  if (!input.dryRun) {
    const refs = [
      ...(input.refs.length > 0 ? input.refs : [input.all ? '--all' : `--reason ${input.reason}`]),
      ...(input.allowUnsigned ? ['--allow-unsigned'] : []),
    ];
    await appendAudit(deps, { command: 'dlq replay', targets: refs, result: outcomes, dryRun: false });
  }
  return outcomes;
}

type Outcome = Omit<ReplayOutcome, 'ref' | 'letterId' | 'kind'>;

async function replaySweep(deps: OpsDeps, letter: Job<DeadLetterData>, dryRun: boolean): Promise<Outcome> {
  const depositId = letter.data.depositId;
  if (!depositId) return { outcome: 'refused', message: 'dead letter names no deposit' };
  const deposit = await deps.deposits.get(depositId);
  const clientTransactionId = sweepTransactionId(depositId);
  if (!deposit) return { depositId, outcome: 'refused', message: 'deposit is not in the ledger (expired?)' };
  const money = { depositId, currency: deposit.currency, amount: deposit.amount, clientTransactionId };
  if (deposit.state === 'swept')
    return {
      ...money,
      outcome: 'refused',
      message: `already swept, transfer ${deposit.transferId ?? '(unknown)'}`,
    };
  if (deposit.state !== 'dead')
    return {
      ...money,
      outcome: 'refused',
      message: `deposit is ${deposit.state}, not dead`,
      state: deposit.state,
    };
  const job = await sweepJobInfo(deps.queues, depositId);
  if (job?.state === 'active')
    return { ...money, outcome: 'refused', message: 'its sweep job is still running; try again shortly' };
  if (dryRun) return { ...money, outcome: 'would-replay', message: 'would requeue and sweep', state: 'dead' };

  const previous = await deps.deposits.requeue(depositId, deps.operator, ['dead']);
  if (previous === 'missing')
    return { ...money, outcome: 'refused', message: 'deposit is not in the ledger' };
  if (previous.startsWith('refused:')) {
    const now = await deps.deposits.get(depositId);
    const state = previous.slice('refused:'.length);
    const message =
      state === 'swept'
        ? `already swept, transfer ${now?.transferId ?? '(unknown)'}`
        : `deposit is ${state}, not dead`;
    return { ...money, outcome: 'refused', message, state };
  }
  // The letter goes before the new job exists: were it removed after, a sweep that died again at once
  // would have its fresh dead letter deleted with the old one.
  await letter.remove();
  const sweep = await resetSweepJob(deps, depositId);
  return { ...money, outcome: 'replayed', message: `requeued (${sweep})`, state: 'queued' };
}

/** A dead deposit's old job is failed (or gone); BullMQ would ignore a new add with its id, so it goes. */
async function resetSweepJob(deps: OpsDeps, depositId: string) {
  const old = await deps.queues.sweep.getJob(sweepJobId(depositId));
  if (old && (await old.getState()) !== 'active') await old.remove();
  return ensureSweepJob(deps.queues, depositId);
}

async function replayNotification(
  deps: OpsDeps,
  letter: Job<DeadLetterData>,
  dryRun: boolean,
  allowUnsigned: boolean,
): Promise<Outcome> {
  const body = letter.data.notification?.body;
  const depositId = letter.data.depositId;
  const known = depositId ? { depositId } : {};
  if (body === undefined)
    return { ...known, outcome: 'refused', message: 'dead letter holds no notification' };
  // A dead letter is data anyone with access to Redis or the dashboard could have written: only a body
  // whose stored signature still verifies is fed back, unless the operator says otherwise (audited).
  const signed = storedSignatureIsValid(body, deps.config.interlace.webhookSecret);
  if (!signed && !allowUnsigned)
    return {
      ...known,
      outcome: 'refused',
      message:
        'the stored notification has no valid signature (INTERLACE_WEBHOOK_SECRET must be set for the CLI ' +
        'to check it); --allow-unsigned replays it anyway, audited',
    };
  const parsed = parseStoredBody(body);
  if (!parsed.ok) {
    if (!dryRun) await letter.updateData({ ...letter.data, reason: parsed.reason });
    return { ...known, outcome: 'still-invalid', message: parsed.reason };
  }
  if (dryRun) {
    const prediction = await predictNotification(deps, parsed.envelope);
    if (prediction.outcome === 'dead-lettered')
      return { ...known, outcome: 'still-invalid', message: `would stay: ${prediction.reason}` };
    if (prediction.outcome === 'ignored')
      return { ...known, outcome: 'would-replay', message: `would be ignored (${prediction.reason})` };
    return {
      depositId: prediction.depositId,
      currency: prediction.currency,
      amount: prediction.amount,
      clientTransactionId: prediction.clientTransactionId,
      state: prediction.state,
      outcome: 'would-replay',
      message: `deposit ${prediction.before} → ${prediction.state}${prediction.wouldSweep ? ', would sweep' : ''}`,
    };
  }
  const fed = await feedNotification(deps, parsed.envelope, body);
  if (fed.outcome === 'dead-lettered') {
    // acceptNotification normally rewrote this very letter (its id derives from the notification id);
    // this covers a letter written under another id, so the one the operator named shows the new reason.
    const reason = `invalid deposit notification: ${fed.reason}`;
    const current = await findDeadLetter(deps.queues, letter.id!);
    if (current && current.data.reason !== reason) await current.updateData({ ...current.data, reason });
    return { ...known, outcome: 'still-invalid', message: fed.reason };
  }
  await letter.remove();
  if (fed.outcome === 'ignored') return { ...known, outcome: 'replayed', message: `ignored (${fed.reason})` };
  const deposit = await deps.deposits.get(fed.depositId);
  return {
    depositId: fed.depositId,
    ...(deposit ? { currency: deposit.currency, amount: deposit.amount } : {}),
    clientTransactionId: fed.clientTransactionId,
    state: fed.state,
    outcome: 'replayed',
    message: `deposit ${fed.before} → ${fed.state}${fed.sweep === 'enqueued' ? ', sweep enqueued' : ''}`,
  };
}
