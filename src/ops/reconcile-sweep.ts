import {
  compareBalance,
  deadOperatorSweeps,
  decideOperatorSweep,
  operatorSweepDepositId,
  OPERATOR_SWEEP_STATUS,
  type BalanceLine,
} from '../policy/reconcile-policy.js';
import { readReconcileReport, reservedIn, snapshotWallet } from '../reconcile/run-reconcile.js';
import { scripts } from '../redis-scripts.js';
import { UNSET_CREDENTIAL } from '../config.js';
import { createInterlaceClient } from '../interlace/client.js';
import { createLogger } from '../logger.js';
import { checkAmount } from '../sweep/amounts.js';
import { Decimal } from '../sweep/decimal.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import { appendAudit } from './audit-log.js';
import type { OpsDeps } from './ops-context.js';
import { unstoredForWallet } from '../webhooks/unstored-notifications.js';
import { unstoredRefusal } from '../policy/reconcile-policy.js';
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
  /**
   * The balance picture the amount was checked against: the wallet's balance read now (or, when the CLI
   * has no Interlace credentials, the report's, only while the reservations are as the report saw them)
   * and today's ledger.
   */
  line?: BalanceLine;
  reportAt: number;
};

/**
 * `reconcile sweep <wallet> <currency> <amount>`: an operator's decision to move money no notification
 * explains, for a wallet and currency the latest reconciliation report lists. Checked against the ledger,
 * the reservations and the wallet's balance as they are now (decideOperatorSweep; the sweep worker
 * checks again right before the transfer), then recorded as a deposit whose id is derived from the command and a
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
  // A notification received and not stored yet explains money the ledger does not know of yet: sweeping
  // it now, then again when its deposit is stored, would move it twice.
  const unstored = unstoredRefusal(
    await unstoredForWallet(deps.redis, deps.keys, deps.queues.dead, input.walletId),
  );
  if (unstored !== undefined) throw new OpsError(`refused (${unstored.refusal}): ${unstored.message}`);
  // The ledger and the reservations are read BEFORE the balance (as runReconcile does): a sweep or a
  // payout finishing in between makes the balance smaller, never larger, than they say. The report's
  // old balance is never combined with today's reservations: a reservation released since the report
  // would count its (gone) money as unexplained, and the sweep would take a later payout's money.
  const entries = await snapshotWallet(deps.redis, deps.keys, input.walletId);
  const reserved = (await reservedIn(deps.redis, deps.keys, input.walletId, [currency]))[currency];
  const live = await readLiveBalance(deps, input.walletId, currency);
  if (live === undefined && !new Decimal(reserved ?? 0).eq(entry.reserved))
    throw new OpsError(
      `refused (reservations-changed): payout reservations in wallet ${input.walletId} changed since the ` +
        `report (${entry.reserved} then, ${reserved ?? '0'} now): wait for the next run, or give the CLI ` +
        'Interlace credentials so it reads the balance itself',
    );
  const line = compareBalance({
    currency,
    available: live?.available ?? entry.available,
    entries,
    ...(reserved !== undefined ? { reserved } : {}),
    // The report's balance was read during that run: what was swept since is no longer in the wallet.
    ...(live === undefined ? { balanceReadAt: report.startedAt } : {}),
  });
  const decision = decideOperatorSweep({
    amount: input.amount,
    currency,
    master: entry.master || live?.master === true,
    line,
    deadSweeps: deadOperatorSweeps(entries, currency),
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

const PLAIN = /^\d+(\.\d+)?$/;

/** The wallet's balance in `currency` read from Interlace now; undefined when the CLI has no credentials. */
async function readLiveBalance(
  deps: OpsDeps,
  walletId: string,
  currency: string,
): Promise<{ available: string; master: boolean } | undefined> {
  if (deps.config.interlace.clientId === UNSET_CREDENTIAL) return undefined;
  const client = createInterlaceClient({
    config: deps.config,
    redis: deps.redis,
    keys: deps.keys,
    logger: createLogger({ level: 'silent' }),
  });
  try {
    const wallet = await client.getCryptoConnectWallet(walletId).catch((error: unknown) => {
      throw new OpsError(
        `could not read wallet ${walletId}'s balance from Interlace: ${error instanceof Error ? error.message : String(error)}`,
      );
    });
    const available = wallet.balances.find((b) => b.currency === currency)?.available ?? '0';
    if (typeof available !== 'string' || !PLAIN.test(available))
      throw new OpsError(`wallet ${walletId}'s ${currency} balance is not a plain decimal`);
    return { available, master: wallet.master === true };
  } finally {
    client.close();
  }
}
