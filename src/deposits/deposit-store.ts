import type { Redis, ChainableCommander } from 'ioredis';
import type { Keys } from '../keys.js';
import type { AttemptRecord } from '../queues/names.js';
import type { ClosedDecision, DepositRecord, DepositState } from './deposit-state.js';
import { toMinorUnits } from '../sweep/amounts.js';
import { microBatch } from '../micro-batch.js';
import {
  CLAIM_BACKFILL_CREDIT,
  ACCEPT_NOTIFICATION,
  BEGIN_SWEEP,
  MARK_DEAD,
  MARK_SWEPT,
  REQUEUE,
  LOG_NOTIFICATION,
} from './scripts.js';

const SCRIPTS = {
  isweepAccept: { numberOfKeys: 11, lua: ACCEPT_NOTIFICATION },
  isweepLogNotification: { numberOfKeys: 2, lua: LOG_NOTIFICATION },
  isweepRequeue: { numberOfKeys: 1, lua: REQUEUE },
  isweepClaimBackfill: { numberOfKeys: 2, lua: CLAIM_BACKFILL_CREDIT },
  isweepBeginSweep: { numberOfKeys: 1, lua: BEGIN_SWEEP },
  isweepMarkSwept: { numberOfKeys: 1, lua: MARK_SWEPT },
  isweepMarkDead: { numberOfKeys: 1, lua: MARK_DEAD },
} as const;

type ScriptName = keyof typeof SCRIPTS;
type ScriptCall = (...args: (string | number)[]) => Promise<unknown>;

const MAX_ATTEMPT_HISTORY = 25;

export type AcceptInput = {
  depositId: string;
  notificationId: string;
  status: string;
  decision: ClosedDecision;
  fields: Record<string, string>;
  now: number;
  /** What the event log and counters record of the notification (the receiver's part of the write). */
  event?: NotificationEvent;
  /** The deposit's sweep job hash, whose `finishedOn` the script reads along. */
  jobKey?: string;
};

/** A verified notification as the event log keeps it; `body: null` counts it without logging it again. */
export type NotificationEvent = {
  eventType: string;
  body: string | null;
  counterField: string;
  maxLen: number;
};

export type AcceptOutcome = {
  state: DepositState;
  change: 'created' | 'transitioned' | 'unchanged';
  freshNotification: boolean;
  /** `finishedOn` of a sweep job already under the deposit's job id, if it has finished. */
  jobFinishedOn?: string;
};

export type DepositStore = ReturnType<typeof createDepositStore>;

export type DepositFilter = {
  state?: string;
  walletId?: string;
  since?: number;
  until?: number;
  limit?: number;
};

const DEFAULT_RETENTION_MS = 90 * 86_400_000;

