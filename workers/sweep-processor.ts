import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { asInterlaceError, InterlaceError } from '../src/interlace/errors.js';
import type { InternalTransfer } from '../src/interlace/types.js';
import type { DepositRecord } from '../src/deposits/deposit-state.js';
import type { ClaimOutcome } from '../src/deposits/deposit-store.js';
import type { SweepJobData } from '../src/queues/names.js';
import {
  decideFailure,
  forgetsInfinityWallet,
  judgeTransferStatus,
  payoutMoneyCheck,
  recheckBeforeTransfer,
  recheckOwnership,
} from '../src/policy/deposit-policy.js';
import { isOperatorSweep, recheckOperatorSweep, unstoredRefusal } from '../src/policy/reconcile-policy.js';
import { unstoredForWallet } from '../src/webhooks/unstored-notifications.js';
import { reservedIn, snapshotWallet } from '../src/reconcile/run-reconcile.js';
import { buildSweepTransfer, transferOutcome } from '../src/sweep/sweep-transfer.js';
import { deadLetterDeposit, ensureDeadLetter } from './dead-letter-deposit.js';
import type { SweepDeps } from './sweep-deps.js';
import type { Metrics } from '../src/metrics/metrics.js';
import { sendAlert, type Alerts } from '../src/alerts/alerts.js';

/** SweepDeps plus what the worker's composition root adds for observability (both optional). */
export type ObservedSweepDeps = SweepDeps & { metrics?: Metrics; alerts?: Alerts };

export type SweepResult =
  | { outcome: 'swept'; transferId: string; status: string; netAmount: string }
  | { outcome: 'already-swept' }
  | { outcome: 'stopped'; state: string; reason: string }
  | { outcome: 'not-sweepable'; state: string };

const TRANSFER_ENDPOINT = 'POST /business/transfer/internal';

/**
 * One sweep job, as a list of steps: claim the deposit (the claim re-reads its latest upstream status
 * and the swept-ids record), re-check the policy, move the money with the deposit's deterministic
 * clientTransactionId, judge the answer's status, record the transfer. Every failure goes through
 * handleFailure, which asks the policy what it means.
 */
export async function sweepDeposit(deps: ObservedSweepDeps, job: Job<SweepJobData>): Promise<SweepResult> {
  const { depositId } = job.data;
  const log = deps.logger.child({ depositId, jobId: job.id, attempt: job.attemptsMade + 1 });

  const claim = await deps.deposits.claim(depositId);
  if (claim.outcome !== 'claimed') return notClaimed(deps, depositId, claim);
  const deposit = claim.record;

  // Every re-check is asked, and a hold names every rule that refused: an operator who releases the
  // deposit for one reason must see the others.
  const refusals = [
    recheckOwnership(deposit, deps.config.unknownWalletDeposits),
    recheckBeforeTransfer(deposit, deps.config.sweep),
  ].filter((verdict) => verdict.kind === 'stop');
  if (refusals[0] !== undefined)
    return stop(deps, deposit, refusals[0].event, await withCallHint(deps, deposit, refusals));
  // A payout's money is never a deposit to sweep, whatever a notification says it is.
  const funds = payoutMoneyCheck(deposit, await payoutMoneyFacts(deps, deposit));
  if (funds.kind === 'stop') return stop(deps, deposit, funds.event, funds.reason);

  try {
    if (isOperatorSweep(deposit)) {
      const refusal = await recheckOperatorSweepLive(deps, deposit);
      if (refusal !== undefined) return await stop(deps, deposit, 'recheck-unexplained', refusal);
    }
    const infinityWalletId = await deps.infinityWallets.resolve(deposit.accountId);
    const body = buildSweepTransfer(deposit, infinityWalletId);
    log.debug({ clientTransactionId: body.clientTransactionId, amount: body.amount }, 'sweeping');
    const transfer = await deps.client.createInternalTransfer(body, {
      idempotencyKey: body.clientTransactionId,
    });
    assertSwept(deps, transfer);
    return await recordSwept(deps, deposit, transfer, log);
  } catch (error) {
    return await handleFailure(deps, job, deposit, error);
  }
}

