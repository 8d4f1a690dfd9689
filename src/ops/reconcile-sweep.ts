import {
  compareBalance,
  decideOperatorSweep,
  operatorSweepDepositId,
  OPERATOR_SWEEP_STATUS,
  type BalanceLine,
} from '../policy/reconcile-policy.js';
import { readReconcileReport, reservedIn, snapshotWallet } from '../reconcile/run-reconcile.js';
import { scripts } from '../redis-scripts.js';
import { checkAmount } from '../sweep/amounts.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import { appendAudit } from './audit-log.js';
import type { OpsDeps } from './ops-context.js';
import { OpsError } from './ops-error.js';
import { ensureSweepJob } from './sweep-job.js';

export type OperatorSweepResult = {
  outcome: 'queued' | 'already-requested' | 'would-queue';
  depositId: string;
  clientTransactionId: string;
  walletId: string;
  currency: string;
  amount: string;
  reference: string;
  /** The deposit's state when it already existed (the same command ran before). */
  state?: string;
  /** The balance picture the amount was checked against: the report's balance, today's ledger. */
  line?: BalanceLine;
  reportAt: number;
};

/**
 * `reconcile sweep <wallet> <currency> <amount>`: an operator's decision to move money no notification
 * explains. Checked against the latest reconciliation report's balance and the ledger as it is now
 * (decideOperatorSweep), then recorded as a deposit whose id is derived from the command and a
 * reference (the report entry's id by default), so repeating the command never moves the money twice.
 * The normal sweep worker moves it. Every refusal and every sweep is audited; a dry run writes nothing.
 */
export async function reconcileSweep(
  deps: OpsDeps,
  input: { walletId: string; currency: string; amount: string; reference?: string; dryRun?: boolean },
): Promise<OperatorSweepResult> {
  const targets = [input.walletId, input.currency, input.amount];
  try {
    const result = await sweep(deps, input);
    if (!input.dryRun) await appendAudit(deps, { command: 'reconcile sweep', targets, result });
    return result;
  } catch (error) {
    if (error instanceof OpsError && !input.dryRun)
      await appendAudit(deps, { command: 'reconcile sweep', targets, result: { refused: error.message } });
    throw error;
  }
}

async function sweep(
  deps: OpsDeps,
  input: { walletId: string; currency: string; amount: string; reference?: string; dryRun?: boolean },
): Promise<OperatorSweepResult> {
  const currency = input.currency.toUpperCase();
  const report = await readReconcileReport(deps.redis, deps.keys.prefix);
  if (!report)
    throw new OpsError('no reconciliation report yet: the workers write one every RECONCILE_INTERVAL_MS');
  const entry = report.discrepancies.find((d) => d.walletId === input.walletId && d.currency === currency);
  if (!entry)
    throw new OpsError(
      `the latest reconciliation report (${new Date(report.finishedAt).toISOString()}) has no unexplained ` +
        `${currency} in wallet ${input.walletId}`,
    );
  const reference = input.reference ?? entry.entryId;
  // The same command again (a retry, a second operator): its deposit is the answer, whatever the balance
  // says now (the money it moved is no longer unexplained).
  const normalized = checkAmount(input.amount, currency);
  if (normalized.ok) {
    const depositId = operatorSweepDepositId({
      walletId: input.walletId,
      currency,
      amount: normalized.amount,
      reference,
    });
    const state =
      (await deps.redis.hget(deps.keys.deposit(depositId), 'state')) ??
      ((await deps.redis.hexists(deps.keys.sweptIds(depositId), depositId)) ? 'swept' : null);
    if (state !== null) {
      if (state === 'queued' && !input.dryRun) await ensureSweepJob(deps.queues, depositId);
      return {
        outcome: 'already-requested',
        depositId,
        clientTransactionId: sweepTransactionId(depositId),
        walletId: input.walletId,
        currency,
        amount: normalized.amount,
        reference,
        state,
        reportAt: report.finishedAt,
      };
    }
  }
  // Today's ledger against the report's balance: a deposit notified since the report explains its money.
  const entries = await snapshotWallet(deps.redis, deps.keys, input.walletId);
  const reserved = (await reservedIn(deps.redis, deps.keys, input.walletId, [currency]))[currency];
  const line = compareBalance({
    currency,
    available: entry.available,
    entries,
    ...(reserved !== undefined ? { reserved } : {}),
    // The balance was read during that run: what was swept since is no longer in the wallet.
    balanceReadAt: report.startedAt,
  });
  const decision = decideOperatorSweep({
    amount: input.amount,
    currency,
    master: entry.master,
    line,
    policy: {
      currencies: deps.config.sweep.currencies,
      minAmount: deps.config.sweep.minAmount,
      maxAmount: deps.config.sweep.maxAmount,
    },
  });
  if (!decision.ok) throw new OpsError(`refused (${decision.refusal}): ${decision.message}`);
  const depositId = operatorSweepDepositId({
    walletId: input.walletId,
    currency,
    amount: decision.amount,
    reference,
  });
  const result: OperatorSweepResult = {
    outcome: 'would-queue',
    depositId,
    clientTransactionId: sweepTransactionId(depositId),
    walletId: input.walletId,
    currency,
    amount: decision.amount,
    reference,
    line,
    reportAt: report.finishedAt,
  };
  if (input.dryRun) return result;

  const now = deps.now();
  const fields: Record<string, string> = {
    depositId,
    accountId: entry.accountId,
    walletId: input.walletId,
    currency,
    amount: decision.amount,
    clientTransactionId: result.clientTransactionId,
    upstreamStatus: OPERATOR_SWEEP_STATUS,
    origin: 'reconcile',
    operator: deps.operator,
    reference,
    reconcileEntryId: entry.entryId,
  };
  const pairs = Object.entries(fields).flat();
  const [kind, value] = await scripts.reconcileCreate<[string, string]>(deps.redis, {
    keys: {
      byWallet: deps.keys.depositsByWallet(input.walletId),
      deposit: deps.keys.deposit(depositId),
      byTime: deps.keys.depositsByTime,
      sweptIds: deps.keys.sweptIds(depositId),
    },
    args: {
      depositKeyPrefix: deps.keys.deposit(''),
      depositId,
      indexSize: entries.length,
      now: String(now),
      retention: deps.config.ledgerRetentionMs,
    },
    rest: [entries.length, ...entries.flatMap((e) => [e.depositId, e.state]), pairs.length / 2, ...pairs],
  });
  if (kind === 'changed')
    throw new OpsError(`the wallet's ledger changed while this command checked it (${value}): run it again`);
  if (kind === 'exists') {
    // The same command ran before: its deposit is the one to follow. A queued one gets its job back in
    // case the first run stopped between the record and the job.
    if (value === 'queued') await ensureSweepJob(deps.queues, depositId);
    return { ...result, outcome: 'already-requested', state: value };
  }
  await ensureSweepJob(deps.queues, depositId);
  return { ...result, outcome: 'queued', state: 'queued' };
}
