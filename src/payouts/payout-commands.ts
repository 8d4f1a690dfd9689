import type { Queue } from 'bullmq';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import type { InterlaceClient } from '../interlace/client.js';
import type { Logger } from '../logger.js';
import type { Alerts } from '../alerts/alerts.js';
import { enqueuePayout } from '../queues/create-queues.js';
import type { PayoutJobData } from '../queues/names.js';
import {
  AUTO_APPROVED_BY,
  checkPayoutRequest,
  fitsDailyLimit,
  planWithdrawal,
  recheckControls,
  retryEvent,
  type FundsLocation,
  type PayoutControls,
  type PayoutEvent,
} from '../policy/payout-policy.js';
import { applyPayoutEvent } from './apply-payout-event.js';
import { payoutFacts, payoutFunds, type PayoutRecord } from './payout-record.js';
import type { PayoutStore } from './payout-store.js';

export type PayoutCommandDeps = {
  config: Config;
  logger: Logger;
  payouts: PayoutStore;
  payoutQueue: Queue<PayoutJobData>;
  alerts?: Alerts | undefined;
};

/** A payout command refused: a kebab-case code, the HTTP status, and the field at fault when there is one. */
export class PayoutError extends AppError {
  constructor(
    code: string,
    message: string,
    status: number,
    readonly details: Record<string, string> = {},
  ) {
    super(code, message, status);
    this.name = 'PayoutError';
  }
}

/** The controls of the configuration, as the policy reads them. */
export function payoutControls(config: Config): PayoutControls {
  const { maxAmount, currencies, chains, allowedAddresses } = config.payout;
  return { maxAmount, currencies, chains, allowedAddresses };
}

function requireEnabled(config: Config): void {
  if (!config.payout.enabled) {
    throw new PayoutError(
      'payouts-disabled',
      'payouts are off: set PAYOUT_ACCOUNT_ID and PAYOUT_WALLET_ID',
      503,
    );
  }
}

/**
 * Checks and records a payout request (idempotent on external_id), then approves and starts it
 * unless PAYOUT_REQUIRE_APPROVAL. A repeat of the same request answers the existing payout.
 */
export async function createPayout(
  deps: PayoutCommandDeps,
  input: Record<string, unknown>,
  createdBy: string,
): Promise<{ created: boolean; payout: PayoutRecord }> {
  requireEnabled(deps.config);
  const verdict = checkPayoutRequest(input, payoutControls(deps.config));
  if (!verdict.ok) {
    throw new PayoutError('invalid-payout', verdict.reason, 422, { field: fieldName(verdict.field) });
  }
  const { payout } = deps.config;
  const outcome = await deps.payouts.create(verdict.request, {
    accountId: payout.accountId,
    walletId: payout.walletId,
    createdBy,
    state: 'requested',
    dailyLimit: payout.dailyLimit,
    now: Date.now(),
    idNamespace: payout.idNamespace,
  });
  if (outcome.outcome === 'daily-limit') {
    throw new PayoutError(
      'daily-limit',
      `the payout would take the last 24 h over PAYOUT_DAILY_LIMIT (${payout.dailyLimit} USD; ${outcome.usedUsd} used)`,
      422,
      { field: 'amount' },
    );
  }
  if (outcome.outcome === 'conflict') {
    throw new PayoutError(
      'external-id-conflict',
      `external_id ${verdict.request.externalId} was already used for a different payout`,
      409,
      { payoutId: outcome.payoutId, field: 'external_id' },
    );
  }
  let record = await mustGet(deps, outcome.payoutId);
  if (outcome.outcome === 'created' && !payout.requireApproval) {
    const applied = await applyPayoutEvent(deps, record, 'approve', {
      fields: { approvedBy: AUTO_APPROVED_BY, approvedAt: String(Date.now()) },
    });
    if (applied.ok) record = applied.record;
  }
  if (record.state === 'approved') await enqueuePayout(deps.payoutQueue, deps.config, record.payoutId);
  return { created: outcome.outcome === 'created', payout: record };
}

/** An operator approves a requested payout (audited by the caller); it starts at once. */
export async function approvePayout(
  deps: PayoutCommandDeps,
  payoutId: string,
  operator: string,
): Promise<PayoutRecord> {
  // The controls as they are now: an allow-list shrunk or a maximum lowered since create stops it.
  const requested = await mustGet(deps, payoutId);
  const controls = recheckControls(requested, payoutControls(deps.config));
  if (!controls.ok)
    throw new PayoutError('controls-changed', `approve refused: ${controls.reason}`, 409, {
      state: requested.state,
    });
  const record = await operatorEvent(deps, requested.payoutId, 'approve', {
    approvedBy: operator,
    approvedAt: String(Date.now()),
  });
  // A payout the worker sent back for approval (auto-approved where the service requires an operator)
  // already had its run job: this approval needs a job of its own.
  const trigger = requested.approvedBy === AUTO_APPROVED_BY ? 'approve' : undefined;
  await enqueuePayout(deps.payoutQueue, deps.config, record.payoutId, trigger);
  return record;
}

/** Cancels a payout before step 1 was ever called; its amount goes back to the daily limit. */
export async function cancelPayout(
  deps: PayoutCommandDeps,
  payoutId: string,
  operator: string,
): Promise<PayoutRecord> {
  return operatorEvent(deps, payoutId, 'cancel', {
    cancelledBy: operator,
    reason: `cancelled by ${operator}`,
  });
}

/**
 * Asks for the money of a failed or held payout (USD or stablecoin in the CryptoConnect wallet) to go
 * back to Infinity, with the refund's own idempotency value; a worker makes the transfer.
 */
