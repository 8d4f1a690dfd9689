import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { Keys } from '../keys.js';
import type { InterlaceClient } from '../interlace/client.js';
import type { CryptoConnectWallet } from '../interlace/types.js';
import { sumAmounts } from '../sweep/amounts.js';
import {
  compareBalance,
  isDiscrepancy,
  reconcileEntryId,
  type BalanceLine,
  type LedgerEntry,
} from '../policy/reconcile-policy.js';
import { DISCREPANCIES_MAX_LEN, createReconcileKeys } from './keys.js';
import { feedHistory, type HistoryFeedDeps, type TransferHistorySource } from './transfer-history.js';

/** One wallet and currency whose balance the ledger does not explain. */
export type Discrepancy = BalanceLine & {
  /** Stable while the wallet's balance and ledger are unchanged (see reconcileEntryId). */
  entryId: string;
  accountId: string;
  walletId: string;
  master: boolean;
  at: number;
};

export type ReconcileError = { accountId: string; walletId?: string; message: string };

export type ReconcileReport = {
  startedAt: number;
  finishedAt: number;
  accounts: number;
  wallets: number;
  /** Deposits a transfer-history source fed through the webhook's path (0 without a source). */
  fed: number;
  discrepancies: Discrepancy[];
  errors: ReconcileError[];
};

export type ReconcileDeps = {
  config: Config;
  logger: Logger;
  redis: Redis;
  keys: Keys;
  client: Pick<InterlaceClient, 'listCryptoConnectWallets' | 'getCryptoConnectWallet'>;
  /**
   * A documented source of a wallet's incoming transfers, when there is one (none today: API-NOTES §9).
   * What it lists goes through the webhook's path (`feed`), so the ledger explains it before balances
   * are compared.
   */
  history?: TransferHistorySource;
  feed?: HistoryFeedDeps;
  /** Hook for alerts and metrics: called once per run with its report; its failures are only logged. */
  onReport?: (report: ReconcileReport) => void | Promise<void>;
};

const PLAIN = /^\d+(\.\d+)?$/;

/**
 * One reconciliation run (docs/reconciliation.md): for every known account and CryptoConnect wallet,
 * compares each swept currency's available balance with what the ledger explains, and reports the
 * money it does not explain (log, stream, stored report, hook). It never moves money.
 */
export async function runReconcile(
  deps: ReconcileDeps,
  options: { now?: number } = {},
): Promise<ReconcileReport> {
  const clock = () => options.now ?? Date.now();
  const log = deps.logger.child({ component: 'reconcile' });
  const rkeys = createReconcileKeys(deps.keys.prefix);
  const report: ReconcileReport = {
    startedAt: clock(),
    finishedAt: 0,
    accounts: 0,
    wallets: 0,
    fed: 0,
    discrepancies: [],
    errors: [],
  };

  const known = await deps.redis.smembers(deps.keys.accounts);
  const accounts = [...new Set([...deps.config.reconcile.accountIds, ...known])].sort();
  report.accounts = accounts.length;

  for (const accountId of accounts) {
    let wallets: CryptoConnectWallet[];
    try {
      wallets = await deps.client.listCryptoConnectWallets(accountId);
    } catch (error) {
      report.errors.push({ accountId, message: messageOf(error) });
      log.warn({ accountId, err: error }, 'reconciliation could not list the wallets of an account');
      continue;
    }
    for (const listed of wallets) {
      report.wallets += 1;
      try {
        if (deps.history && deps.feed) report.fed += await feedHistory(deps.feed, deps.history, listed);
        await reconcileWallet(deps, report, clock, accountId, listed);
      } catch (error) {
        report.errors.push({ accountId, walletId: listed.id, message: messageOf(error) });
        log.warn({ accountId, walletId: listed.id, err: error }, 'reconciliation of a wallet failed');
      }
    }
  }
  report.finishedAt = clock();
  for (const discrepancy of report.discrepancies) {
    log.warn({ discrepancy }, 'reconciliation: balance the ledger does not explain (report only)');
    await deps.redis.xadd(
      rkeys.discrepancies,
      'MAXLEN',
      '~',
      DISCREPANCIES_MAX_LEN,
      '*',
      ...Object.entries(discrepancy).flatMap(([key, value]) => [key, String(value)]),
    );
  }
  await deps.redis.set(rkeys.report, JSON.stringify(report));
  log.info(
    {
      accounts: report.accounts,
      wallets: report.wallets,
      fed: report.fed,
      discrepancies: report.discrepancies.length,
      errors: report.errors.length,
    },
    'reconciliation run finished',
  );
  try {
    await deps.onReport?.(report);
  } catch (error) {
    log.warn({ err: error }, 'onReport hook failed');
  }
  return report;
}

