import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type { AttemptRecord } from '../queues/names.js';
import type { DepositRecord, DepositState } from './deposit-state.js';
import { microBatch } from '../micro-batch.js';
import { scripts } from '../redis-scripts.js';
import { installScripts } from '../redis-script.js';
import {
  CLAIM_STATUS_RULES,
  depositRows,
  MERCHANT_EVENT_RULES,
  notificationEvent,
  ownedWalletModes,
  unownedWalletEvent,
  DEFAULT_TRANSFER_WINDOW_MS,
  type CreditDecision,
  type SweepEvent,
  type UnknownWalletRule,
  type WalletMode,
} from '../policy/deposit-policy.js';

const MAX_ATTEMPT_HISTORY = 25;

export type AcceptInput = {
  depositId: string;
  notificationId: string;
  status: string;
  /** What a CLOSED notification of this deposit is under the sweep rules (decideCredited). */
  credit: CreditDecision;
  fields: Record<string, string>;
  now: number;
  /**
   * UNKNOWN_WALLET_DEPOSITS: what the deposit does when its wallet has no owner record (the script reads
   * it). Absent: ownership is recorded on the deposit but does not change its state.
   */
  unknownWallets?: UnknownWalletRule;
  /** INTERLACE_MODE: which owner records count (ownedWalletModes); `mor` when absent. */
  walletMode?: WalletMode;
  /**
   * The notification's signed resource, as received: the deposit's notification set deduplicates on its
   * digest, never on the unsigned envelope id. Absent (a caller without it): the notification id.
   */
  resource?: string;
  /** What the counters record of the notification (the receiver appended it to the event log). */
  event?: NotificationEvent;
  /** The deposit's sweep job hash, whose `finishedOn` the script reads along. */
  jobKey?: string;
};

/** How a verified notification is counted (the stats hash's field: event type, kind, replay). */
export type NotificationEvent = { counterField: string };

/** How a sweep job's claim ended: claimed (with the record), refused, stopped by its upstream status. */
export type ClaimOutcome =
  | { outcome: 'claimed'; state: 'sweeping'; record: DepositRecord }
  | { outcome: 'refused'; state: DepositState }
  | { outcome: 'stopped'; state: 'held' | 'failed' }
  | { outcome: 'missing'; state: 'missing' };

export type AcceptOutcome = {
  state: DepositState;
  change: 'created' | 'transitioned' | 'unchanged';
  freshNotification: boolean;
  /** `finishedOn` of a sweep job already under the deposit's job id, if it has finished. */
  jobFinishedOn?: string;
  /** Whether the wallet has an owner record (the service created it). */
  walletOwned: boolean;
};

export type DepositStore = ReturnType<typeof createDepositStore>;

export type DepositFilter = {
  state?: string;
  walletId?: string;
  /** The merchant's customer: the external_id of the wallet the deposit went to. */
  externalId?: string;
  since?: number;
  until?: number;
  limit?: number;
};

const DEFAULT_RETENTION_MS = 90 * 86_400_000;

/**
 * The deposit ledger: one hash per deposit, moved only by the atomic scripts in scripts.ts, each
 * given the rows of its event from the policy's transition table.
 */
