import { Queue, type ConnectionOptions } from 'bullmq';
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';

/** BullMQ queue (under QUEUE_PREFIX) the alert messages wait in until the worker delivers them. */
export const ALERT_QUEUE = 'alerts';
/** Delivery attempts per alert (exponential backoff from SWEEP_BACKOFF_MS between them). */
export const ALERT_ATTEMPTS = 8;

/** Something an operator must look at. Never carries secrets. */
export type Alert =
  | {
      kind: 'dead-lettered';
      depositId: string;
      reason: string;
      amount?: string;
      currency?: string;
      accountId?: string;
    }
  | {
      /** held: never swept automatically (hold, unknown status, too large); failed: upstream FAIL. */
      kind: 'held' | 'failed';
      depositId: string;
      amount: string;
      currency: string;
      accountId?: string;
      /** Why, in the ledger's words (default: a compliance hold). */
      reason?: string;
    }
  | {
      /** A payout failed or is held: where its money is, how much, and what to run. */
      kind: 'payout-attention';
      payoutId: string;
      state: 'failed' | 'held';
      reason: string;
      fundsAt: string;
      amount: string;
      currency: string;
    }
  | {
      /** A merchant event used every delivery attempt: the merchant's backend has not heard of it. */
      kind: 'merchant-event-dead';
      eventId: string;
      type: string;
      depositId: string;
      reason: string;
    }
  | {
      /** A storage cap dropped data: event-log entries (count or bytes) or a dead letter's body. */
      kind: 'storage-capped';
      store: 'event-log' | 'dead-letter';
      cap: 'count' | 'bytes';
      /** What was dropped, in words (e.g. "1,204 entries since the last alert"). */
      dropped: string;
    }
  | {
      /** A verified notification the ingest consumer could not store after INGEST_MAX_FAILURES tries. */
      kind: 'ingest-failed';
      notificationId: string;
      reason: string;
    }
  | {
      /** Reconciliation found money no deposit, hold or payout explains (report only: nothing moved). */
      kind: 'reconcile-discrepancy';
      accountId: string;
      walletId: string;
      currency: string;
      amount: string;
      /** Optional extra line, e.g. held money on the same wallet. */
      note?: string;
    };

/** A Slack-compatible incoming-webhook body. */
export type SlackMessage = {
  text: string;
  attachments?: { color: string; fields: { title: string; value: string; short: boolean }[] }[];
};

export type AlertJobData = { kind: Alert['kind']; message: SlackMessage; createdAt: string };

/**
 * What can raise an alert: the queue (absent without ALERT_WEBHOOK_URL), the environment label and the
 * operator CLI as the operator can run it where the service is deployed (OPS_COMMAND_HINT).
 */
export type Alerts = { queue: Queue<AlertJobData>; environmentLabel: string; opsCommand: string };

/** The alert queue, or undefined when ALERT_WEBHOOK_URL is not set (then nothing is ever queued). */
export function createAlerts(connection: ConnectionOptions, config: Config): Alerts | undefined {
  if (config.alertWebhookUrl === undefined) return undefined;
  return {
    queue: new Queue<AlertJobData>(ALERT_QUEUE, {
      connection,
      prefix: config.queuePrefix,
      defaultJobOptions: {
        attempts: ALERT_ATTEMPTS,
        backoff: { type: 'exponential', delay: config.sweep.backoffMs },
        removeOnComplete: { age: 7 * 24 * 3600, count: 10_000 },
        removeOnFail: { age: 30 * 24 * 3600 },
      },
    }),
    environmentLabel: config.environmentLabel,
    opsCommand: config.opsCommandHint,
  };
}

export async function closeAlerts(alerts: Alerts | undefined): Promise<void> {
  await alerts?.queue.close().catch(() => undefined);
}

/**
 * Queues an alert for delivery. Never throws: a failure to queue is logged, so an alert can never
 * fail or block a sweep or a webhook answer. Resolves true when the alert was queued.
 */
export async function sendAlert(
  deps: { alerts?: Alerts | undefined; logger: Logger },
  alert: Alert,
): Promise<boolean> {
  if (!deps.alerts) return false;
  try {
    const message = formatAlert(alert, deps.alerts.environmentLabel, deps.alerts.opsCommand);
    await deps.alerts.queue.add(alert.kind, {
      kind: alert.kind,
      message,
      createdAt: new Date().toISOString(),
    });
    return true;
  } catch (error) {
    deps.logger.warn({ err: error, alert: alert.kind }, 'could not queue an alert');
    return false;
  }
}

