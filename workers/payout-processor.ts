import { UnrecoverableError, type Job, type Queue } from 'bullmq';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import type { Alerts } from '../src/alerts/alerts.js';
import type { Metrics } from '../src/metrics/metrics.js';
import type { InterlaceClient } from '../src/interlace/client.js';
import { asInterlaceError } from '../src/interlace/errors.js';
import type { InfinityWalletResolver } from '../src/sweep/infinity-wallet.js';
import type { PayoutJobData } from '../src/queues/names.js';
import { payoutJobId } from '../src/queues/names.js';
import { payoutJobOptions } from '../src/queues/create-queues.js';
import {
  judgeFailure,
  mayResend,
  nextAction,
  planWithdrawal,
  transferStatusEvent,
  type PayoutEvent,
  type PayoutState,
  type PayoutStep,
} from '../src/policy/payout-policy.js';
import { applyPayoutEvent } from '../src/payouts/apply-payout-event.js';
import { payoutFunds, type PayoutRecord } from '../src/payouts/payout-record.js';
import type { PayoutStore } from '../src/payouts/payout-store.js';
import { isBelow } from '../src/sweep/amounts.js';

/** Everything one payout run needs, built by the worker's composition root. */
export type PayoutDeps = {
  config: Config;
  logger: Logger;
  payouts: PayoutStore;
  payoutQueue: Queue<PayoutJobData>;
  client: Pick<
    InterlaceClient,
    | 'createInternalTransfer'
    | 'getCurrencyPair'
    | 'createTrade'
    | 'getTransferFee'
    | 'createBlockchainTransfer'
  >;
  infinityWallets: InfinityWalletResolver;
  metrics?: Metrics;
  alerts?: Alerts;
};

export type PayoutRunResult = { payoutId: string; state: PayoutState | 'missing' };

/** What a step's call brought back: the event it proves and the fields to record with it. */
type StepOutcome = { event: PayoutEvent; fields: Record<string, string>; confirmNow?: boolean };

// A run never loops forever: a payout has at most five calls to make (four steps and a refund).
const MAX_STEPS_PER_RUN = 8;

/**
 * One payout job: read the payout, do the one step its state calls for, record the outcome, and again
 * until it waits (for approval or the blockchain) or stops. A crash, stall or lost answer at any step
 * reruns the job, which finds the payout at the same step and resends the same idempotency value; a
 * step recorded as done is never called again.
 */
export async function processPayout(deps: PayoutDeps, job: Job<PayoutJobData>): Promise<PayoutRunResult> {
  const { payoutId } = job.data;
  if (job.data.kind === 'confirm-check') return checkConfirmation(deps, payoutId);
  for (let steps = 0; steps < MAX_STEPS_PER_RUN; steps += 1) {
    const record = await deps.payouts.get(payoutId);
    if (record === undefined) throw new UnrecoverableError(`payout ${payoutId} does not exist`);
    // The dashboard shows the job's progress: the payout's state and where its money is.
    await job.updateProgress({ state: record.state, stage: record.stage, funds: payoutFunds(record) });
    const action = nextAction(record.state);
    if (action.kind === 'stop') return { payoutId, state: record.state };
    if (action.kind === 'await') {
      if (action.what === 'confirmation') await scheduleConfirmationCheck(deps, payoutId);
      return { payoutId, state: record.state };
    }
    await runStep(deps, job, record, action.step);
  }
  const record = await deps.payouts.get(payoutId);
  return { payoutId, state: record?.state ?? 'missing' };
}

async function runStep(
  deps: PayoutDeps,
  job: Job<PayoutJobData>,
  record: PayoutRecord,
  step: PayoutStep,
): Promise<void> {
  const log = deps.logger.child({ payoutId: record.payoutId, step, attempt: job.attemptsMade + 1 });
  const calledAt = firstCalledAt(record, step);
  const now = Date.now();
  if (!mayResend(calledAt, now, deps.config.payout.idempotencyWindowMs)) {
    // Interlace forgets idempotency values after 90 days: a resend now could move the money twice.
    await applyPayoutEvent(deps, record, 'outcome-unknown', {
      fields: {
        reason: `idempotency-window-closed: step ${step} was first sent ${new Date(calledAt!).toISOString()}`,
      },
    });
    return;
  }
  const plan = calledAt === undefined ? await planStep(deps, record, step) : {};
  if ('refused' in plan) {
    await applyPayoutEvent(deps, record, 'step-refused', { fields: { reason: plan.refused } });
    return;
  }
  const begun = await deps.payouts.beginStep(record, record.state, step, {
    plan,
    ...(step === 'fund' ? { reservation: { currency: 'USD', amount: record.amount } } : {}),
  });
  // Someone else moved the payout (a notification, an operator): the next turn re-reads it.
  if (!begun.ok) return;
  const planned = { ...record, ...plan } as PayoutRecord;
  const stop = deps.metrics?.payoutStepSeconds.startTimer({ step });
  let outcome: StepOutcome;
  try {
    outcome = await callStep(deps, planned, step, begun.id);
    stop?.({ outcome: 'success' });
  } catch (error) {
    stop?.({ outcome: 'error' });
    await handleFailure(deps, job, planned, step, error);
    return;
  }
  log.info({ event: outcome.event, idempotencyValue: begun.id }, 'payout step answered');
  const fields = { ...outcome.fields, ...(planned.doubt === step ? { doubt: '' } : {}) };
  const applied = await applyPayoutEvent(deps, planned, outcome.event, { fields });
  // A Closed answer to step 5 proves both the send and the confirmation.
  if (applied.ok && outcome.confirmNow === true) {
    await applyPayoutEvent(deps, applied.record, 'confirmed', {
      fields: {
        confirmedAt: String(Date.now()),
        arrivedAmount: planned.expectedArrival ?? planned.sentAmount ?? '',
      },
    });
  }
}

