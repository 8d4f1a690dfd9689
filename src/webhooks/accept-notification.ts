import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Config } from '../config.js';
import type { Keys } from '../keys.js';
import type { DepositStore, AcceptOutcome } from '../deposits/deposit-store.js';
import type { Queues } from '../queues/create-queues.js';
import { enqueueSweep } from '../queues/create-queues.js';
import { sweepJobId } from '../queues/names.js';
import { writeDeadLetter } from '../queues/dead-letter.js';
import { parseDepositNotification, type DepositEvent } from '../interlace/deposit-event.js';
import type { WebhookEnvelope } from '../interlace/types.js';
import { decideClosedDeposit } from '../sweep/sweep-decision.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import type { Metrics } from '../metrics/metrics.js';
import { sendAlert, type Alerts } from '../alerts/alerts.js';

export type ReceiverDeps = {
  config: Config;
  logger: Logger;
  redis: Redis;
  keys: Keys;
  deposits: DepositStore;
  queues: Queues;
  /** The process's metrics; absent in callers that do not count (e.g. an operator replay). */
  metrics?: Metrics;
  /** The alert queue; absent without ALERT_WEBHOOK_URL. */
  alerts?: Alerts;
};

export type AcceptResult =
  | {
      outcome: 'deposit';
      depositId: string;
      state: AcceptOutcome['state'];
      change: AcceptOutcome['change'];
      /** False when this notification id was already recorded for the deposit (a redelivery). */
      freshNotification?: boolean;
    }
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'dead-lettered'; reason: string };

/**
 * Stores one verified notification and, for a credited deposit, its sweep job. Resolves only once
 * everything is in Redis; any Redis failure rejects, so the caller answers 5xx and Interlace redelivers.
 */
export async function acceptNotification(
  deps: ReceiverDeps,
  envelope: WebhookEnvelope,
  rawBody: string,
  options: { source?: 'webhook' | 'replay' } = {},
): Promise<AcceptResult> {
  const parsed = parseDepositNotification(envelope, deps.config.interlace.depositEventTypes);
  const now = Date.now();
  const replay = options.source === 'replay';
  const pipeline = deps.redis.multi();
  // A replay feeds a notification that is already in the event log: logging it again would duplicate it.
  if (!replay)
    pipeline.xadd(
      deps.keys.events,
      'MAXLEN',
      '~',
      deps.config.eventLogMaxLen,
      '*',
      'id',
      envelope.id,
      'eventType',
      envelope.eventType,
      'receivedAt',
      String(now),
      'body',
      rawBody,
    );
  pipeline.hincrby(
    deps.keys.eventCounts,
    `${envelope.eventType}|${parsed.kind}${replay ? '|replay' : ''}`,
    1,
  );
  if (parsed.kind === 'deposit') {
    // Read along, at no extra round trip: a finished job under this deposit's job id (see below).
    pipeline.hget(deps.queues.sweep.toKey(sweepJobId(parsed.deposit.depositId)), 'finishedOn');
    deps.deposits.acceptOn(pipeline, acceptInput(deps.config, parsed.deposit, now));
  }
  const replies = await pipeline.exec();
  if (replies === null) throw new Error('Redis transaction was discarded');
  for (const [error] of replies) if (error) throw error;

  switch (parsed.kind) {
    case 'ignored':
      return { outcome: 'ignored', reason: parsed.reason };
    case 'invalid':
      await writeDeadLetter(deps.queues.dead, {
        kind: 'invalid-notification',
        ...(parsed.depositId ? { depositId: parsed.depositId } : {}),
        reason: `invalid deposit notification: ${parsed.reason}`,
        attempts: [],
        notification: { id: envelope.id, eventType: envelope.eventType, body: rawBody },
        deadAt: new Date(now).toISOString(),
      });
      return { outcome: 'dead-lettered', reason: parsed.reason };
    case 'deposit': {
      const accepted = deps.deposits.parseAccept(replies[replies.length - 1]?.[1]);
      // Also when the record already said queued: the first enqueue may have failed after the record was
      // written (503, then Interlace redelivers). The deterministic job id makes this add a no-op otherwise.
      // A record that has just become queued while a finished job still holds its job id (the record was
      // lost or deleted, the job kept) would make the add a no-op and leave the deposit queued forever.
      const staleJob = accepted.change !== 'unchanged' && replies[replies.length - 2]?.[1] != null;
      if (accepted.state === 'queued' && staleJob)
        await deps.queues.sweep.remove(sweepJobId(parsed.deposit.depositId));
      if (accepted.state === 'queued') await enqueueSweep(deps.queues.sweep, parsed.deposit.depositId);
      // Fire and forget: sendAlert never throws, and the answer to Interlace must not wait for it.
      if (accepted.state === 'held' && accepted.change !== 'unchanged')
        void sendAlert(deps, {
          kind: 'held',
          depositId: parsed.deposit.depositId,
          amount: parsed.deposit.amount,
          currency: parsed.deposit.currency,
          accountId: parsed.deposit.accountId,
        });
      return {
        outcome: 'deposit',
        depositId: parsed.deposit.depositId,
        state: accepted.state,
        change: accepted.change,
        freshNotification: accepted.freshNotification,
      };
    }
  }
}

function acceptInput(config: Config, deposit: DepositEvent, now: number) {
  const fields: Record<string, string> = {
    depositId: deposit.depositId,
    accountId: deposit.accountId,
    walletId: deposit.walletId,
    currency: deposit.currency,
    amount: deposit.amount,
    clientTransactionId: sweepTransactionId(deposit.depositId),
    eventType: deposit.eventType,
  };
  for (const key of ['chain', 'txHash', 'address', 'createTime', 'updateTime'] as const) {
    const value = deposit[key];
    if (value !== undefined) fields[key] = value;
  }
  return {
    depositId: deposit.depositId,
    notificationId: deposit.notificationId,
    status: deposit.status,
    decision: decideClosedDeposit(deposit, config.sweep),
    fields,
    now,
  };
}