/** The deposit ledger: one hash per deposit, moved only by the atomic scripts in scripts.ts. */
export function createDepositStore(
  redis: Redis,
  keys: Keys,
  options: { retentionMs?: number; batchSize?: number } = {},
) {
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  for (const [name, definition] of Object.entries(SCRIPTS)) {
    if (!(name in redis)) redis.defineCommand(name, definition);
  }
  const call = (target: Redis | ChainableCommander, name: ScriptName) =>
    (target as unknown as Record<ScriptName, ScriptCall>)[name].bind(target);

  const acceptArgs = (input: AcceptInput): (string | number)[] => {
    const pairs = Object.entries(input.fields).flat();
    const decision = input.decision.kind;
    const reason = input.decision.kind === 'sweep' ? '' : input.decision.reason;
    const txHash = input.fields.txHash;
    return [
      keys.deposit(input.depositId),
      keys.depositNotifications(input.depositId),
      keys.depositAttempts(input.depositId),
      keys.depositsByTime,
      keys.depositsByWallet(input.fields.walletId ?? ''),
      keys.depositsByTx(txHash ?? ''),
      keys.backfillCredit(input.fields.walletId ?? '', input.fields.currency ?? ''),
      keys.accounts,
      keys.events,
      keys.eventCounts,
      input.jobKey ?? keys.deposit(input.depositId),
      String(input.now),
      input.notificationId,
      input.status,
      decision,
      reason,
      retentionMs,
      txHash ? '1' : '0',
      input.decision.kind === 'sweep' && input.fields.amount && input.fields.currency
        ? toMinorUnits(input.fields.amount, input.fields.currency)
        : '0',
      input.event?.body != null ? '1' : '0',
      input.event?.maxLen ?? 0,
      input.event?.eventType ?? '',
      input.event?.body ?? '',
      input.event?.counterField ?? '',
      pairs.length / 2,
      ...pairs,
    ];
  };

  type AcceptReply = [DepositState, AcceptOutcome['change'], number, string];
  const toOutcome = ([state, change, fresh, finishedOn]: AcceptReply): AcceptOutcome => ({
    state,
    change,
    freshNotification: fresh === 1,
    ...(finishedOn ? { jobFinishedOn: finishedOn } : {}),
  });
  // Calls of one script made in the same turn (notifications that arrive together) go out as one
  // pipeline: one socket write and one read for the lot, here and in Redis. Each script
  // still runs on its own, atomically, and fails alone.
  const batched = (name: ScriptName) =>
    microBatch<(string | number)[], unknown>(
      async (calls) => {
        if (calls.length === 1) return [{ ok: true, value: await call(redis, name)(...calls[0]!) }];
        const pipeline = redis.pipeline();
        for (const args of calls) void call(pipeline, name)(...args);
        const replies = (await pipeline.exec()) ?? [];
        return calls.map((_, i) => {
          const [error, reply] = replies[i] ?? [new Error('no reply from the pipeline'), undefined];
          return error ? { ok: false, error } : { ok: true, value: reply };
        });
      },
      { maxSize: options.batchSize ?? 64 },
    );
  const acceptScript = batched('isweepAccept');

  return {
    /** Records one notification of a deposit: event log, counters and the ledger move, atomically. */
    async accept(input: AcceptInput): Promise<AcceptOutcome> {
      return toOutcome((await acceptScript(acceptArgs(input))) as AcceptReply);
    },

    /** Logs and counts a notification that moves no deposit (another event type, or an invalid one). */
    async logNotification(notificationId: string, event: NotificationEvent, now = Date.now()): Promise<void> {
      await call(redis, 'isweepLogNotification')(
        keys.events,
        keys.eventCounts,
        event.maxLen,
        notificationId,
        event.eventType,
        String(now),
        event.body ?? '',
        event.counterField,
      );
    },

    /** queued|sweeping → sweeping; otherwise answers the state that forbids sweeping (or 'missing'). */
    async beginSweep(depositId: string, now = Date.now()): Promise<DepositState | 'missing'> {
      return (await this.claim(depositId, now)).state;
    },

    /** Like beginSweep, and also answers the claimed deposit's record, in the same round trip. */
    async claim(
      depositId: string,
      now = Date.now(),
    ): Promise<{ state: DepositState | 'missing'; record?: DepositRecord }> {
      const [state, pairs] = (await call(redis, 'isweepBeginSweep')(
        keys.deposit(depositId),
        String(now),
      )) as [DepositState | 'missing', string[] | undefined];
      if (!pairs) return { state };
      const record: Record<string, string> = {};
      for (let index = 0; index < pairs.length; index += 2) record[pairs[index]!] = pairs[index + 1]!;
      return { state, record: record as unknown as DepositRecord };
    },

    /** Records the transfer; answers the previous state ('swept' when this was a repeat). */
    async markSwept(depositId: string, fields: Record<string, string>, now = Date.now()) {
      const pairs = Object.entries(fields).flat();
      return (await call(redis, 'isweepMarkSwept')(
        keys.deposit(depositId),
        String(now),
        pairs.length / 2,
        ...pairs,
      )) as DepositState | 'missing';
    },

    /** Marks the deposit dead unless it is already swept; answers the previous state. */
    async markDead(depositId: string, reason: string, now = Date.now()) {
      return (await call(redis, 'isweepMarkDead')(keys.deposit(depositId), String(now), reason)) as
        DepositState | 'missing';
    },

    async get(depositId: string): Promise<DepositRecord | undefined> {
      const record = await redis.hgetall(keys.deposit(depositId));
      return record.state === undefined ? undefined : (record as unknown as DepositRecord);
    },

    async recordAttempt(depositId: string, attempt: AttemptRecord): Promise<void> {
      const key = keys.depositAttempts(depositId);
      await redis
        .multi()
        .rpush(key, JSON.stringify(attempt))
        .ltrim(key, -MAX_ATTEMPT_HISTORY, -1)
        .pexpire(key, retentionMs)
        .exec();
    },

    async attempts(depositId: string): Promise<AttemptRecord[]> {
      const items = await redis.lrange(keys.depositAttempts(depositId), 0, -1);
      return items.map((item) => JSON.parse(item) as AttemptRecord);
    },

    async notificationIds(depositId: string): Promise<string[]> {
      return redis.smembers(keys.depositNotifications(depositId));
    },

    /**
     * An operator's replay: `allowed` states go back to queued. Answers the previous state, 'missing',
     * or 'refused:<state>'; a swept deposit is always refused.
     */
    async requeue(depositId: string, operator: string, allowed: readonly DepositState[], now = Date.now()) {
      const permitted = allowed.filter(
        (state) => state !== 'swept' && state !== 'sweeping' && state !== 'queued',
      );
      return (await call(redis, 'isweepRequeue')(
        keys.deposit(depositId),
        String(now),
        operator,
        permitted.join(','),
      )) as string;
    },

    /** Settles a queued/sweeping deposit against its wallet's backfill credit, if that covers it. */
    async claimBackfillCredit(
      deposit: Pick<DepositRecord, 'depositId' | 'walletId' | 'currency' | 'amount'>,
      now = Date.now(),
    ) {
      const reply = await call(redis, 'isweepClaimBackfill')(
        keys.deposit(deposit.depositId),
        keys.backfillCredit(deposit.walletId, deposit.currency),
        String(now),
        toMinorUnits(deposit.amount, deposit.currency),
      );
      return reply === 'claimed';
    },

    async findByTx(txHash: string): Promise<string[]> {
      return redis.smembers(keys.depositsByTx(txHash));
    },

    /** Deposits newest first, filtered; reads at most `limit` matching records. */
    async list(filter: DepositFilter = {}): Promise<DepositRecord[]> {
      const limit = filter.limit ?? 50;
      const index = filter.walletId ? keys.depositsByWallet(filter.walletId) : keys.depositsByTime;
      const max = filter.until ?? '+inf';
      const min = filter.since ?? '-inf';
      const found: DepositRecord[] = [];
      let offset = 0;
      const page = 200;
      while (found.length < limit) {
        const ids = await redis.zrevrangebyscore(index, max, min, 'LIMIT', offset, page);
        if (ids.length === 0) break;
        offset += ids.length;
        const pipeline = redis.pipeline();
        for (const id of ids) pipeline.hgetall(keys.deposit(id));
        const replies = (await pipeline.exec()) ?? [];
        for (const [error, record] of replies) {
          const deposit = record as DepositRecord;
          if (error || deposit?.state === undefined) continue;
          if (filter.state && deposit.state !== filter.state) continue;
          found.push(deposit);
          if (found.length >= limit) break;
        }
      }
      return found;
    },
  };
}
