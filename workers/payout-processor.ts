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
  fundingWallet,
  judgeFailure,
  judgeStepStatus,
  mayResend,
  nextAction,
  recheckApproval,
  planWithdrawal,
  recheckControls,
  transferStatusEvent,
  type PayoutEvent,
  type PayoutState,
  type PayoutStep,
} from '../src/policy/payout-policy.js';
import { applyPayoutEvent } from '../src/payouts/apply-payout-event.js';
import { moneyWallet, payoutFunds, type PayoutRecord } from '../src/payouts/payout-record.js';
import { STEP_FIELDS, type PayoutStore } from '../src/payouts/payout-store.js';
import { payoutControls } from '../src/payouts/payout-commands.js';
import { payoutStepId } from '../src/payouts/payout-ids.js';
import type {
  BlockchainTransferRequest,
  InternalTransferRequest,
  TradeRequest,
} from '../src/interlace/types.js';
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
    | 'listCryptoConnectWallets'
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
  const windowMs = deps.config.payout.idempotencyWindowMs;
  if (!mayResend(calledAt, Date.now(), windowMs)) {
    await holdPastWindow(deps, record, step, calledAt!);
    return;
  }
  if (step === 'fund' && calledAt === undefined) {
    // What the creating process decided with ITS settings (an operator's shell, a stale process), checked
    // with the worker's: approval required, and the daily limit as this payout's creation saw the window.
    const createdAt = Number(record.createdAt);
    const used = await deps.payouts.dailyUsed(createdAt, { through: createdAt });
    const approval = recheckApproval(record, deps.config.payout, used);
    if (!approval.ok) {
      log.warn({ reason: approval.reason }, 'payout stopped before step 1 by the service settings');
      await applyPayoutEvent(deps, record, approval.event, { fields: { reason: approval.reason } });
      return;
    }
  }
  // The first call fixes the whole request (amounts, gas, wallets, type strings); a resend sends
  // exactly what was stored, whatever the settings say now.
  const plan = calledAt === undefined ? await planStep(deps, record, step) : { fields: {} };
  if ('refused' in plan) {
    await applyPayoutEvent(deps, record, 'step-refused', { fields: { reason: plan.refused } });
    return;
  }
  const planned = { ...record, ...plan.fields } as PayoutRecord;
  const begun = await deps.payouts.beginStep(planned, record.state, step, {
    plan: plan.fields,
    windowMs,
    ...(step === 'fund' ? { reservation: { currency: 'USD', amount: record.amount } } : {}),
  });
  if (!begun.ok) {
    // The store refused atomically: the window closed since the check above.
    if (begun.found === 'window-closed') await holdPastWindow(deps, record, step, begun.calledAt!);
    // Otherwise someone else moved the payout (a notification, an operator): the next turn re-reads it.
    return;
  }
  const request = begun.request !== '' ? begun.request : await legacyRequest(deps, planned, step, begun.id);
  const stop = deps.metrics?.payoutStepSeconds.startTimer({ step });
  let outcome: StepOutcome;
  try {
    outcome = await callStep(deps, planned, step, begun.id, request);
    stop?.({ outcome: 'success' });
  } catch (error) {
    stop?.({ outcome: 'error' });
    await handleFailure(deps, job, { ...planned, doubt: step }, step, begun.priorDoubt, error);
    return;
  }
  // Before the answer is applied: a deposit notification naming this transfer is the payout's money.
  const transferId = outcome.fields['fundingTransferId'] ?? outcome.fields['refundTransferId'];
  if (transferId !== undefined && transferId !== '')
    await deps.payouts.rememberTransfer(transferId, record.payoutId);
  log.info({ event: outcome.event, idempotencyValue: begun.id }, 'payout step answered');
  const applied = await applyPayoutEvent(deps, { ...planned, doubt: step }, outcome.event, {
    fields: outcome.fields,
  });
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

/** Interlace forgets idempotency values after 90 days: a resend now could move the money twice. */
async function holdPastWindow(
  deps: PayoutDeps,
  record: PayoutRecord,
  step: PayoutStep,
  calledAt: number,
): Promise<void> {
  await applyPayoutEvent(deps, record, 'outcome-unknown', {
    fields: {
      doubt: step,
      reason: `idempotency-window-closed: step ${step} was first sent ${new Date(calledAt).toISOString()}`,
    },
  });
}

type StepPlan = { fields: Record<string, string> } | { refused: string };

