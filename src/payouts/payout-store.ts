import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type {
  PayoutRequest,
  PayoutStage,
  PayoutState,
  PayoutStep,
  TransitionDecision,
} from '../policy/payout-policy.js';
import { AUTO_APPROVED_BY } from '../policy/payout-policy.js';
import { sumAmounts, toMinorUnits } from '../sweep/amounts.js';
import { Decimal } from '../sweep/decimal.js';
import { payoutIdFor, payoutStepId } from './payout-ids.js';
import { moneyWallet, type PayoutRecord } from './payout-record.js';
import { scripts } from '../redis-scripts.js';

/** Who and what a payout is created under: its account and wallet, creator, first state, daily limit. */
type CreateContext = {
  accountId: string;
  walletId: string;
  createdBy: string;
  state: 'requested' | 'approved';
  dailyLimit: string;
  now: number;
};
export type PayoutStore = ReturnType<typeof createPayoutStore>;

export type CreateOutcome =
  | { outcome: 'created' | 'exists'; payoutId: string }
  | { outcome: 'conflict'; payoutId: string }
  | { outcome: 'daily-limit'; usedUsd: string };

/** The fields each step stores before its call: the idempotency value, the first-call time, the body. */
export const STEP_FIELDS: Record<
  PayoutStep,
  { id: keyof PayoutRecord; calledAt: keyof PayoutRecord; request: keyof PayoutRecord }
> = {
  fund: { id: 'fundingId', calledAt: 'fundingCalledAt', request: 'fundRequest' },
  convert: { id: 'tradeReferenceId', calledAt: 'tradeCalledAt', request: 'tradeRequest' },
  send: { id: 'withdrawKey', calledAt: 'withdrawCalledAt', request: 'withdrawRequest' },
  refund: { id: 'refundId', calledAt: 'refundCalledAt', request: 'refundRequest' },
};

/** What BEGIN_STEP answered: the step may be called (with its stored id and body), or why not. */
export type BegunStep =
  | {
      ok: true;
      id: string;
      calledAt: number;
      /** The step in doubt before this call (a call of the same step: an earlier attempt in doubt). */
      priorDoubt: string;
      /** The stored request body (JSON), '' for a payout begun before bodies were stored. */
      request: string;
    }
  | { ok: false; found: PayoutState | 'missing' | 'window-closed'; calledAt?: number };

type WalletFields = Pick<PayoutRecord, 'walletId' | 'currency' | 'fundsWalletId' | 'tradeWalletId'>;

export type PayoutFilter = { state?: string; limit?: number };