async function reconcileWallet(
  deps: ReconcileDeps,
  report: ReconcileReport,
  clock: () => number,
  accountId: string,
  listed: CryptoConnectWallet,
): Promise<void> {
  const walletId = listed.id;
  const currencies = [...new Set(listed.balances.map((balance) => balance.currency))];
  if (currencies.length === 0) return;
  // The ledger is read BEFORE the balance: a sweep finishing in between makes the balance smaller,
  // never larger, than the ledger says (a missed discrepancy, caught by the next run, never a false one).
  const snapshot = await snapshotWallet(deps.redis, deps.keys, walletId);
  const reserved = await reservedIn(deps.redis, deps.keys, walletId, currencies);
  const wallet = await deps.client.getCryptoConnectWallet(walletId);
  for (const currency of currencies) {
    const balance = wallet.balances.find((item) => item.currency === currency);
    if (!balance) continue;
    if (typeof balance.available !== 'string' || !PLAIN.test(balance.available)) {
      report.errors.push({
        accountId,
        walletId,
        message: `${currency} available balance is not a plain decimal`,
      });
      continue;
    }
    const line = compareBalance({
      currency,
      available: balance.available,
      entries: snapshot,
      ...(reserved[currency] !== undefined ? { reserved: reserved[currency] } : {}),
    });
    if (!isDiscrepancy(line, deps.config.sweep.minAmount)) continue;
    report.discrepancies.push({
      ...line,
      entryId: reconcileEntryId(walletId, line),
      accountId,
      walletId,
      master: wallet.master === true || listed.master === true,
      at: clock(),
    });
  }
}

/** The wallet's ledger deposits as read at one moment (ids, states, currencies, amounts). */
export async function snapshotWallet(redis: Redis, keys: Keys, walletId: string): Promise<LedgerEntry[]> {
  const ids = await redis.zrange(keys.depositsByWallet(walletId), 0, -1);
  if (ids.length === 0) return [];
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(keys.deposit(id), 'state', 'currency', 'amount', 'sweptAt');
  const replies = (await pipeline.exec()) ?? [];
  return ids.map((depositId, index) => {
    const [error, values] = replies[index] ?? [];
    if (error) throw error;
    const [state, currency, amount, sweptAt] = (values as (string | null)[] | undefined) ?? [];
    return {
      depositId,
      state: state ?? '',
      currency: currency ?? '',
      amount: amount ?? '0',
      ...(sweptAt ? { sweptAt } : {}),
    };
  });
}

/** What payouts keep in the wallet, per currency (decimal strings). */
export async function reservedIn(
  redis: Redis,
  keys: Keys,
  walletId: string,
  currencies: readonly string[],
): Promise<Record<string, string>> {
  const reserved: Record<string, string> = {};
  for (const currency of currencies) {
    const amounts = await redis.hvals(keys.reserved(walletId, currency));
    if (amounts.length > 0) reserved[currency] = sumAmounts(amounts);
  }
  return reserved;
}

/** The latest run's report as stored in Redis, or undefined when no run finished yet. */
export async function readReconcileReport(
  redis: Redis,
  prefix: string,
): Promise<ReconcileReport | undefined> {
  const text = await redis.get(createReconcileKeys(prefix).report);
  return text === null ? undefined : (JSON.parse(text) as ReconcileReport);
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
