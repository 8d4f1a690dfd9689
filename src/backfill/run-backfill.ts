import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Keys } from '../keys.js';
import type { InterlaceClient } from '../interlace/client.js';
import type { CryptoConnectWallet } from '../interlace/types.js';
import type { SweepJobData } from '../queues/names.js';
import { enqueueSweep } from '../queues/create-queues.js';
import { checkAmount, currencyPrecision, isBelow, sumAmounts } from '../sweep/amounts.js';
import { Decimal } from '../sweep/decimal.js';
import { FINDINGS_MAX_LEN } from './keys.js';
import {
  accountedAmount,
  createBackfillLedger,
  snapshotWallet,
  type BackfillLedger,
  type WalletSnapshot,
} from './backfill-ledger.js';

export type BackfillMode = 'sweep' | 'report';

/**
 * What a finding led to: `reported` (report mode), `queued` (a backfill deposit was created and its
 * sweep enqueued), `in-progress` (an earlier backfill of this wallet+currency is not finished; this
 * finding waits for the next run), `changed` (the ledger kept changing while this run read it).
 */
export type FindingAction = 'reported' | 'queued' | 'in-progress' | 'changed';

export type BackfillFinding = {
  accountId: string;
  walletId: string;
  currency: string;
  /** The wallet's available balance, as Interlace answered it. */
  available: string;
  /** Σ ledger deposits of the wallet and currency in queued, sweeping, dead, dust or held. */
  accounted: string;
  /** available − accounted, truncated to the currency's precision: the amount a backfill sweeps. */
  unaccounted: string;
  mode: BackfillMode;
  action: FindingAction;
  /** The backfill deposit that sweeps (or will sweep) it, when there is one. */
  depositId?: string;
  at: number;
};

export type BackfillError = { accountId: string; walletId?: string; message: string };

export type BackfillResult = {
  mode: BackfillMode;
  startedAt: number;
  finishedAt: number;
  accounts: number;
  wallets: number;
  findings: BackfillFinding[];
  errors: BackfillError[];
};

export type BackfillDeps = {
  config: Config;
  logger: Logger;
  redis: Redis;
  keys: Keys;
  client: Pick<InterlaceClient, 'listCryptoConnectWallets' | 'getCryptoConnectWallet'>;
  sweepQueue: Queue<SweepJobData>;
  /** Hook for alerts: called once per finding, after it was handled; its failures are only logged. */
  onFinding?: (finding: BackfillFinding) => void | Promise<void>;
};

const PLAIN = /^\d+(\.\d+)?$/;
const MAX_READS = 3;

/**
 * One backfill run (README "Backfill"): for every known account and CryptoConnect wallet, compares
 * each swept currency's available balance with what the ledger already accounts for, and reports or
 * sweeps the difference when it reaches SWEEP_MIN_AMOUNT.
 */
export async function runBackfill(
  deps: BackfillDeps,
  options: { mode?: BackfillMode; now?: number } = {},
): Promise<BackfillResult> {
  const mode = options.mode ?? deps.config.backfill.mode;
  const clock = () => options.now ?? Date.now();
  const log = deps.logger.child({ component: 'backfill', mode });
  const ledger = createBackfillLedger(deps.redis, deps.keys, {
    retentionMs: deps.config.ledgerRetentionMs,
  });
  const result: BackfillResult = {
    mode,
    startedAt: clock(),
    finishedAt: 0,
    accounts: 0,
    wallets: 0,
    findings: [],
    errors: [],
  };

  const known = await deps.redis.smembers(deps.keys.accounts);
  const accounts = [...new Set([...deps.config.backfill.accountIds, ...known])].sort();
  result.accounts = accounts.length;

  for (const accountId of accounts) {
    let wallets: CryptoConnectWallet[];
    try {
      wallets = await deps.client.listCryptoConnectWallets(accountId);
    } catch (error) {
      result.errors.push({ accountId, message: messageOf(error) });
      log.warn({ accountId, err: error }, 'backfill could not list the wallets of an account');
      continue;
    }
    for (const listed of wallets) {
      result.wallets += 1;
      try {
        await backfillWallet(deps, ledger, result, log, mode, clock, accountId, listed);
      } catch (error) {
        result.errors.push({ accountId, walletId: listed.id, message: messageOf(error) });
        log.warn({ accountId, walletId: listed.id, err: error }, 'backfill of a wallet failed');
      }
    }
  }
  result.finishedAt = clock();
  log.info(
    {
      accounts: result.accounts,
      wallets: result.wallets,
      findings: result.findings.length,
      errors: result.errors.length,
    },
    'backfill run finished',
  );
  return result;
}