/**
 * What a step's first call fixes before it is made: its amounts, gas and wallets, and its whole request
 * body (stored with its id, resent byte for byte); or why it cannot be made. Step 1 re-checks the
 * controls first: a destination taken off the allow-list since create is never paid.
 */
async function planStep(deps: PayoutDeps, record: PayoutRecord, step: PayoutStep): Promise<StepPlan> {
  const { payout } = deps.config;
  const id = payoutStepId(record.payoutId, step);
  const body = (fields: Record<string, string>, request: unknown): StepPlan => ({
    fields: { ...fields, [STEP_FIELDS[step].request]: JSON.stringify(request) },
  });
  switch (step) {
    case 'fund': {
      const controls = recheckControls(record, payoutControls(deps.config));
      if (!controls.ok) return { refused: controls.reason };
      const infinity = await deps.infinityWallets.resolve(record.accountId);
      // Where the USD lands, so the reservation (written before the call) is on that wallet.
      const wallets =
        payout.fundingTo === 'account' ? await deps.client.listCryptoConnectWallets(record.accountId) : [];
      const fundsWalletId = fundingWallet(payout.fundingTo, record.walletId, wallets);
      return body({ fundsWalletId }, buildFundRequest(deps, record, id, infinity));
    }
    case 'convert': {
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
      return body({}, buildTradeRequest(record, id));
    }
    case 'send': {
      const wallet = moneyWallet(record);
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
      const fields = { sentAmount: plan.amount, gasFee: plan.gas, expectedArrival: plan.arrives };
      return body(fields, buildWithdrawRequest(deps, { ...record, ...fields }, id));
    }
    case 'refund': {
      // What the refund moves is fixed now: the payout's money as its stage says.
      const fields =
        record.stage === 'converted'
          ? { refundCurrency: record.currency, refundAmount: record.boughtAmount ?? '0' }
          : { refundCurrency: 'USD', refundAmount: record.fundedAmount ?? record.amount };
      const infinity = await deps.infinityWallets.resolve(record.accountId);
      return body(fields, buildRefundRequest({ ...record, ...fields }, id, infinity));
    }
  }
}

function buildFundRequest(
  deps: PayoutDeps,
  record: PayoutRecord,
  id: string,
  infinity: string,
): InternalTransferRequest {
  return {
    clientTransactionId: id,
    accountId: record.accountId,
    from: { businessType: 0, id: infinity, currency: 'USD' },
    // The seed's example names the account as to.id; PAYOUT_FUNDING_TO=wallet names the wallet.
    to: {
      businessType: 2,
      id: deps.config.payout.fundingTo === 'account' ? record.accountId : record.walletId,
      currency: 'USD',
    },
    amount: record.amount,
  };
}

function buildTradeRequest(record: PayoutRecord, id: string): TradeRequest {
  return {
    referenceId: id,
    accountId: record.accountId,
    baseCurrency: record.currency,
    quoteCurrency: 'USD',
    side: 'BUY',
    rfqCurrency: 'USD',
    rfqAmount: record.fundedAmount ?? record.amount,
  };
}

function buildWithdrawRequest(deps: PayoutDeps, record: PayoutRecord, id: string): BlockchainTransferRequest {
  const { payout } = deps.config;
  return {
    idempotencyKey: id,
    source: { type: payout.transferSourceType, id: moneyWallet(record) },
    destination: { type: payout.transferDestinationType, chain: record.chain, address: record.address },
    amount: { amount: record.sentAmount ?? '0', currency: record.currency },
  };
}

function buildRefundRequest(record: PayoutRecord, id: string, infinity: string): InternalTransferRequest {
  return {
    clientTransactionId: id,
    accountId: record.accountId,
    from: { businessType: 2, id: moneyWallet(record), currency: record.refundCurrency ?? 'USD' },
    to: { businessType: 0, id: infinity, currency: 'USD' },
    amount: record.refundAmount ?? '0',
  };
}

/**
 * The body of a step begun before bodies were stored (a payout in flight across the upgrade): rebuilt
 * as that version did. Only those payouts ever take this path.
 */
async function legacyRequest(
  deps: PayoutDeps,
  record: PayoutRecord,
  step: PayoutStep,
  id: string,
): Promise<string> {
  if (step === 'convert') return JSON.stringify(buildTradeRequest(record, id));
  if (step === 'send') return JSON.stringify(buildWithdrawRequest(deps, record, id));
  const infinity = await deps.infinityWallets.resolve(record.accountId);
  return JSON.stringify(
    step === 'fund' ? buildFundRequest(deps, record, id, infinity) : buildRefundRequest(record, id, infinity),
  );
}