/** The request fields a step fixes before its first call (amounts, gas), or why it cannot be made. */
async function planStep(
  deps: PayoutDeps,
  record: PayoutRecord,
  step: PayoutStep,
): Promise<Record<string, string> | { refused: string }> {
  const { payout } = deps.config;
  if (step === 'convert') {
    // The pair's minimum, checked before the money is converted (seed 001 step 2).
    const pair = await deps.client.getCurrencyPair('USD', record.currency);
    const funded = record.fundedAmount ?? record.amount;
    if (
      pair.quoteCurrency === 'USD' &&
      /^\d+(\.\d+)?$/.test(pair.quoteMin) &&
      isBelow(funded, pair.quoteMin)
    ) {
      return {
        refused: `below-pair-minimum: ${funded} USD is below the ${pair.symbol} minimum ${pair.quoteMin}`,
      };
    }
    return {};
  }
  if (step === 'send') {
    const wallet = record.tradeWalletId ?? record.walletId;
    const bought = record.boughtAmount ?? '0';
    const quote = await deps.client.getTransferFee({
      accountId: record.accountId,
      source: { type: payout.feeSourceType, id: wallet },
      destination: { type: payout.feeDestinationType, chain: record.chain, address: record.address },
      amount: { currency: record.currency, amount: bought },
    });
    const gas = quote.fees
      .filter((fee) => fee.type === 'GAS' && fee.currency === record.currency)
      .map((fee) => fee.amount);
    const plan = planWithdrawal(bought, gas, payout.gasMode, record.currency);
    if (!plan.ok) return { refused: `gas-exceeds-amount: ${plan.reason}` };
    return { sentAmount: plan.amount, gasFee: plan.gas, expectedArrival: plan.arrives };
  }
  if (step === 'refund') {
    // What the refund moves is fixed now: the payout's money as its stage says.
    return record.stage === 'converted'
      ? { refundCurrency: record.currency, refundAmount: record.boughtAmount ?? '0' }
      : { refundCurrency: 'USD', refundAmount: record.fundedAmount ?? record.amount };
  }
  return {};
}

/** Makes one step's call with its stored idempotency value; answers the event the answer proves. */
async function callStep(
  deps: PayoutDeps,
  record: PayoutRecord,
  step: PayoutStep,
  id: string,
): Promise<StepOutcome> {
  const { payout } = deps.config;
  const wallet = record.tradeWalletId ?? record.walletId;
  switch (step) {
    case 'fund': {
      const infinity = await deps.infinityWallets.resolve(record.accountId);
      const transfer = await deps.client.createInternalTransfer(
        {
          clientTransactionId: id,
          accountId: record.accountId,
          from: { businessType: 0, id: infinity, currency: 'USD' },
          // The seed's example names the account as to.id; PAYOUT_FUNDING_TO=wallet names the wallet.
          to: {
            businessType: 2,
            id: payout.fundingTo === 'account' ? record.accountId : record.walletId,
            currency: 'USD',
          },
          amount: record.amount,
        },
        { idempotencyKey: id },
      );
      if (transfer.status === 'FAIL')
        return refused(`funding-failed: transfer ${transfer.id} has status FAIL`);
      return {
        event: 'funded',
        fields: { fundingTransferId: transfer.id, fundedAmount: transfer.to?.amount ?? record.amount },
      };
    }
    case 'convert': {
      const trade = await deps.client.createTrade({
        referenceId: id,
        accountId: record.accountId,
        baseCurrency: record.currency,
        quoteCurrency: 'USD',
        side: 'BUY',
        rfqCurrency: 'USD',
        rfqAmount: record.fundedAmount ?? record.amount,
      });
      // The trade re-quotes: what was bought is the trade's baseAmount, never the preview's.
      if (trade.status !== 'COMPLETE')
        return refused(`trade-${trade.status.toLowerCase()}: trade ${trade.id} has status ${trade.status}`);
      return {
        event: 'converted',
        fields: {
          tradeId: trade.id,
          tradeStatus: trade.status,
          tradeRate: trade.rate,
          tradeFee: trade.fee,
          tradeFeeCurrency: trade.feeCurrency,
          boughtAmount: trade.baseAmount,
          ...(trade.baseWalletId ? { tradeWalletId: trade.baseWalletId } : {}),
        },
      };
    }
    case 'send': {
      const transfer = await deps.client.createBlockchainTransfer({
        idempotencyKey: id,
        source: { type: payout.transferSourceType, id: wallet },
        destination: { type: payout.transferDestinationType, chain: record.chain, address: record.address },
        amount: { amount: record.sentAmount ?? '0', currency: record.currency },
      });
      const fields = {
        withdrawTransferId: transfer.id,
        withdrawStatus: transfer.status,
        sentAt: String(Date.now()),
        ...(transfer.transactionHash ? { transactionHash: transfer.transactionHash } : {}),
      };
      const event = transferStatusEvent(transfer.status, payout.statuses);
      if (event === 'still-pending') return { event: 'sent', fields };
      if (event === 'confirmed') return { event: 'sent', fields, confirmNow: true };
      return {
        event,
        fields: {
          ...fields,
          ...(event === 'on-hold' ? { onHold: '1' } : {}),
          reason: `transfer ${transfer.id} answered ${transfer.status}`,
        },
      };
    }
    case 'refund': {
      const infinity = await deps.infinityWallets.resolve(record.accountId);
      const transfer = await deps.client.createInternalTransfer(
        {
          clientTransactionId: id,
          accountId: record.accountId,
          from: { businessType: 2, id: wallet, currency: record.refundCurrency ?? 'USD' },
          to: { businessType: 0, id: infinity, currency: 'USD' },
          amount: record.refundAmount ?? '0',
        },
        { idempotencyKey: id },
      );
      if (transfer.status === 'FAIL')
        return refused(`refund-failed: transfer ${transfer.id} has status FAIL`);
      const fees = (transfer.from?.fees ?? []).map((fee) => fee.amount);
      return {
        event: 'refunded',
        fields: {
          refundTransferId: transfer.id,
          refundedAmount: transfer.to?.amount ?? '',
          refundFee: fees.length > 0 ? fees.join('+') : '0',
        },
      };
    }
  }
}