export async function refundPayout(
  deps: PayoutCommandDeps,
  payoutId: string,
  operator: string,
): Promise<PayoutRecord> {
  const record = await operatorEvent(deps, payoutId, 'refund', {
    refundRequested: '1',
    refundRequestedBy: operator,
  });
  await enqueuePayout(deps.payoutQueue, deps.config, payoutId, `refund`);
  return record;
}

/**
 * Resumes a held payout at the step where it stopped, with the same idempotency value and the same
 * stored request body (never an ON_HOLD transfer, never past the idempotency window: the worker holds
 * it again then). The step stays in doubt until the resend's answer tells: a refusal of the resend
 * holds it again rather than failing it, since the first call may still have moved the money.
 */
export async function retryPayout(
  deps: PayoutCommandDeps,
  payoutId: string,
  operator: string,
): Promise<PayoutRecord> {
  const held = await mustGet(deps, payoutId);
  const record = await operatorEvent(deps, held.payoutId, retryEvent(payoutFacts(held)), {
    reason: '',
    retriedBy: operator,
  });
  await enqueuePayout(deps.payoutQueue, deps.config, payoutId, `retry-${Date.now()}`);
  return record;
}

async function operatorEvent(
  deps: PayoutCommandDeps,
  payoutId: string,
  event: PayoutEvent,
  fields: Record<string, string>,
): Promise<PayoutRecord> {
  const record = await mustGet(deps, payoutId);
  const applied = await applyPayoutEvent(deps, record, event, {
    fields,
    detail: `by ${fields.approvedBy ?? fields.cancelledBy ?? fields.refundRequestedBy ?? fields.retriedBy ?? ''}`,
  });
  if (!applied.ok)
    throw new PayoutError('refused', `${event} refused: ${applied.reason}`, 409, { state: record.state });
  return applied.record;
}

async function mustGet(deps: Pick<PayoutCommandDeps, 'payouts'>, ref: string): Promise<PayoutRecord> {
  // By id, else by external id (whatever namespace its id was derived under).
  const byExternal = await deps.payouts.idForExternal(ref);
  const record =
    (await deps.payouts.get(ref)) ??
    (byExternal === undefined ? undefined : await deps.payouts.get(byExternal));
  if (record === undefined) throw new PayoutError('not-found', `no payout ${ref}`, 404);
  return record;
}

/** A payout by id or external id, with its history and where its money is. */
export async function showPayout(deps: Pick<PayoutCommandDeps, 'payouts'>, ref: string) {
  const record = await mustGet(deps, ref);
  return { payout: publicPayout(record), history: await deps.payouts.history(record.payoutId) };
}

/** A payout as the API and CLI show it. */
export type PublicPayout = PayoutRecord & { funds: FundsLocation };

/** The payout as the API and CLI show it: its record without internals or emptied fields, plus where the money is. */
export function publicPayout(record: PayoutRecord): PublicPayout {
  const { fingerprint: _fingerprint, ...rest } = record as PayoutRecord & { fingerprint?: string };
  const visible = Object.fromEntries(Object.entries(rest).filter(([, value]) => value !== ''));
  return { ...(visible as PayoutRecord), funds: payoutFunds(record) };
}

/**
 * A dry run (`payouts create --dry-run`): the checks, the daily limit, the pair minimum, a quote and
 * the GAS fee, and what would arrive. Reads only; moves and stores nothing.
 */
export async function previewPayout(
  deps: Pick<PayoutCommandDeps, 'config' | 'payouts'> & {
    client: Pick<InterlaceClient, 'getCurrencyPair' | 'estimateQuote' | 'getTransferFee'>;
  },
  input: Record<string, unknown>,
) {
  requireEnabled(deps.config);
  const verdict = checkPayoutRequest(input, payoutControls(deps.config));
  if (!verdict.ok)
    throw new PayoutError('invalid-payout', verdict.reason, 422, { field: fieldName(verdict.field) });
  const request = verdict.request;
  const { payout } = deps.config;
  const used = await deps.payouts.dailyUsed(Date.now());
  const pair = await deps.client.getCurrencyPair('USD', request.currency);
  const quote = await deps.client.estimateQuote({
    accountId: payout.accountId,
    baseCurrency: request.currency,
    quoteCurrency: 'USD',
    side: 'BUY',
    rfqCurrency: 'USD',
    rfqAmount: request.amount,
  });
  const fee = await deps.client.getTransferFee({
    accountId: payout.accountId,
    source: { type: payout.feeSourceType, id: payout.walletId },
    destination: { type: payout.feeDestinationType, chain: request.chain, address: request.address },
    amount: { currency: request.currency, amount: quote.baseAmount },
  });
  const gas = fee.fees
    .filter((f) => f.type === 'GAS' && f.currency === request.currency)
    .map((f) => f.amount);
  const plan = planWithdrawal(quote.baseAmount, gas, payout.gasMode, request.currency);
  return {
    dryRun: true,
    request,
    withinDailyLimit: fitsDailyLimit(used, request.amount, payout.dailyLimit),
    dailyUsed: used,
    dailyLimit: payout.dailyLimit,
    pairMinimum: `${pair.quoteMin} ${pair.quoteCurrency}`,
    quote: {
      rate: quote.rate,
      fee: `${quote.fee} ${quote.feeCurrency}`,
      bought: `${quote.baseAmount} ${quote.baseCurrency}`,
    },
    gas: `${plan.ok ? plan.gas : gas.join('+')} ${request.currency}`,
    wouldSend: plan.ok ? `${plan.amount} ${request.currency}` : null,
    wouldArrive: plan.ok ? `${plan.arrives} ${request.currency}` : null,
    refusal: plan.ok ? null : plan.reason,
    note: 'a preview: the trade re-quotes, so the amounts that move may differ slightly',
  };
}

function fieldName(field: string): string {
  return field === 'externalId' ? 'external_id' : field;
}
