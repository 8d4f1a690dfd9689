import { Queue, type ConnectionOptions, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config, MerchantWebhookConfig } from '../config.js';
import type { Keys } from '../keys.js';
import { eventFromOutbox, MERCHANT_EVENT_QUEUE, type MerchantEventJobData } from './merchant-event.js';

/** Outbox entries moved to the queue per round trip. */
export const RELAY_BATCH = 100;

/**
 * Retries with exponential backoff; a delivered event is kept 30 days (replayable, and a re-relay of
 * its entry finds it and adds nothing); one that used every attempt stays failed until an operator
 * replays it: that failed set is the dead letter.
 */
export function merchantEventJobOptions(webhook: MerchantWebhookConfig): JobsOptions {
  return {
    attempts: webhook.attempts,
    backoff: { type: 'exponential', delay: webhook.backoffMs },
    removeOnComplete: { age: 30 * 24 * 3600 },
    removeOnFail: false,
  };
}

/** The delivery queue, or undefined when MERCHANT_WEBHOOK_URL is not set. */
export function createMerchantEventQueue(
  connection: ConnectionOptions,
  config: Config,
): Queue<MerchantEventJobData> | undefined {
  if (config.merchantWebhook === undefined) return undefined;
  return new Queue<MerchantEventJobData>(MERCHANT_EVENT_QUEUE, {
    connection,
    prefix: config.queuePrefix,
    defaultJobOptions: merchantEventJobOptions(config.merchantWebhook),
  });
}

/**
 * Moves the oldest outbox entries to the delivery queue (job id = event id), then deletes them. A crash
 * between the two relays the same entries again: their jobs exist, so BullMQ adds nothing. Answers how
 * many entries it moved.
 */
export async function relayOutbox(
  deps: { redis: Redis; keys: Keys; queue: Queue<MerchantEventJobData>; webhook: MerchantWebhookConfig },
  batch = RELAY_BATCH,
): Promise<number> {
  const entries = await deps.redis.xrange(deps.keys.merchantOutbox, '-', '+', 'COUNT', batch);
  if (entries.length === 0) return 0;
  const events = entries.map(([, fields]) => {
    const record: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) record[fields[i]!] = fields[i + 1]!;
    return eventFromOutbox(record);
  });
  const opts = merchantEventJobOptions(deps.webhook);
  await deps.queue.addBulk(
    events.map((event) => ({ name: event.type, data: event, opts: { ...opts, jobId: event.eventId } })),
  );
  await deps.redis.xdel(deps.keys.merchantOutbox, ...entries.map(([id]) => id));
  return entries.length;
}