/** The payout ledger: one hash per payout, moved only by the scripts in payout-scripts.ts. */
export function createPayoutStore(
  redis: Redis,
  keys: Keys,
  options: { eventLogMaxLen?: number; dailyWindowMs?: number } = {},
) {
  const maxLen = options.eventLogMaxLen ?? 100_000;
  const windowMs = options.dailyWindowMs ?? 86_400_000;
  // The two hashes a payout's reservation can be in: USD before the trade, its stablecoin after, in
  // the wallet the money is actually in (never simply PAYOUT_WALLET_ID).
  const reservedKeys = (record: WalletFields) => ({
    reservedUsd: keys.reserved(moneyWallet(record), 'USD'),
    reservedCoin: keys.reserved(moneyWallet(record), record.currency),
  });
  const changeKeys = (payoutId: string) => ({
    payout: keys.payout(payoutId),
    history: keys.payoutHistory(payoutId),
    events: keys.payoutEvents,
    states: keys.payoutStates,
  });

  /** The create script for one payout id (see create). */
  async function createAs(
    payoutId: string,
    request: PayoutRequest,
    context: CreateContext,
  ): Promise<CreateOutcome> {
    const fingerprint = createHash('sha256')
      .update(JSON.stringify([request.amount, request.currency, request.chain, request.address]))
      .digest('hex')
      .slice(0, 32);
    const [outcome, value] = await scripts.payoutCreate<[string, string]>(redis, {
      keys: {
        ...changeKeys(payoutId),
        byExternal: keys.payoutByExternalId(request.externalId),
        byTime: keys.payoutsByTime,
        window: keys.payoutDailyWindow,
        windowAmounts: keys.payoutDailyAmounts,
      },
      args: {
        now: context.now,
        payoutId,
        fingerprint,
        cents: toMinorUnits(request.amount, 'USD'),
        limitCents: toMinorUnits(context.dailyLimit, 'USD'),
        windowMs,
        state: context.state,
        maxLen,
      },
      rest: Object.entries({
        payoutId,
        externalId: request.externalId,
        amount: request.amount,
        currency: request.currency,
        chain: request.chain,
        address: request.address,
        accountId: context.accountId,
        walletId: context.walletId,
        createdBy: context.createdBy,
        ...(context.state === 'approved'
          ? { approvedBy: AUTO_APPROVED_BY, approvedAt: String(context.now) }
          : {}),
      }).flat(),
    });
    if (outcome === 'daily-limit') return { outcome, usedUsd: new Decimal(value).dividedBy(100).toFixed(2) };
    return { outcome: outcome as 'created' | 'exists' | 'conflict', payoutId: value };
  }

  return {
    /**
     * Creates the payout of a checked request (idempotent on its external id) within the daily limit,
     * in `requested` (approval on) or `approved`.
     */
    async create(
      request: PayoutRequest,
      context: CreateContext & {
        /** PAYOUT_ID_NAMESPACE (default: the payout account id); '' derives the id as before. */
        idNamespace?: string;
      },
    ): Promise<CreateOutcome> {
      // A payout that exists keeps the id it was created with, whatever namespace derives ids now (the
      // script compares the request with THAT payout's fingerprint).
      const derived = payoutIdFor(request.externalId, context.idNamespace ?? '');
      const first = await createAs(
        (await redis.get(keys.payoutByExternalId(request.externalId))) ?? derived,
        request,
        context,
      );
      // Created meanwhile by a process deriving another id: compare with that payout instead.
      if (first.outcome === 'conflict' && first.payoutId !== derived)
        return createAs(first.payoutId, request, context);
      return first;
    },

    /**
     * USD used in the rolling daily window ending `now`; with `through`, only the payouts created up to
     * and including that time (the window as a payout created then saw it, itself included).
     */
    async dailyUsed(now: number, options: { through?: number } = {}): Promise<string> {
      const cents = await scripts.payoutDailyUsed<string>(redis, {
        keys: { window: keys.payoutDailyWindow, windowAmounts: keys.payoutDailyAmounts },
        args: { now, windowMs, through: options.through === undefined ? '+inf' : String(options.through) },
      });
      return new Decimal(cents).dividedBy(100).toFixed(2);
    },

    /** Remembers that an Interlace transfer (step 1, refund) is a payout's (the sweep never takes it). */
    async rememberTransfer(transferId: string, payoutId: string): Promise<void> {
      await redis.hset(keys.payoutTransferIds, transferId, payoutId);
    },

    async get(payoutId: string): Promise<PayoutRecord | undefined> {
      const record = await redis.hgetall(keys.payout(payoutId));
      return record.state === undefined ? undefined : (record as unknown as PayoutRecord);
    },

    async idForExternal(externalId: string): Promise<string | undefined> {
      return (await redis.get(keys.payoutByExternalId(externalId))) ?? undefined;
    },

    async idForWithdrawKey(idempotencyKey: string): Promise<string | undefined> {
      return (await redis.get(keys.payoutByWithdrawKey(idempotencyKey))) ?? undefined;
    },

    /**
     * Carries out a decided transition if the payout is still where the decision was made from.
     * Answers true when it moved; false (with the state found) when something else moved it first.
     */
    async transition(
      record: Pick<PayoutRecord, 'payoutId'> & WalletFields,
      decision: Extract<TransitionDecision, { ok: true }>,
      change: {
        fields?: Record<string, string>;
        reservation?: { currency: string; amount: string } | 'release' | null;
        releaseDaily?: boolean;
        /** Stored facts that must still be absent or empty (the guard's, re-checked atomically). */
        absentFields?: readonly string[];
        detail?: string;
        now?: number;
      } = {},
    ): Promise<{ moved: true } | { moved: false; found: PayoutState | 'missing'; guardField?: string }> {
      const reservation =
        change.reservation === undefined || change.reservation === null
          ? ''
          : change.reservation === 'release'
            ? 'release'
            : `${change.reservation.currency}:${change.reservation.amount}`;
      // The money may have moved wallets with this event (a trade whose wallet differs): the
      // reservation is set where it is now and dropped where it was.
      const before = reservedKeys(record);
      const after = reservedKeys({ ...record, ...(change.fields ?? {}) });
      const reply = await scripts.payoutTransition<string>(redis, {
        keys: {
          ...changeKeys(record.payoutId),
          ...after,
          releaseUsd: before.reservedUsd,
          releaseCoin: before.reservedCoin,
          wallets: keys.payoutWallets,
          window: keys.payoutDailyWindow,
          windowAmounts: keys.payoutDailyAmounts,
        },
        args: {
          absentFields: (change.absentFields ?? []).join(','),
          walletId: moneyWallet({ ...record, ...(change.fields ?? {}) }),
          now: change.now ?? Date.now(),
          payoutId: record.payoutId,
          expected: decision.from,
          to: decision.to,
          event: decision.event,
          stage: decision.stage,
          reservation,
          releaseDaily: change.releaseDaily === true ? '1' : '0',
          detail: change.detail ?? '',
          maxLen,
        },
        rest: Object.entries(change.fields ?? {}).flat(),
      });
      if (reply === 'missing') return { moved: false, found: 'missing' };
      if (reply.startsWith('guard:'))
        return { moved: false, found: decision.from, guardField: reply.slice('guard:'.length) };
      if (reply.startsWith('refused:'))
        return { moved: false, found: reply.slice('refused:'.length) as PayoutState };
      return { moved: true };
    },

    /**
     * Stores a step's idempotency value (derived from the payout id and the step) and first-call time
     * before the call; answers them, or the state that forbids the step.
     */
    async beginStep(
      record: Pick<PayoutRecord, 'payoutId'> & WalletFields,
      expected: PayoutState,
      step: PayoutStep,
      options: {
        reservation?: { currency: string; amount: string };
        /** The step's planned fields and request body, stored with its id the first time only. */
        plan?: Record<string, string>;
        /** Interlace's idempotency window: a step first called longer ago is never called again. */
        windowMs?: number;
        now?: number;
      } = {},
    ): Promise<BegunStep> {
      const id = payoutStepId(record.payoutId, step);
      const fields = STEP_FIELDS[step];
      const [state, calledAt, stored, priorDoubt, request] = await scripts.payoutBeginStep<
        [PayoutState | 'missing' | 'window-closed', string, string, string, string]
      >(redis, {
        keys: {
          payout: keys.payout(record.payoutId),
          index: step === 'send' ? keys.payoutByWithdrawKey(id) : keys.payout(record.payoutId),
          ...reservedKeys({ ...record, ...(options.plan ?? {}) }),
          wallets: keys.payoutWallets,
        },
        args: {
          walletId: moneyWallet({ ...record, ...(options.plan ?? {}) }),
          now: options.now ?? Date.now(),
          payoutId: record.payoutId,
          expected,
          idField: fields.id,
          idValue: id,
          calledAtField: fields.calledAt,
          requestField: fields.request,
          step,
          windowMs: options.windowMs ?? 85 * 86_400_000,
          reservation: options.reservation
            ? `${options.reservation.currency}:${options.reservation.amount}`
            : '',
        },
        rest: Object.entries(options.plan ?? {}).flat(),
      });
      if (state === 'window-closed') return { ok: false, found: state, calledAt: Number(calledAt) };
      if (calledAt === '') return { ok: false, found: state };
      // The value (and body) stored by the first call is what is resent, whatever this process built.
      return { ok: true, id: stored, calledAt: Number(calledAt), priorDoubt, request };
    },

    /** Sets fields while the payout is still in `expected`; answers whether it was. */
    async note(payoutId: string, expected: PayoutState, fields: Record<string, string>): Promise<boolean> {
      const moved = await scripts.payoutNote<number>(redis, {
        keys: { payout: keys.payout(payoutId) },
        args: { expected },
        rest: Object.entries(fields).flat(),
      });
      return moved === 1;
    },

    /** The payout's state changes, oldest first. */
    async history(
      payoutId: string,
    ): Promise<
      { at: string; from: string; to: string; event: string; stage: PayoutStage; detail: string }[]
    > {
      const items = await redis.lrange(keys.payoutHistory(payoutId), 0, -1);
      return items.map((item) => JSON.parse(item) as never);
    },

    /** Payouts newest first, optionally in one state. */
    async list(filter: PayoutFilter = {}): Promise<PayoutRecord[]> {
      const limit = filter.limit ?? 50;
      const found: PayoutRecord[] = [];
      for (let offset = 0; found.length < limit; offset += 200) {
        const ids = await redis.zrevrange(keys.payoutsByTime, offset, offset + 199);
        if (ids.length === 0) break;
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hgetall(keys.payout(id));
        for (const [error, record] of (await pipeline.exec()) ?? []) {
          const payout = record as PayoutRecord;
          if (error || payout?.state === undefined) continue;
          if (filter.state && payout.state !== filter.state) continue;
          found.push(payout);
          if (found.length >= limit) break;
        }
      }
      return found;
    },

    /** Payouts per state. */
    async stateCounts(): Promise<Record<string, number>> {
      const counts = await redis.hgetall(keys.payoutStates);
      return Object.fromEntries(Object.entries(counts).map(([state, count]) => [state, Number(count)]));
    },

    /**
     * What payouts keep, per currency, over every wallet that ever held a reservation (the wallet the
     * money lands in need not be PAYOUT_WALLET_ID): the money-in-flight metric.
     */
    async reservedInFlight(currencies: readonly string[]): Promise<Record<string, string>> {
      const amounts: Record<string, string[]> = {};
      for (const walletId of await redis.smembers(keys.payoutWallets)) {
        for (const [currency, total] of Object.entries(await this.reserved(walletId, currencies))) {
          (amounts[currency] ??= []).push(total);
        }
      }
      return Object.fromEntries(
        Object.entries(amounts).map(([currency, list]) => [currency, sumAmounts(list)]),
      );
    },

    /** What payouts keep in a wallet, per currency (decimal strings): never an operator's reconcile sweep's to move. */
    async reserved(walletId: string, currencies: readonly string[]): Promise<Record<string, string>> {
      const totals: Record<string, string> = {};
      for (const currency of currencies) {
        const amounts = await redis.hvals(keys.reserved(walletId, currency));
        if (amounts.length > 0) totals[currency] = sumAmounts(amounts);
      }
      return totals;
    },
  };
}
