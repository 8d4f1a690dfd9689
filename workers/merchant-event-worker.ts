import { Worker } from 'bullmq';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config, MerchantWebhookConfig } from '../src/config.js';
import type { Keys } from '../src/keys.js';
import type { Logger } from '../src/logger.js';
import { createMerchantEventDelivery } from '../src/merchant-events/deliver-merchant-event.js';
import { MERCHANT_EVENT_QUEUE, type MerchantEventJobData } from '../src/merchant-events/merchant-event.js';
import { RELAY_BATCH, relayOutbox } from '../src/merchant-events/merchant-event-queue.js';
import { isFinalFailure } from '../src/policy/deposit-policy.js';
import { sendAlert, type Alerts } from '../src/alerts/alerts.js';

/** How often an idle relay looks at the outbox (a full batch is followed at once by the next). */
export const RELAY_INTERVAL_MS = 200;

export type MerchantEventWorker = { worker: Worker<MerchantEventJobData>; close(): Promise<void> };

/**
 * The merchant events' two halves in a worker process: the relay (outbox stream → delivery queue) and
 * the delivery worker (queue → signed POST to MERCHANT_WEBHOOK_URL, retried, dead-lettered as a failed
 * job). Any number of processes may run both: the job id (the event id) makes a second relay a no-op.
 */
export async function startMerchantEventWorker(deps: {
  config: Config;
  webhook: MerchantWebhookConfig;
  redis: Redis;
  keys: Keys;
  queue: Queue<MerchantEventJobData>;
  logger: Logger;
  /** The alert queue (ALERT_WEBHOOK_URL): a dead-lettered event is alerted. */
  alerts?: Alerts | undefined;
  relayIntervalMs?: number;
}): Promise<MerchantEventWorker> {
  const log = deps.logger.child({ component: 'merchant-events' });
  const delivery = createMerchantEventDelivery(deps.webhook);
  const worker = new Worker<MerchantEventJobData>(
    MERCHANT_EVENT_QUEUE,
    async (job) => {
      await delivery.deliver(job.data);
      log.info(
        {
          eventId: job.data.eventId,
          type: job.data.type,
          depositId: job.data.depositId,
          attempt: job.attemptsMade + 1,
        },
        'merchant event delivered',
      );
    },
    {
      connection: deps.redis,
      prefix: deps.config.queuePrefix,
      concurrency: 4,
      // A worker killed mid-delivery leaves its job active: the sweep's lock and stalled check bring it
      // back as quickly, and a few stalls (kills) do not dead-letter an event that was never refused.
      lockDuration: deps.config.sweep.lockMs,
      stalledInterval: deps.config.sweep.stalledIntervalMs,
      maxStalledCount: 5,
    },
  );
  worker.on('error', (error) => log.warn({ err: error }, 'merchant event worker error'));
  worker.on('failed', (job, error) => {
    if (!job) return;
    const final = isFinalFailure({
      errorName: error.name,
      attemptsMade: job.attemptsMade,
      maxAttempts: job.opts.attempts ?? 1,
    });
    const fields = {
      eventId: job.data.eventId,
      type: job.data.type,
      depositId: job.data.depositId,
      attempt: job.attemptsMade,
      err: error,
    };
    if (!final) {
      log.warn(fields, 'merchant event delivery failed; will retry');
      return;
    }
    log.error(fields, 'merchant event dead-lettered: every delivery attempt failed');
    void sendAlert(
      { alerts: deps.alerts, logger: log },
      {
        kind: 'merchant-event-dead',
        eventId: job.data.eventId,
        type: job.data.type,
        depositId: job.data.depositId,
        reason: error.message,
      },
    );
  });
  worker.on('closed', () => delivery.close());
  await worker.waitUntilReady();

  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  const tick = async () => {
    try {
      while (!closed && (await relayOutbox({ ...deps, webhook: deps.webhook })) === RELAY_BATCH);
    } catch (error) {
      // The entries stay in the outbox: the next round relays them.
      log.warn({ err: error }, 'could not relay merchant events; will try again');
    }
    if (!closed) timer = setTimeout(() => (running = tick()), deps.relayIntervalMs ?? RELAY_INTERVAL_MS);
  };
  running = tick();
  log.info({ queue: MERCHANT_EVENT_QUEUE }, 'merchant event relay and delivery started');

  return {
    worker,
    async close() {
      closed = true;
      clearTimeout(timer);
      await running;
      await worker.close();
    },
  };
}