function refused(reason: string): StepOutcome {
  return { event: 'step-refused', fields: { reason } };
}

/**
 * Decides, once, what a failed call means (policy `judgeFailure`): retry with the same id (the error
 * goes back to BullMQ), refused (nothing moved: failed), or unknown (held for an operator).
 */
async function handleFailure(
  deps: PayoutDeps,
  job: Job<PayoutJobData>,
  record: PayoutRecord,
  step: PayoutStep,
  error: unknown,
): Promise<void> {
  const failure = asInterlaceError(error);
  const log = deps.logger.child({ payoutId: record.payoutId, step, attempt: job.attemptsMade + 1 });
  const verdict = judgeFailure(failure, {
    earlierAttemptInDoubt: record.doubt === step,
    attemptsLeft: job.attemptsMade + 1 < (job.opts.attempts ?? 1),
  });
  const reason = `${failure.reason}: ${failure.message}`;
  if (verdict === 'retry') {
    // A call that got no answer may have committed: a later refusal then proves nothing.
    if (failure.reason !== 'rate-limited')
      await deps.payouts.note(record.payoutId, record.state, { doubt: step });
    log.warn({ err: failure }, 'payout step failed; will retry with the same idempotency value');
    throw failure;
  }
  log.error({ err: failure, verdict }, 'payout step did not go through');
  await applyPayoutEvent(deps, record, verdict === 'refused' ? 'step-refused' : 'outcome-unknown', {
    fields: { reason: verdict === 'refused' ? reason : `outcome-unknown: step ${step}: ${reason}` },
  });
}

/** The bounded wait for the blockchain transfer's Closed: one delayed check per payout. */
async function scheduleConfirmationCheck(deps: PayoutDeps, payoutId: string): Promise<void> {
  await deps.payoutQueue.add(
    'confirm-check',
    { payoutId, kind: 'confirm-check' },
    {
      ...payoutJobOptions(deps.config),
      jobId: payoutJobId(payoutId, 'confirm-check'),
      delay: deps.config.payout.confirmTimeoutMs,
    },
  );
}

async function checkConfirmation(deps: PayoutDeps, payoutId: string): Promise<PayoutRunResult> {
  const record = await deps.payouts.get(payoutId);
  if (record === undefined) return { payoutId, state: 'missing' };
  if (record.state !== 'sent') return { payoutId, state: record.state };
  const minutes = Math.round(deps.config.payout.confirmTimeoutMs / 60_000);
  const applied = await applyPayoutEvent(deps, record, 'confirmation-timeout', {
    fields: {
      reason: `stalled: transfer ${record.withdrawTransferId ?? ''} still ${record.withdrawStatus ?? 'Pending'} after ${minutes} min`,
    },
  });
  return { payoutId, state: applied.ok ? applied.record.state : record.state };
}

function firstCalledAt(record: PayoutRecord, step: PayoutStep): number | undefined {
  const value = {
    fund: record.fundingCalledAt,
    convert: record.tradeCalledAt,
    send: record.withdrawCalledAt,
    refund: record.refundCalledAt,
  }[step];
  return value === undefined ? undefined : Number(value);
}
