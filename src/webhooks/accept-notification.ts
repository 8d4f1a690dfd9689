import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import type { Config } from '../config.js';
import type { Keys } from '../keys.js';
import type { DepositStore, AcceptOutcome } from '../deposits/deposit-store.js';
import type { Queues } from '../queues/create-queues.js';
import { sweepJobId } from '../queues/names.js';
import { writeDeadLetter } from '../queues/dead-letter.js';
import { parseDepositNotification, type DepositEvent } from '../interlace/deposit-event.js';
import type { WebhookEnvelope } from '../interlace/types.js';
import {
  afterAccept,
  decideCredited,
  notificationEvent,
  unownedWalletEvent,
} from '../policy/deposit-policy.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import type { Metrics } from '../metrics/metrics.js';
import { sendAlert, type Alerts } from '../alerts/alerts.js';
import { capDeadLetterBody } from './storage-caps.js';
import type { PayoutStore } from '../payouts/payout-store.js';
import { acceptPayoutNotification, payoutTransferResource } from '../payouts/accept-payout-notification.js';

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
  /** The payout ledger: blockchain transfer notifications move payouts. */
  payouts?: PayoutStore;
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
  | { outcome: 'payout'; payoutId: string; state: string; change: 'transitioned' | 'unchanged' }
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
  /** ingest: the consumer, reading the event log; replay: an operator's, counted apart. */
  options: { source?: 'ingest' | 'replay' } = {},
): Promise<AcceptResult> {
  const now = Date.now();
  const replay = options.source === 'replay';
  // A payout's blockchain transfer comes on the same endpoint, told apart by its resource's shape.
  const transfer = deps.config.payout.eventTypes.includes(envelope.eventType)
    ? payoutTransferResource(envelope.resource)
    : undefined;
  if (transfer !== undefined) {
    const result = deps.payouts
      ? await acceptPayoutNotification({ ...deps, payouts: deps.payouts }, transfer)
      : ({ outcome: 'ignored', reason: 'payouts-off' } as const);
    await deps.deposits.logNotification({
      counterField: `${envelope.eventType}|payout${replay ? '|replay' : ''}`,
    });
    return result;
  }
  const parsed = parseDepositNotification(envelope, deps.config.interlace.depositEventTypes);
  // The notification is in the event log already (the receiver appended it): only its count is written.
  const event = { counterField: `${envelope.eventType}|${parsed.kind}${replay ? '|replay' : ''}` };
  // One script call stores everything for a deposit (counters, ledger), atomically; the store
  // pipelines the calls of notifications that arrive together (a pipeline costs one copy of every script
  // defined on the connection, which only a batch pays back).
  const accepted =
    parsed.kind === 'deposit'
      ? await deps.deposits.accept({
          ...acceptInput(deps.config, parsed.deposit, now),
          resource: envelope.resource,
          event,
          jobKey: deps.queues.sweep.toKey(sweepJobId(parsed.deposit.depositId)),
        })
      : await deps.deposits.logNotification(event);

  switch (parsed.kind) {
    case 'ignored':
      return { outcome: 'ignored', reason: parsed.reason };
    case 'invalid':
      await writeDeadLetter(deps.queues.dead, {
        kind: 'invalid-notification',
        ...(parsed.depositId ? { depositId: parsed.depositId } : {}),
        reason: `invalid deposit notification: ${parsed.reason}`,
        attempts: [],
        notification: {
          id: envelope.id,
          eventType: envelope.eventType,
          body: await capDeadLetterBody(deps, rawBody, deps.config.deadLetterMaxBodyBytes, {
            id: envelope.id,
            eventType: envelope.eventType,
          }),
        },
        deadAt: new Date(now).toISOString(),
      });
      return { outcome: 'dead-lettered', reason: parsed.reason };
    case 'deposit': {
      if (!accepted) throw new Error('the ledger did not answer');
      // Also when the record already said queued: the first enqueue may have failed after the record was
      // written (503, then Interlace redelivers). The deterministic job id makes this add a no-op otherwise.
      // A queued record while a finished job still holds its job id (the record was lost or deleted, the
      // job kept) would make the add a no-op and leave the deposit queued forever: the finished job goes
      // first. Also when the script says 'unchanged': this may be the retry of an entry whose first try
      // wrote the record and then failed before the removal (attack test ingest5-stale-job-retry). The
      // script answers jobFinishedOn only for a queued record, and the claim decides what a job may move.
      const then = afterAccept(accepted);
      const staleJob = accepted.jobFinishedOn !== undefined;
      if (then.enqueue && staleJob) await deps.queues.sweep.remove(sweepJobId(parsed.deposit.depositId));
      if (then.enqueue) await deps.queues.enqueueSweep(parsed.deposit.depositId);
      // Fire and forget: sendAlert never throws, and the answer to Interlace must not wait for it.
      if (then.alert !== undefined)
        void sendAlert(deps, {
          kind: then.alert,
          depositId: parsed.deposit.depositId,
          amount: parsed.deposit.amount,
          currency: parsed.deposit.currency,
          accountId: parsed.deposit.accountId,
          reason: alertReason(deps.config, parsed.deposit, accepted.walletOwned),
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

/** Why the deposit was held or failed, as the policy judged it (the wallet's ownership included). */
function alertReason(config: Config, deposit: DepositEvent, walletOwned: boolean): string {
  const judged = notificationEvent(deposit.status, decideCredited(deposit, config.sweep));
  return walletOwned
    ? judged.reason
    : unownedWalletEvent(judged, config.unknownWalletDeposits, deposit.walletId).reason;
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
    credit: decideCredited(deposit, config.sweep),
    unknownWallets: config.unknownWalletDeposits,
    walletMode: config.merchantApi.mode,
    fields,
    now,
  };
}
