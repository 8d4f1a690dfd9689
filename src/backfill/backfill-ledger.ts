import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type { DepositStore } from '../deposits/deposit-store.js';
import type { DepositState } from '../deposits/deposit-state.js';
import { Decimal } from '../sweep/decimal.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import { toMinorUnits } from '../sweep/amounts.js';
import { backfillDepositId, createBackfillKeys, isBackfillDepositId } from './keys.js';
import { APPLY_BACKFILL_CREDIT, CREATE_BACKFILL_DEPOSIT, MARK_SWEPT_WITH_CREDIT } from './scripts.js';

/** Ledger states whose money the ledger already knows is (still) in the wallet. */
export const ACCOUNTED_STATES: readonly DepositState[] = ['queued', 'sweeping', 'dead', 'dust', 'held'];

const SCRIPTS = {
  isweepBackfillCreate: { numberOfKeys: 5, lua: CREATE_BACKFILL_DEPOSIT },
  isweepBackfillMarkSwept: { numberOfKeys: 3, lua: MARK_SWEPT_WITH_CREDIT },
  isweepBackfillCredit: { numberOfKeys: 3, lua: APPLY_BACKFILL_CREDIT },
} as const;
type ScriptName = keyof typeof SCRIPTS;
type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

function script(redis: Redis, name: ScriptName): ScriptCall {
  if (!(name in redis)) redis.defineCommand(name, SCRIPTS[name]);
  return (redis as unknown as Record<ScriptName, ScriptCall>)[name].bind(redis);
}

export type LedgerEntry = { depositId: string; state: string; currency: string; amount: string };

/** The wallet's ledger deposits as read at one moment (ids, states, currencies, amounts). */
export type WalletSnapshot = { entries: LedgerEntry[] };

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
  let total = new Decimal(0);
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

  async function creditArgs(depositId: string): Promise<string[] | undefined> {
    const [walletId, currency] = await redis.hmget(keys.deposit(depositId), 'walletId', 'currency');
    if (!walletId || !currency) return undefined;
    return [
      keys.deposit(depositId),
      keys.backfillCredit(walletId, currency),
      bkeys.current(walletId, currency),
    ];
  }

  return {
    keys: bkeys,

    async current(walletId: string, currency: string): Promise<string | null> {
      return redis.get(bkeys.current(walletId, currency));
    },

    /**
     * Creates `backfill-<walletId>-<currency>-<n>` (queued) for `amount`, atomically with a check that
     * the snapshot the amount was computed from still holds (see CREATE_BACKFILL_DEPOSIT).
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
        creditUnits: toMinorUnits(input.amount, input.currency),
        ...input.fields,
      };
      const pairs = Object.entries(fields).flat();
      const idStates = input.snapshot.entries.flatMap((entry) => [entry.depositId, entry.state]);
      const [kind, value] = (await script(redis, 'isweepBackfillCreate')(
        keys.depositsByWallet(input.walletId),
        seqKey,
        bkeys.current(input.walletId, input.currency),
        keys.deposit(depositId),
        keys.depositsByTime,
        depositKeyPrefix,
        seq,
        input.snapshot.entries.length,
        String(input.now),
        options.retentionMs,
        input.snapshot.entries.length,
        ...idStates,
        pairs.length / 2,
        ...pairs,
      )) as [string, string];
      if (kind === 'created') return { kind, depositId: value };
      if (kind === 'in-progress') return { kind, depositId: value };
      return { kind: 'changed', why: value };
    },

    /** Adds a swept backfill deposit's amount to its credit if that was not done yet (catch-up). */
    async applyCredit(depositId: string, now = Date.now()): Promise<string> {
      const args = await creditArgs(depositId);
      if (!args) return 'missing';
      return (await script(redis, 'isweepBackfillCredit')(...args, String(now))) as string;
    },

    /**
     * The deposit store of a sweep worker, whose markSwept also credits a backfill deposit's amount in
     * the same atomic script: there is no moment where a backfill sweep is swept but not credited.
     */
    wrapStore(store: DepositStore): DepositStore {
      return {
        ...store,
        async markSwept(depositId: string, fields: Record<string, string>, now = Date.now()) {
          if (!isBackfillDepositId(depositId)) return store.markSwept(depositId, fields, now);
          const args = await creditArgs(depositId);
          if (!args) return store.markSwept(depositId, fields, now);
          const pairs = Object.entries(fields).flat();
          return (await script(redis, 'isweepBackfillMarkSwept')(
            ...args,
            String(now),
            pairs.length / 2,
            ...pairs,
          )) as Awaited<ReturnType<DepositStore['markSwept']>>;
        },
      };
    },
  };
}

export type BackfillLedger = ReturnType<typeof createBackfillLedger>;

/** Wraps a sweep worker's deposit store so that a swept backfill deposit is credited atomically. */
export function withBackfillCredit(
  store: DepositStore,
  redis: Redis,
  keys: Keys,
  options: { retentionMs: number },
): DepositStore {
  return createBackfillLedger(redis, keys, options).wrapStore(store);
}
