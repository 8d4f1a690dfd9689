import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type { DepositState } from '../deposits/deposit-state.js';
import { Decimal } from '../sweep/decimal.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import { backfillDepositId, createBackfillKeys } from './keys.js';
import { scripts } from '../redis-scripts.js';

/** Ledger states whose money the ledger already knows is (still) in the wallet. */
export const ACCOUNTED_STATES: readonly DepositState[] = ['queued', 'sweeping', 'dead', 'dust', 'held'];

export type LedgerEntry = { depositId: string; state: string; currency: string; amount: string };

/** The wallet's ledger deposits as read at one moment (ids, states, currencies, amounts). */
/** The wallet's ledger entries, and what payouts keep reserved in it per currency (never to sweep). */
export type WalletSnapshot = { entries: LedgerEntry[]; reserved?: Record<string, string> };

export async function snapshotWallet(redis: Redis, keys: Keys, walletId: string): Promise<WalletSnapshot> {
  const ids = await redis.zrange(keys.depositsByWallet(walletId), 0, -1);
  if (ids.length === 0) return { entries: [] };
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hmget(keys.deposit(id), 'state', 'currency', 'amount');
  const replies = (await pipeline.exec()) ?? [];
  return {
    entries: ids.map((depositId, index) => {
      const [error, values] = replies[index] ?? [];
      if (error) throw error;
      const [state, currency, amount] = (values as (string | null)[] | undefined) ?? [];
      return { depositId, state: state ?? '', currency: currency ?? '', amount: amount ?? '0' };
    }),
  };
}

/** Σ amounts of the snapshot's deposits in `currency` whose state is one of ACCOUNTED_STATES. */
export function accountedAmount(snapshot: WalletSnapshot, currency: string): Decimal {
  // A payout's money sits in the wallet between its steps: accounted for, never swept back (issue #11).
  let total = new Decimal(snapshot.reserved?.[currency] ?? 0);
  for (const entry of snapshot.entries) {
    if (entry.currency !== currency || !ACCOUNTED_STATES.includes(entry.state as DepositState)) continue;
    // A dead backfill sweep moved nothing, and its money is the balance itself: counting it would hide
    // that money from every later run (it lost a race to the deposits' own sweeps, or failed outright).
    if (entry.state === 'dead' && entry.depositId.startsWith('backfill-')) continue;
    total = total.plus(new Decimal(entry.amount));
  }
  return total;
}

export type CreateOutcome =
  | { kind: 'created'; depositId: string }
  | { kind: 'in-progress'; depositId: string }
  | { kind: 'changed'; why: string };

export function createBackfillLedger(redis: Redis, keys: Keys, options: { retentionMs: number }) {
  const bkeys = createBackfillKeys(keys.prefix);
  const depositKeyPrefix = keys.deposit('');

  return {
    keys: bkeys,

    async current(walletId: string, currency: string): Promise<string | null> {
      return redis.get(bkeys.current(walletId, currency));
    },

    /**
     * Creates `backfill-<walletId>-<currency>-<n>` (queued) for `amount`, atomically with a check that
     * the snapshot the amount was computed from still holds (see scripts.ts).
     */
    async create(input: {
      accountId: string;
      walletId: string;
      currency: string;
      amount: string;
      snapshot: WalletSnapshot;
      fields: Record<string, string>;
      now: number;
    }): Promise<CreateOutcome> {
      const seqKey = bkeys.seq(input.walletId, input.currency);
      const seq = (await redis.get(seqKey)) ?? '0';
      const depositId = backfillDepositId(input.walletId, input.currency, (BigInt(seq) + 1n).toString());
      const fields: Record<string, string> = {
        depositId,
        accountId: input.accountId,
        walletId: input.walletId,
        currency: input.currency,
        amount: input.amount,
        clientTransactionId: sweepTransactionId(depositId),
        upstreamStatus: 'BACKFILL',
        origin: 'backfill',
        ...input.fields,
      };
      const pairs = Object.entries(fields).flat();
      const idStates = input.snapshot.entries.flatMap((entry) => [entry.depositId, entry.state]);
      const [kind, value] = await scripts.backfillCreate<[string, string]>(redis, {
        keys: {
          byWallet: keys.depositsByWallet(input.walletId),
          seq: seqKey,
          current: bkeys.current(input.walletId, input.currency),
          deposit: keys.deposit(depositId),
          byTime: keys.depositsByTime,
        },
        args: {
          depositKeyPrefix,
          expectedSeq: seq,
          indexSize: input.snapshot.entries.length,
          now: String(input.now),
          retention: options.retentionMs,
        },
        rest: [input.snapshot.entries.length, ...idStates, pairs.length / 2, ...pairs],
      });
      if (kind === 'created') return { kind, depositId: value };
      if (kind === 'in-progress') return { kind, depositId: value };
      return { kind: 'changed', why: value };
    },
  };
}

export type BackfillLedger = ReturnType<typeof createBackfillLedger>;