/** The claim refused: already swept, stopped by its latest upstream status, dead, or not sweepable. */
async function notClaimed(
  deps: ObservedSweepDeps,
  depositId: string,
  claim: ClaimOutcome,
): Promise<SweepResult> {
  const { state } = claim;
  if (state === 'swept') {
    deps.metrics?.countSweep('already_swept');
    return { outcome: 'already-swept' };
  }
  deps.metrics?.countSweep('not_sweepable', state);
  if (claim.outcome === 'stopped') {
    const deposit = await deps.deposits.get(depositId);
    const reason = deposit?.reason ?? `latest upstream status ${deposit?.upstreamStatus ?? 'unknown'}`;
    deps.logger.warn({ depositId, state, reason }, 'sweep refused at the claim: the deposit is stopped');
    await alertStopped(deps, depositId, state, reason, deposit);
    return { outcome: 'stopped', state, reason };
  }
  if (state === 'dead') await ensureDeadLetter(deps, depositId);
  if (state === 'dead' || state === 'missing')
    throw new UnrecoverableError(`deposit ${depositId} is ${state}: not swept`);
  return { outcome: 'not-sweepable', state };
}

/** The policy re-check refused the sweep: the deposit becomes dust, unsupported or held, with the reason. */
async function stop(
  deps: ObservedSweepDeps,
  deposit: DepositRecord,
  event: Parameters<ObservedSweepDeps['deposits']['move']>[1],
  reason: string,
): Promise<SweepResult> {
  const { state } = await deps.deposits.move(deposit.depositId, event, reason);
  deps.metrics?.countSweep('not_sweepable', event);
  deps.logger.warn({ depositId: deposit.depositId, state, reason }, 'sweep refused by the policy re-check');
  if (state === 'held') await alertStopped(deps, deposit.depositId, state, reason, deposit);
  return { outcome: 'stopped', state, reason };
}

/**
 * The reason of a re-check's hold: every refusal, and, when a transfer of this deposit was already
 * called by an earlier claim (its answer lost), that the money may have moved: look it up first.
 */
async function withCallHint(
  deps: ObservedSweepDeps,
  deposit: DepositRecord,
  refusals: readonly { reason: string }[],
): Promise<string> {
  const reason = refusals.map((refusal) => refusal.reason).join('; ');
  return (await calledBefore(deps, deposit)) ? `${reason}; ${CALLED_BEFORE}` : reason;
}

const CALLED_BEFORE = 'its transfer was called before: look it up at Interlace';

/** Whether an earlier claim of this deposit already called its transfer (the first call is recorded). */
async function calledBefore(deps: ObservedSweepDeps, deposit: DepositRecord): Promise<boolean> {
  const firstCall = await deps.redis.hget(
    deps.keys.transferFirstAttempts(deposit.depositId),
    deposit.depositId,
  );
  return firstCall !== null && Number(firstCall) < Number(deposit.sweepingAt ?? Infinity);
}

/** What payouts say about a deposit's money: a payout whose transfer it is, USD payouts keep in its wallet. */
async function payoutMoneyFacts(
  deps: ObservedSweepDeps,
  deposit: DepositRecord,
): Promise<{ payoutId?: string; reservedUsd?: string }> {
  const payoutId = await deps.redis.hget(deps.keys.payoutTransferIds, deposit.depositId);
  const reserved =
    deposit.currency === 'USD'
      ? (await reservedIn(deps.redis, deps.keys, deposit.walletId, ['USD']))['USD']
      : undefined;
  return {
    ...(payoutId !== null ? { payoutId } : {}),
    ...(reserved !== undefined ? { reservedUsd: reserved } : {}),
  };
}

/**
 * An operator's reconcile sweep moves money no notification proves, so whoever sent it here (the command,
 * `dlq replay`, `sweep enqueue`, a retry) it is checked again against the wallet as it is now: ledger and
 * reservations first, then the balance (a sweep finishing in between makes the balance smaller, never
 * larger). Answers the refusal's reason, or undefined when the money is still unexplained.
 */
async function recheckOperatorSweepLive(
  deps: ObservedSweepDeps,
  deposit: DepositRecord,
): Promise<string | undefined> {
  // Checked again here: a notification for the wallet may have been acknowledged since the command.
  const unstored = unstoredRefusal(
    await unstoredForWallet(deps.redis, deps.keys, deps.queues.dead, deposit.walletId),
  );
  if (unstored !== undefined)
    return `re-checked before the transfer (${unstored.refusal}): ${unstored.message}`;
  const entries = await snapshotWallet(deps.redis, deps.keys, deposit.walletId);
  const reserved = (await reservedIn(deps.redis, deps.keys, deposit.walletId, [deposit.currency]))[
    deposit.currency
  ];
  const wallet = await deps.client.getCryptoConnectWallet(deposit.walletId);
  const available = wallet.balances.find((b) => b.currency === deposit.currency)?.available ?? '0';
  const verdict = recheckOperatorSweep({
    depositId: deposit.depositId,
    amount: deposit.amount,
    currency: deposit.currency,
    master: wallet.master === true,
    available: /^\d+(\.\d+)?$/.test(available) ? available : '0',
    ...(reserved !== undefined ? { reserved } : {}),
    entries,
    policy: deps.config.sweep,
  });
  if (verdict.ok) return undefined;
  // A transfer called by an earlier claim may have committed (its answer lost), which would also explain
  // a smaller balance: the operator looks it up at Interlace before anything else is done with it.
  const reason = `re-checked before the transfer (${verdict.refusal}): ${verdict.message}`;
  return (await calledBefore(deps, deposit)) ? `${reason}; ${CALLED_BEFORE}` : reason;
}