export function createDepositStore(
  redis: Redis,
  keys: Keys,
  options: {
    retentionMs?: number;
    batchSize?: number;
    /** Write merchant events to the outbox with each state change (MERCHANT_WEBHOOK_URL is set). */
    merchantEvents?: boolean;
    /** Never call a deposit's transfer this long after its first call (SWEEP_IDEMPOTENCY_WINDOW_DAYS). */
    transferWindowMs?: number;
  } = {},
) {
  const retentionMs = options.retentionMs ?? DEFAULT_RETENTION_MS;
  const transferWindowMs = options.transferWindowMs ?? DEFAULT_TRANSFER_WINDOW_MS;
  // What every state-changing script is told about merchant events (docs/merchant-events.md).
  const emit = {
    emit: options.merchantEvents === true ? '1' : '0',
    merchantEvents: MERCHANT_EVENT_RULES,
  };
  // Before any pipeline is created from the connection: a pipeline copies the commands it has then.
  installScripts(redis, scripts);
  const own = (depositId: string) => ({
    deposit: keys.deposit(depositId),
    notes: keys.depositNotifications(depositId),
    attempts: keys.depositAttempts(depositId),
    held: keys.depositsHeld,
  });

  const acceptCall = (input: AcceptInput) => {
    const judged = notificationEvent(input.status, input.credit);
    const { event, reason } = judged;
    const walletId = input.fields.walletId ?? '';
    const unowned =
      input.unknownWallets === undefined
        ? judged
        : unownedWalletEvent(judged, input.unknownWallets, walletId);
    const txHash = input.fields.txHash;
    return {
      keys: {
        ...own(input.depositId),
        byTime: keys.depositsByTime,
        byWallet: keys.depositsByWallet(input.fields.walletId ?? ''),
        byTx: keys.depositsByTx(txHash ?? ''),
        accounts: keys.accounts,
        eventCounts: keys.eventCounts,
        job: input.jobKey ?? keys.deposit(input.depositId),
        sweptIds: keys.sweptIds(input.depositId),
        owner: keys.walletOwner(walletId),
        outbox: keys.merchantOutbox,
      },
      args: {
        now: String(input.now),
        noteId: input.notificationId,
        noteKey: notificationKey(input),
        status: input.status,
        reason,
        rows: depositRows(event),
        // Only when the rule changes the event: '' tells the script to use `rows` either way.
        unownedRows: unowned.event === event ? '' : depositRows(unowned.event),
        unownedReason: unowned.reason,
        ownerPrefix: keys.walletOwner(''),
        ownedModes: ownedWalletModes(input.walletMode ?? 'mor').join(','),
        externalIndex: keys.depositsByExternalIdPrefix,
        ...emit,
        retention: retentionMs,
        hasTx: txHash ? '1' : '0',
        counterField: input.event?.counterField ?? '',
      },
      rest: Object.entries({ ...input.fields, depositId: input.depositId }).flat(),
    };
  };

  type AcceptReply = [DepositState, AcceptOutcome['change'], number, string, string];
  const toOutcome = ([state, change, fresh, finishedOn, owned]: AcceptReply): AcceptOutcome => ({
    state,
    change,
    freshNotification: fresh === 1,
    walletOwned: owned === '1',
    ...(finishedOn ? { jobFinishedOn: finishedOn } : {}),
  });
  // Notifications that arrive in the same turn go out as one pipeline: one socket write and one read
  // for the lot, here and in Redis. Each script still runs on its own, atomically, and fails alone.
  const acceptScript = microBatch<AcceptInput, unknown>(
    async (calls) => {
      if (calls.length === 1)
        return [{ ok: true, value: await scripts.accept(redis, acceptCall(calls[0]!)) }];
      const pipeline = redis.pipeline();
      for (const input of calls) void scripts.accept(pipeline, acceptCall(input));
      const replies = (await pipeline.exec()) ?? [];
      return calls.map((_, i) => {
        const [error, reply] = replies[i] ?? [new Error('no reply from the pipeline'), undefined];
        return error ? { ok: false, error } : { ok: true, value: reply };
      });
    },
    { maxSize: options.batchSize ?? 64 },
  );

  return {
    /** Records one notification of a deposit: counters and the ledger move, atomically. */
    async accept(input: AcceptInput): Promise<AcceptOutcome> {
      return toOutcome((await acceptScript(input)) as AcceptReply);
    },

    /** Counts a notification that moves no deposit (another event type, or an invalid one). */
    async logNotification(event: NotificationEvent): Promise<void> {
      await scripts.logNotification(redis, {
        keys: { eventCounts: keys.eventCounts },
        args: { counterField: event.counterField },
      });
    },

    /** The claim, answering only the state: 'sweeping' when claimed. */
    async beginSweep(depositId: string, now = Date.now()): Promise<DepositState | 'missing'> {
      return (await this.claim(depositId, now)).state;
    },

    /**
     * A sweep job's claim (the `claim` rows and the upstream-status rule, atomically), answering the
     * claimed deposit's record in the same round trip. Never claims a deposit the swept-ids record knows.
     */
    async claim(depositId: string, now = Date.now()): Promise<ClaimOutcome> {
      const [outcome, value] = await scripts.claim<[ClaimOutcome['outcome'], string[] | string | undefined]>(
        redis,
        {
          keys: {
            ...own(depositId),
            sweptIds: keys.sweptIds(depositId),
            firstAttempts: keys.transferFirstAttempts(depositId),
            outbox: keys.merchantOutbox,
          },
          args: {
            now: String(now),
            rows: depositRows('claim'),
            statusRules: CLAIM_STATUS_RULES,
            retention: retentionMs,
            ...emit,
            windowMs: transferWindowMs,
          },
        },
      );
      if (outcome === 'missing') return { outcome, state: 'missing' };
      if (outcome === 'refused') return { outcome, state: value as DepositState };
      if (outcome === 'stopped') return { outcome, state: value as 'held' | 'failed' };
      const pairs = value as string[];
      const record: Record<string, string> = {};
      for (let index = 0; index < pairs.length; index += 2) record[pairs[index]!] = pairs[index + 1]!;
      return { outcome, state: 'sweeping', record: record as unknown as DepositRecord };
    },

    /**
     * Records the transfer that moved the deposit, and its id in the long-lived swept-ids record, in one
     * script; answers the previous state ('swept' when this was a repeat, 'missing' without a record).
     */
    async markSwept(depositId: string, fields: Record<string, string>, now = Date.now()) {
      return (await scripts.markSwept(redis, {
        keys: {
          ...own(depositId),
          sweptIds: keys.sweptIds(depositId),
          firstAttempts: keys.transferFirstAttempts(depositId),
          outbox: keys.merchantOutbox,
        },
        args: {
          now: String(now),
          rows: depositRows('transfer-confirmed'),
          depositId,
          transferId: fields.transferId ?? '',
          retention: retentionMs,
          ...emit,
        },
        rest: Object.entries(fields).flat(),
      })) as DepositState | 'missing';
    },

    /** Marks a queued or sweeping deposit dead; answers the previous state (nothing else is buried). */
    async markDead(depositId: string, reason: string, now = Date.now()) {
      return (await scripts.markDead(redis, {
        keys: { deposit: keys.deposit(depositId), outbox: keys.merchantOutbox },
        args: { now: String(now), rows: depositRows('sweep-dead'), reason, ...emit },
      })) as DepositState | 'missing';
    },

    /** A state change the worker decided (the re-check before a transfer); answers previous and new state. */
    async move(depositId: string, event: SweepEvent, reason: string, now = Date.now()) {
      const [previous, state] = await scripts.moveDeposit<[string, string]>(redis, {
        keys: { ...own(depositId), outbox: keys.merchantOutbox },
        args: { now: String(now), rows: depositRows(event), reason, retention: retentionMs, ...emit },
      });
      return { previous: previous as DepositState | 'missing', state: state as DepositState | 'missing' };
    },

    /** Whether the long-lived swept-ids record knows the deposit; answers its transfer id. */
    async sweptTransfer(depositId: string): Promise<string | undefined> {
      return (await redis.hget(keys.sweptIds(depositId), depositId)) ?? undefined;
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
     * An operator's replay: `allowed` states go back to queued, as far as the `operator-requeue` rows
     * allow (never a swept or in-flight one). Answers the previous state, 'missing', or 'refused:<state>'.
     */
    async requeue(
      depositId: string,
      operator: string,
      allowed: readonly DepositState[],
      now = Date.now(),
      /** An operator's release of this deposit by name (`sweep enqueue`), not a bulk retry: see releasedByOperator. */
      approve = false,
    ) {
      return (await scripts.requeue(redis, {
        keys: own(depositId),
        args: {
          now: String(now),
          rows: depositRows('operator-requeue'),
          operator,
          allowed: allowed.join(','),
          retention: retentionMs,
          approve: approve ? '1' : '0',
        },
      })) as string;
    },

    async findByTx(txHash: string): Promise<string[]> {
      return redis.smembers(keys.depositsByTx(txHash));
    },

    /** Deposits newest first, filtered; reads at most `limit` matching records. */
    async list(filter: DepositFilter = {}): Promise<DepositRecord[]> {
      const limit = filter.limit ?? 50;
      const index =
        filter.externalId !== undefined
          ? keys.depositsByExternalId(filter.externalId)
          : filter.walletId
            ? keys.depositsByWallet(filter.walletId)
            : keys.depositsByTime;
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
          if (filter.walletId && deposit.walletId !== filter.walletId) continue;
          found.push(deposit);
          if (found.length >= limit) break;
        }
      }
      return found;
    },
  };
}

/**
 * What a deposit's notification set keeps of one notification: a digest of the signed resource (the
 * signature is a function of the resource and the secret, so it adds nothing). Interlace's own
 * redelivery is the same resource, a replay under a forged envelope id too: both are duplicates.
 */
function notificationKey(input: Pick<AcceptInput, 'resource' | 'notificationId'>): string {
  if (input.resource === undefined) return input.notificationId;
  return `sha256:${createHash('sha256').update(input.resource, 'utf8').digest('hex')}`;
}