/** Makes one step's call with its stored idempotency value and body; answers the event the answer proves. */
async function callStep(
  deps: PayoutDeps,
  record: PayoutRecord,
  step: PayoutStep,
  id: string,
  request: string,
): Promise<StepOutcome> {
  const { payout } = deps.config;
  switch (step) {
    case 'fund': {
      const body = JSON.parse(request) as InternalTransferRequest;
      const transfer = await deps.client.createInternalTransfer(body, { idempotencyKey: id });
      const verdict = judgeStepStatus(transfer.status, payout.stepStatuses.transfer);
      if (verdict.kind !== 'done') return notDone(step, verdict, `funding transfer ${transfer.id}`);
      return {
        event: 'funded',
        fields: { fundingTransferId: transfer.id, fundedAmount: transfer.to?.amount ?? record.amount },
      };
    }
    case 'convert': {
      const trade = await deps.client.createTrade(JSON.parse(request) as TradeRequest);
      // The trade re-quotes: what was bought is the trade's baseAmount, never the preview's.
      const verdict = judgeStepStatus(trade.status, payout.stepStatuses.trade);
      if (verdict.kind !== 'done') return notDone(step, verdict, `trade ${trade.id}`);
      return {
        event: 'converted',
        fields: {
          tradeId: trade.id,
          tradeStatus: trade.status,
          tradeRate: trade.rate,
          tradeFee: trade.fee,
          tradeFeeCurrency: trade.feeCurrency,
          boughtAmount: trade.baseAmount,
          // The stablecoin is where the trade put it: the reservation follows it there.
          ...(trade.baseWalletId ? { tradeWalletId: trade.baseWalletId } : {}),
        },
      };
    }
    case 'send': {
      const transfer = await deps.client.createBlockchainTransfer(
        JSON.parse(request) as BlockchainTransferRequest,
      );
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
      const body = JSON.parse(request) as InternalTransferRequest;
      const transfer = await deps.client.createInternalTransfer(body, { idempotencyKey: id });
      const verdict = judgeStepStatus(transfer.status, payout.stepStatuses.transfer);
      if (verdict.kind !== 'done') return notDone(step, verdict, `refund transfer ${transfer.id}`);
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

/**
 * An answered step whose status is not a success (judgeStepStatus): a listed failure status is a
 * refusal (nothing moved); anything else leaves the step in doubt, held for an operator.
 */
function notDone(
  step: PayoutStep,
  verdict: Exclude<ReturnType<typeof judgeStepStatus>, { kind: 'done' }>,
  what: string,
): StepOutcome {
  const name = { fund: 'funding', convert: 'trade', send: 'send', refund: 'refund' }[step];
  if (verdict.kind === 'refused')
    return {
      event: 'step-refused',
      fields: { reason: `${name}-${verdict.status.toLowerCase()}: ${what} has status ${verdict.status}` },
    };
  return {
    event: 'outcome-unknown',
    fields: {
      doubt: step,
      reason: `outcome-unknown: step ${step}: ${what} answered status ${verdict.status}, in no configured list`,
    },
  };
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
  priorDoubt: string,
  error: unknown,
): Promise<void> {
  const failure = asInterlaceError(error);
  const log = deps.logger.child({ payoutId: record.payoutId, step, attempt: job.attemptsMade + 1 });
  const verdict = judgeFailure(failure, {
    // The step was marked in doubt before this call; it was in doubt before it only if an earlier
    // call of the same step went unanswered (a crash, a timeout, a lost answer).
    earlierAttemptInDoubt: priorDoubt === step,
    attemptsLeft: job.attemptsMade + 1 < (job.opts.attempts ?? 1),
  });
  const reason = `${failure.reason}: ${failure.message}`;
  if (verdict === 'retry') {
    // A call that got no answer may have committed (it stays in doubt); a 429 proves this one did
    // nothing, so the doubt is what it was before it.
    if (failure.reason === 'rate-limited')
      await deps.payouts.note(record.payoutId, record.state, { doubt: priorDoubt });
    log.warn({ err: failure }, 'payout step failed; will retry with the same idempotency value');
    throw failure;
  }
  log.error({ err: failure, verdict }, 'payout step did not go through');
  await applyPayoutEvent(deps, record, verdict === 'refused' ? 'step-refused' : 'outcome-unknown', {
    fields:
      verdict === 'refused'
        ? { reason }
        : { reason: `outcome-unknown: step ${step}: ${reason}`, doubt: step },
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