/** Throws unless the transfer's status is on the success allow-list (the failure policy decides then). */
function assertSwept(deps: ObservedSweepDeps, transfer: InternalTransfer): void {
  const verdict = judgeTransferStatus(transfer.status, {
    successStatuses: deps.config.sweep.transferSuccessStatuses,
  });
  if (verdict.kind === 'swept') return;
  throw new InterlaceError({
    // Not final yet: the same request again (same clientTransactionId) is the look-up (docs/money-safety.md).
    category: verdict.kind === 'unconfirmed' ? 'transient' : 'permanent',
    reason: verdict.kind === 'unconfirmed' ? 'transfer-unconfirmed' : 'transfer-failed',
    endpoint: TRANSFER_ENDPOINT,
    message: `transfer ${transfer.id} has status ${JSON.stringify(verdict.status).slice(0, 60)}`,
  });
}

async function recordSwept(
  deps: ObservedSweepDeps,
  deposit: DepositRecord,
  transfer: InternalTransfer,
  log: ObservedSweepDeps['logger'],
): Promise<SweepResult> {
  const outcome = transferOutcome(transfer);
  await deps.deposits.markSwept(deposit.depositId, outcome);
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
}

/** Records the attempt, then carries out what the failure policy decides: retry, pause, or dead letter. */
async function handleFailure(
  deps: ObservedSweepDeps,
  job: Job<SweepJobData>,
  deposit: DepositRecord,
  error: unknown,
): Promise<never> {
  const { depositId } = deposit;
  const failure = asInterlaceError(error);
  const attempt = job.attemptsMade + 1;
  const log = deps.logger.child({ depositId, jobId: job.id, attempt });
  await deps.deposits.recordAttempt(depositId, {
    at: new Date().toISOString(),
    attempt,
    category: failure.category,
    reason: failure.reason,
    message: failure.message,
  });
  if (forgetsInfinityWallet(failure)) await deps.infinityWallets.forget(deposit.accountId);
  const attempts = await deps.deposits.attempts(depositId);
  const decision = decideFailure(
    {
      category: failure.category,
      reason: failure.reason,
      message: failure.message,
      retryAfterMs: failure.retryAfterMs,
      attempt,
      maxAttempts: job.opts.attempts ?? 1,
      sameReason: attempts.filter((item) => item.reason === failure.reason).length,
    },
    {
      insufficientBalanceRetries: deps.config.sweep.insufficientBalanceRetries,
      transferLookups: deps.config.sweep.transferLookups,
      defaultPauseMs: deps.config.sweep.backoffMs,
    },
  );

  switch (decision.kind) {
    case 'pause':
      log.warn({ waitMs: decision.waitMs }, 'Interlace rate limit: pausing the queue');
      await deps.rateLimit(decision.waitMs);
      deps.metrics?.countSweep('rate_limited', failure.reason);
      // Back to waiting without spending an attempt: a 429 says nothing about this deposit.
      throw Worker.RateLimitError();
    case 'retry':
      log.warn(
        { err: failure, category: failure.category, reason: failure.reason },
        'sweep attempt failed; will retry with the same ids',
      );
      deps.metrics?.countSweep('retry', failure.reason);
      throw failure;
    case 'dead': {
      const buried = await deadLetterDeposit(deps, depositId, decision.reason, failure.message);
      if (buried === 'swept') throw new UnrecoverableError(`deposit ${depositId} was swept meanwhile`);
      throw new UnrecoverableError(decision.reason);
    }
  }
}

async function alertStopped(
  deps: ObservedSweepDeps,
  depositId: string,
  state: string,
  reason: string,
  deposit: DepositRecord | undefined,
): Promise<void> {
  await sendAlert(deps, {
    kind: state === 'failed' ? 'failed' : 'held',
    depositId,
    amount: deposit?.amount ?? 'unknown',
    currency: deposit?.currency ?? '',
    reason,
    ...(deposit?.accountId ? { accountId: deposit.accountId } : {}),
  });
}
