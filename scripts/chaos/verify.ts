/**
 * The verdict of a chaos run, checked against the simulator's own ledger (what Interlace really moved)
 * and against the service's deposit ledger and queues in Redis.
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from '../../src/keys.js';
import type { DeadLetterData } from '../../src/queues/names.js';
import type { Simulator, SimTransfer } from '../../simulator/simulator.js';
import { Decimal } from '../../src/sweep/decimal.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';
import type { DepositKind, PlannedDeposit } from './plan.js';

export const TERMINAL_STATES = new Set(['swept', 'dead', 'held', 'failed', 'dust', 'unsupported']);

const EXPECTED_STATE: Record<DepositKind, string> = {
  sweep: 'swept',
  dust: 'dust',
  held: 'held',
  fail: 'dead',
};

/** Job states that mean "still to do" in the sweep queue. */
export const OPEN_JOB_STATES = [
  'waiting',
  'active',
  'delayed',
  'prioritized',
  'paused',
  'waiting-children',
] as const;

export type Verdict = {
  transfers: number;
  lost: number;
  /** Deposits moved more than once. */
  doubled: number;
  /**
   * Transfer calls that arrived after the ledger recorded their deposit swept: a worker that claimed
   * the deposit before (a re-run of a job whose lock lapsed) still sending. Safe (same id): counted.
   */
  sentAfterSwept: number;
  /** Transfer calls received (retries included). */
  transferCalls: number;
  /**
   * Calls that came after Interlace had sent a CLOSED answer: the client gave up on an answer that came
   * too late, or a worker died before recording it. Safe (same clientTransactionId), and counted.
   */
  resentAfterConfirmed: number;
  replays: number;
  deadLetters: number;
  openJobs: Record<string, number>;
  violations: string[];
};

/** Reads the `state` of every deposit in one round trip. */
export async function ledgerStates(
  redis: Redis,
  keys: Keys,
  ids: readonly string[],
): Promise<(string | null)[]> {
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hget(keys.deposit(id), 'state');
  const replies = (await pipeline.exec()) ?? [];
  return replies.map(([error, value]) => (error ? null : ((value as string | null) ?? null)));
}

export async function openJobCounts(queue: Queue): Promise<Record<string, number>> {
  return queue.getJobCounts(...OPEN_JOB_STATES);
}

export async function verify(input: {
  sim: Simulator;
  deposits: readonly PlannedDeposit[];
  redis: Redis;
  keys: Keys;
  sweepQueue: Queue;
  deadQueue: Queue<DeadLetterData>;
  /** Wallets whose balances are not the deposits' (the payout wallet): left out of the dust sum. */
  excludeWallets?: readonly string[];
}): Promise<Verdict> {
  const { sim, deposits, redis, keys } = input;
  const violations: string[] = [];
  // Reports stay readable when something is badly wrong: at most this many lines per kind of violation.
  const perKind = new Map<string, number>();
  const violation = (kind: string, text: string): void => {
    const seen = perKind.get(kind) ?? 0;
    perKind.set(kind, seen + 1);
    if (seen < 20) violations.push(`${kind}: ${text}`);
    else if (seen === 20) violations.push(`${kind}: … (more omitted)`);
  };

  const transfers = sim.transfers();
  const byTxId = new Map<string, SimTransfer[]>();
  for (const transfer of transfers) {
    const list = byTxId.get(transfer.clientTransactionId) ?? [];
    list.push(transfer);
    byTxId.set(transfer.clientTransactionId, list);
  }

  const records = await readRecords(redis, keys, deposits);
  let lost = 0;
  let doubled = 0;
  let transferCalls = 0;
  let resentAfterConfirmed = 0;
  let sentAfterSwept = 0;
  const known = new Set<string>();
  for (const deposit of deposits) {
    const txId = sweepTransactionId(deposit.id);
    known.add(txId);
    const moved = byTxId.get(txId) ?? [];
    const record = records.get(deposit.id);
    const state = record?.state ?? '(none)';
    if (state !== EXPECTED_STATE[deposit.kind]) {
      violation(
        'wrong-state',
        `deposit ${deposit.id} (${deposit.kind}) is ${state}, expected ${EXPECTED_STATE[deposit.kind]}` +
          (record?.reason ? ` (reason: ${record.reason})` : ''),
      );
    }
    const calls = sim.transferCalls(txId);
    transferCalls += calls.calls;
    resentAfterConfirmed += calls.resentAfterConfirmed.length;
    const sweptAt = Number(record?.state === 'swept' ? record.sweptAt : Number.NaN);
    if (Number.isFinite(sweptAt) && calls.lastCallAt > sweptAt) sentAfterSwept += 1;
    if (moved.length > 1) {
      doubled += 1;
      violation('doubled', `deposit ${deposit.id} moved ${moved.length} times`);
    }
    if (deposit.kind !== 'sweep') {
      if (moved.length > 0)
        violation('unexpected-transfer', `${deposit.kind} deposit ${deposit.id} was moved`);
      continue;
    }
    const transfer = moved[0];
    if (transfer === undefined) {
      lost += 1;
      violation('lost', `deposit ${deposit.id} (${deposit.amount} ${deposit.currency}) has no transfer`);
      continue;
    }
    const request = transfer.request as { accountId?: string; from?: { id?: string; currency?: string } };
    if (transfer.amount !== deposit.amount || transfer.currency !== deposit.currency) {
      violation(
        'wrong-amount',
        `deposit ${deposit.id}: ${deposit.amount} ${deposit.currency} moved as ${transfer.amount} ${transfer.currency}`,
      );
    }
    if (request.accountId !== deposit.accountId || request.from?.id !== deposit.walletId) {
      violation(
        'wrong-wallet',
        `deposit ${deposit.id} moved from ${request.from?.id} of ${request.accountId}`,
      );
    }
    if (record?.transferId !== transfer.id) {
      violation(
        'ledger-mismatch',
        `deposit ${deposit.id} records transfer ${record?.transferId}, Interlace has ${transfer.id}`,
      );
    }
  }
  for (const transfer of transfers) {
    if (!known.has(transfer.clientTransactionId)) {
      violation(
        'orphan-transfer',
        `transfer ${transfer.id} (${transfer.clientTransactionId}) matches no deposit`,
      );
    }
  }

  checkSums(sim, deposits, violation, input.excludeWallets ?? []);

  const openJobs = await openJobCounts(input.sweepQueue);
  for (const [state, count] of Object.entries(openJobs)) {
    if (count > 0) violation('queue-not-empty', `${count} sweep job(s) ${state}`);
  }

  const dead = await input.deadQueue.getJobs([
    'waiting',
    'active',
    'delayed',
    'paused',
    'completed',
    'failed',
  ]);
  const deadIds = new Set(dead.map((job) => job.data.depositId ?? `(no deposit id: ${job.data.reason})`));
  const designed = new Set(deposits.filter((d) => d.kind === 'fail').map((d) => d.id));
  for (const id of deadIds) if (!designed.has(id)) violation('unexpected-dead-letter', id);
  for (const id of designed) if (!deadIds.has(id)) violation('missing-dead-letter', id);
  if (dead.length !== deadIds.size)
    violation('duplicate-dead-letter', `${dead.length} letters for ${deadIds.size} ids`);

  return {
    transfers: transfers.length,
    lost,
    doubled,
    transferCalls,
    resentAfterConfirmed,
    sentAfterSwept,
    replays: transfers.reduce((total, t) => total + t.replays, 0),
    deadLetters: dead.length,
    openJobs,
    violations,
  };
}