async function backfillWallet(
  deps: BackfillDeps,
  ledger: BackfillLedger,
  result: BackfillResult,
  log: Logger,
  mode: BackfillMode,
  clock: () => number,
  accountId: string,
  listed: CryptoConnectWallet,
): Promise<void> {
  const walletId = listed.id;
  const currencies = deps.config.sweep.currencies.filter((currency) =>
    listed.balances.some((balance) => balance.currency === currency),
  );
  if (currencies.length === 0) return;

  for (let read = 1; read <= MAX_READS; read += 1) {
    // The ledger is read BEFORE the balance: a sweep finishing in between makes the balance smaller,
    // never larger, than the ledger says (a missed finding, caught by the next run, never a false one).
    const snapshot = {
      ...(await snapshotWallet(deps.redis, deps.keys, walletId)),
      reserved: await reservedIn(deps, walletId, currencies),
    };
    const wallet = await deps.client.getCryptoConnectWallet(walletId);
    let retry = false;
    for (const currency of currencies) {
      const balance = wallet.balances.find((item) => item.currency === currency);
      if (!balance) continue;
      if (typeof balance.available !== 'string' || !PLAIN.test(balance.available)) {
        result.errors.push({
          accountId,
          walletId,
          message: `${currency} available balance is not a plain decimal`,
        });
        continue;
      }
      if (result.findings.some((f) => f.walletId === walletId && f.currency === currency)) continue;
      const finding = computeFinding(deps, snapshot, accountId, walletId, currency, balance.available, mode);
      if (!finding) continue;
      finding.at = clock();
      if (mode === 'sweep') {
        const outcome = await sweepFinding(deps, ledger, snapshot, finding, clock());
        if (outcome === 'changed' && read < MAX_READS) {
          retry = true;
          continue;
        }
      }
      await record(deps, ledger, log, result, finding);
    }
    if (!retry) return;
  }
}

/** What payouts keep in the wallet, per currency, read with the ledger and before the balance. */
async function reservedIn(
  deps: BackfillDeps,
  walletId: string,
  currencies: readonly string[],
): Promise<Record<string, string>> {
  const reserved: Record<string, string> = {};
  for (const currency of currencies) {
    const amounts = await deps.redis.hvals(deps.keys.reserved(walletId, currency));
    if (amounts.length > 0) reserved[currency] = sumAmounts(amounts);
  }
  return reserved;
}

function computeFinding(
  deps: BackfillDeps,
  snapshot: WalletSnapshot,
  accountId: string,
  walletId: string,
  currency: string,
  available: string,
  mode: BackfillMode,
): BackfillFinding | undefined {
  const accounted = accountedAmount(snapshot, currency);
  const unaccounted = new Decimal(available)
    .minus(accounted)
    .toDecimalPlaces(currencyPrecision(currency), Decimal.ROUND_DOWN);
  if (unaccounted.lte(0)) return undefined;
  const amount = unaccounted.toFixed();
  if (!checkAmount(amount, currency).ok || isBelow(amount, deps.config.sweep.minAmount)) return undefined;
  return {
    accountId,
    walletId,
    currency,
    available,
    accounted: accounted.toFixed(),
    unaccounted: amount,
    mode,
    action: 'reported',
    at: 0,
  };
}

/** Creates (or finds in progress) the backfill deposit of a finding and enqueues its sweep. */
async function sweepFinding(
  deps: BackfillDeps,
  ledger: BackfillLedger,
  snapshot: WalletSnapshot,
  finding: BackfillFinding,
  now: number,
): Promise<FindingAction> {
  const outcome = await ledger.create({
    accountId: finding.accountId,
    walletId: finding.walletId,
    currency: finding.currency,
    amount: finding.unaccounted,
    snapshot,
    fields: {
      backfillAvailable: finding.available,
      backfillAccounted: finding.accounted,
    },
    now,
  });
  if (outcome.kind === 'changed') {
    finding.action = 'changed';
    return 'changed';
  }
  // Also for one in progress: its first enqueue may have failed after the record was written. The
  // deterministic job id makes this a no-op otherwise.
  await enqueueSweep(deps.sweepQueue, outcome.depositId);
  finding.action = outcome.kind === 'created' ? 'queued' : 'in-progress';
  finding.depositId = outcome.depositId;
  return finding.action;
}

async function record(
  deps: BackfillDeps,
  ledger: BackfillLedger,
  log: Logger,
  result: BackfillResult,
  finding: BackfillFinding,
) {
  result.findings.push(finding);
  log.warn({ finding }, 'backfill finding: balance the ledger does not account for');
  await deps.redis.xadd(
    ledger.keys.findings,
    'MAXLEN',
    '~',
    FINDINGS_MAX_LEN,
    '*',
    ...Object.entries(finding).flatMap(([key, value]) => [key, String(value)]),
  );
  try {
    await deps.onFinding?.(finding);
  } catch (error) {
    log.warn({ err: error, walletId: finding.walletId }, 'onFinding hook failed');
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
