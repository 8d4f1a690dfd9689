import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { InterlaceError } from '../src/interlace/errors.js';
import type { SweepJobData } from '../src/queues/names.js';
import { buildSweepTransfer, transferOutcome } from '../src/sweep/sweep-transfer.js';
import { deadLetterDeposit, ensureDeadLetter } from './dead-letter-deposit.js';
import type { SweepDeps } from './sweep-deps.js';
import type { Metrics } from '../src/metrics/metrics.js';
import type { Alerts } from '../src/alerts/alerts.js';

/** SweepDeps plus what the worker's composition root adds for observability (both optional). */
export type ObservedSweepDeps = SweepDeps & { metrics?: Metrics; alerts?: Alerts };

export type SweepResult =
  | { outcome: 'swept'; transferId: string; status: string; netAmount: string }
  | { outcome: 'already-swept' }
  | { outcome: 'swept-by-backfill' }
  | { outcome: 'not-sweepable'; state: string };

/**
 * One sweep job: claim the deposit, find the Infinity USD wallet, move the money with the deposit's
 * deterministic clientTransactionId, record the outcome. Failures go through handleFailure.
 */
export async function sweepDeposit(deps: ObservedSweepDeps, job: Job<SweepJobData>): Promise<SweepResult> {
  const { depositId } = job.data;
  const log = deps.logger.child({ depositId, jobId: job.id, attempt: job.attemptsMade + 1 });

  const { state, record: deposit } = await deps.deposits.claim(depositId);
  if (state === 'swept') {
    deps.metrics?.countSweep('already_swept');
    return { outcome: 'already-swept' };
  }
  if (state !== 'sweeping') deps.metrics?.countSweep('not_sweepable', state);
  if (state === 'dead') await ensureDeadLetter(deps, depositId);
  if (state === 'dead' || state === 'missing')
    throw new UnrecoverableError(`deposit ${depositId} is ${state}: not swept`);
  if (state !== 'sweeping') return { outcome: 'not-sweepable', state };

  if (!deposit) throw new UnrecoverableError(`deposit ${depositId} record vanished`);
  try {
    const infinityWalletId = await deps.infinityWallets.resolve(deposit.accountId);
    const body = buildSweepTransfer(deposit, infinityWalletId);
    log.debug(
      { clientTransactionId: body.clientTransactionId, amount: body.amount, currency: body.from.currency },
      'sweeping',
    );
    const transfer = await deps.client.createInternalTransfer(body, {
      idempotencyKey: body.clientTransactionId,
    });
    if (transfer.status === 'FAIL') {
      throw new InterlaceError({
        category: 'permanent',
        reason: 'transfer-failed',
        endpoint: 'POST /business/transfer/internal',
        message: `transfer ${transfer.id} has status FAIL`,
      });
    }
    const outcome = transferOutcome(transfer);
    await deps.deposits.markSwept(depositId, outcome);
    deps.metrics?.countSweep('swept');
    const since = Number(deposit.queuedAt ?? deposit.firstSeenAt);
    if (Number.isFinite(since) && since > 0)
      deps.metrics?.depositToSweptSeconds.observe(Math.max(0, Date.now() - since) / 1000);
    log.info(
      { transferId: transfer.id, status: transfer.status, net: outcome.netAmount, fee: outcome.feeTotal },
      'deposit swept',
    );
    return {
      outcome: 'swept',
      transferId: transfer.id,
      status: transfer.status,
      netAmount: outcome.netAmount ?? '',
    };
  } catch (error) {
    return await handleFailure(deps, job, error);
  }
}

/** Decides, once, what a failure means: settled by backfill, retry (rethrow), pause for a 429, or dead-letter. */
async function handleFailure(
  deps: ObservedSweepDeps,
  job: Job<SweepJobData>,
  error: unknown,
): Promise<SweepResult> {
  const { depositId } = job.data;
  const failure =
    error instanceof InterlaceError
      ? error
      : new InterlaceError({
          category: 'transient',
          reason: 'network',
          endpoint: 'internal',
          message: error instanceof Error ? error.message : String(error),
        });
  const attempt = job.attemptsMade + 1;
  await deps.deposits.recordAttempt(depositId, {
    at: new Date().toISOString(),
    attempt,
    category: failure.category,
    reason: failure.reason,
    message: failure.message,
  });
  const log = deps.logger.child({ depositId, jobId: job.id, attempt });

  if (failure.reason === 'insufficient-balance' && !depositId.startsWith('backfill-')) {
    // The backfill may have swept this deposit's money before its webhook arrived (README: backfill).
    const deposit = await deps.deposits.get(depositId);
    if (deposit && (await deps.deposits.claimBackfillCredit(deposit))) {
      log.info('funds already moved by a backfill sweep: recorded as swept by backfill');
      deps.metrics?.countSweep('swept', 'backfill');
      return { outcome: 'swept-by-backfill' };
    }
  }

  if (failure.reason === 'rate-limited') {
    const wait = failure.retryAfterMs ?? deps.config.sweep.backoffMs;
    log.warn({ waitMs: wait }, 'Interlace rate limit: pausing the queue');
    await deps.rateLimit(wait);
    deps.metrics?.countSweep('rate_limited', failure.reason);
    // Back to waiting without spending an attempt: a 429 says nothing about this deposit.
    throw Worker.RateLimitError();
  }

  const exhausted = attempt >= (job.opts.attempts ?? 1);
  let deadReason: string | undefined;
  if (failure.category === 'permanent') deadReason = `${failure.reason}: ${failure.message}`;
  else if (
    failure.reason === 'insufficient-balance' &&
    (await countReason(deps, depositId, 'insufficient-balance')) >
      deps.config.sweep.insufficientBalanceRetries
  ) {
    deadReason = `insufficient-balance: still insufficient after ${deps.config.sweep.insufficientBalanceRetries} retries`;
  } else if (exhausted) deadReason = `retries-exhausted: ${failure.reason}: ${failure.message}`;

  if (deadReason === undefined) {
    log.warn(
      { err: failure, category: failure.category, reason: failure.reason },
      'sweep attempt failed; will retry with the same ids',
    );
    deps.metrics?.countSweep('retry', failure.reason);
    throw failure;
  }
  const buried = await deadLetterDeposit(deps, depositId, deadReason, failure.message);
  if (buried === 'swept') throw new UnrecoverableError(`deposit ${depositId} was swept meanwhile`);
  throw new UnrecoverableError(deadReason);
}

async function countReason(deps: SweepDeps, depositId: string, reason: string): Promise<number> {
  const attempts = await deps.deposits.attempts(depositId);
  return attempts.filter((attempt) => attempt.reason === reason).length;
}