/**
 * Per currency, on Interlace's books: what went out = USD credited + fees; what went out = the sum of
 * the sweepable deposits; what is left in the CryptoConnect wallets = the dust. And the Infinity USD
 * balances (which start at 0) add up to the USD credited.
 */
function checkSums(
  sim: Simulator,
  deposits: readonly PlannedDeposit[],
  violation: (kind: string, text: string) => void,
  excludeWallets: readonly string[],
): void {
  const summary = sim.summary();
  const excluded = (currency: string): Decimal =>
    excludeWallets.reduce(
      (sum, walletId) =>
        sum.plus(sim.wallet(walletId)?.balances.find((b) => b.currency === currency)?.available ?? 0),
      new Decimal(0),
    );
  const expectedOut = new Map<string, Decimal>();
  const expectedLeft = new Map<string, Decimal>();
  for (const deposit of deposits) {
    const target =
      deposit.kind === 'sweep' ? expectedOut : deposit.kind === 'dust' ? expectedLeft : undefined;
    if (target === undefined) continue;
    target.set(deposit.currency, (target.get(deposit.currency) ?? new Decimal(0)).plus(deposit.amount));
  }
  const currencies = new Set([
    ...Object.keys(summary.currencies),
    ...expectedOut.keys(),
    ...expectedLeft.keys(),
  ]);
  for (const currency of currencies) {
    const row = summary.currencies[currency];
    const out = new Decimal(row?.transferredOut ?? 0);
    const credited = new Decimal(row?.usdCredited ?? 0);
    const fees = new Decimal(row?.fees ?? 0);
    if (!out.eq(credited.plus(fees))) {
      violation('sums', `${currency}: transferred out ${out} != usd credited ${credited} + fees ${fees}`);
    }
    const wantOut = expectedOut.get(currency) ?? new Decimal(0);
    if (!out.eq(wantOut))
      violation('sums', `${currency}: transferred out ${out}, deposits to sweep ${wantOut}`);
    const left = new Decimal(row?.walletAvailable ?? 0).minus(excluded(currency));
    const wantLeft = expectedLeft.get(currency) ?? new Decimal(0);
    if (!left.eq(wantLeft)) violation('sums', `${currency}: ${left} left in wallets, dust is ${wantLeft}`);
  }
  const accounts = new Set(deposits.map((d) => d.accountId));
  let infinity = new Decimal(0);
  for (const accountId of accounts) infinity = infinity.plus(sim.infinityWallet(accountId)?.available ?? 0);
  if (!infinity.eq(summary.usdCreditedTotal)) {
    violation('sums', `Infinity USD balances ${infinity} != USD credited ${summary.usdCreditedTotal}`);
  }
}

async function readRecords(
  redis: Redis,
  keys: Keys,
  deposits: readonly PlannedDeposit[],
): Promise<Map<string, Record<string, string>>> {
  const pipeline = redis.pipeline();
  for (const deposit of deposits) pipeline.hgetall(keys.deposit(deposit.id));
  const replies = (await pipeline.exec()) ?? [];
  const records = new Map<string, Record<string, string>>();
  replies.forEach(([error, value], index) => {
    const record = value as Record<string, string> | null;
    if (!error && record && Object.keys(record).length > 0) records.set(deposits[index]!.id, record);
  });
  return records;
}