/** Slack-compatible text (with escaped `&<>`) naming the deposit, the money, the reason and the CLI hint. */
export function formatAlert(
  alert: Alert,
  environmentLabel: string,
  opsCommand = 'interlace-sweep-ops',
): SlackMessage {
  const env = `[${escape(environmentLabel)}]`;
  const inspect = (depositId: string) =>
    `Inspect: \`${escape(opsCommand)} deposits show ${escape(depositId)}\``;
  switch (alert.kind) {
    case 'dead-lettered': {
      const money = moneyOf(alert.amount, alert.currency);
      return {
        text:
          `:rotating_light: ${env} Deposit ${escape(alert.depositId)} (${money}) was dead-lettered and ` +
          `NOT swept. Reason: ${escape(alert.reason)}. ` +
          inspect(alert.depositId),
        attachments: [
          {
            color: 'danger',
            fields: [
              field('Deposit', alert.depositId),
              field('Amount', money),
              ...(alert.accountId ? [field('Account', alert.accountId)] : []),
              field('Reason', alert.reason, false),
            ],
          },
        ],
      };
    }
    case 'held':
    case 'failed': {
      const money = moneyOf(alert.amount, alert.currency);
      return {
        text:
          `:warning: ${env} Deposit ${escape(alert.depositId)} (${money}) was recorded as ${alert.kind} ` +
          `and is not swept automatically. Reason: ${escape(alert.reason ?? 'compliance hold (ON_HOLD)')}. ` +
          inspect(alert.depositId),
        attachments: [
          {
            color: 'warning',
            fields: [
              field('Deposit', alert.depositId),
              field('Amount', money),
              ...(alert.accountId ? [field('Account', alert.accountId)] : []),
            ],
          },
        ],
      };
    }
    case 'merchant-event-dead':
      return {
        text:
          `:rotating_light: ${env} Merchant event ${escape(alert.eventId)} (${escape(alert.type)} of deposit ` +
          `${escape(alert.depositId)}) was not delivered after every attempt. Last error: ${escape(alert.reason)}. ` +
          `When the merchant's endpoint is fixed: \`${escape(opsCommand)} events merchant replay ${escape(alert.eventId)}\``,
        attachments: [
          {
            color: 'danger',
            fields: [
              field('Event', alert.eventId),
              field('Type', alert.type),
              field('Deposit', alert.depositId),
              field('Last error', alert.reason, false),
            ],
          },
        ],
      };
    case 'payout-attention': {
      const money = moneyOf(alert.amount, alert.currency);
      const next = alert.fundsAt === 'cryptoconnect-wallet' ? 'refund or retry' : 'inspect';
      return {
        text:
          `:rotating_light: ${env} Payout ${escape(alert.payoutId)} is ${alert.state}: ${money} is at ` +
          `${escape(alert.fundsAt)}. Reason: ${escape(alert.reason)}. ` +
          `Next (${next}): \`${escape(opsCommand)} payouts show ${escape(alert.payoutId)}\``,
        attachments: [
          {
            color: alert.state === 'failed' ? 'danger' : 'warning',
            fields: [
              field('Payout', alert.payoutId),
              field('Money', `${money} at ${alert.fundsAt}`),
              field('Reason', alert.reason, false),
            ],
          },
        ],
      };
    }
    case 'ingest-failed':
      return {
        text:
          `:rotating_light: ${env} Notification ${escape(alert.notificationId)} was received but could not be ` +
          `stored, and was dead-lettered: no deposit or payout moved for it. Reason: ${escape(alert.reason)}. ` +
          `Inspect: \`${escape(opsCommand)} dlq list\`, then replay it once the cause is fixed.`,
        attachments: [
          {
            color: 'danger',
            fields: [field('Notification', alert.notificationId), field('Reason', alert.reason)],
          },
        ],
      };
    case 'storage-capped': {
      const what = alert.store === 'event-log' ? 'The event log' : 'A dead letter';
      return {
        text:
          `:warning: ${env} ${what} reached its ${alert.cap} cap and dropped data: ${escape(alert.dropped)}. ` +
          (alert.store === 'event-log'
            ? 'Older notifications can no longer be replayed from it (EVENT_LOG_MAX_LEN, EVENT_LOG_MAX_BYTES).'
            : 'Its notification body was replaced by its size and hash (DEAD_LETTER_MAX_BODY_BYTES).'),
        attachments: [
          {
            color: 'warning',
            fields: [
              field('Store', alert.store),
              field('Cap', alert.cap),
              field('Dropped', alert.dropped, false),
            ],
          },
        ],
      };
    }
    case 'reconcile-discrepancy': {
      const money = moneyOf(alert.amount, alert.currency);
      return {
        text:
          `:mag: ${env} Reconciliation: ${money} in wallet ${escape(alert.walletId)} ` +
          `(account ${escape(alert.accountId)}) that no deposit notification explains. Nothing was moved. ` +
          `List: \`${escape(opsCommand)} reconcile\`; moving it is your decision: ` +
          `\`${escape(opsCommand)} reconcile sweep ${escape(alert.walletId)} ${escape(alert.currency)} <amount> --dry-run\`.` +
          (alert.note ? ` ${escape(alert.note)}` : ''),
        attachments: [
          {
            color: 'warning',
            fields: [
              field('Account', alert.accountId),
              field('Wallet', alert.walletId),
              field('Amount', money),
            ],
          },
        ],
      };
    }
  }
}

function moneyOf(amount: string | undefined, currency: string | undefined): string {
  return amount === undefined ? 'amount unknown' : `${amount} ${currency ?? ''}`.trim();
}

function field(title: string, value: string, short = true) {
  return { title, value: escape(value), short };
}

/** Slack's three control characters in message text. */
function escape(value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
