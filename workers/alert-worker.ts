import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { ALERT_QUEUE, type AlertJobData } from '../src/alerts/alerts.js';
import { createAlertDelivery } from '../src/alerts/deliver-alert.js';

/**
 * Delivers queued alerts to ALERT_WEBHOOK_URL (retries and exponential backoff come from the job
 * options set in createAlerts). Its own queue and worker, so a slow or failing alert endpoint never
 * delays a sweep. Undefined when ALERT_WEBHOOK_URL is not set.
 */
export async function startAlertWorker(deps: {
  config: Config;
  redis: Redis;
  logger: Logger;
}): Promise<Worker<AlertJobData> | undefined> {
  const url = deps.config.alertWebhookUrl;
  if (url === undefined) return undefined;
  const log = deps.logger.child({ component: 'alerts' });
  const delivery = createAlertDelivery(url);
  const worker = new Worker<AlertJobData>(
    ALERT_QUEUE,
    async (job) => {
      await delivery.deliver(job.data.message);
      log.info({ jobId: job.id, kind: job.data.kind, attempt: job.attemptsMade + 1 }, 'alert delivered');
    },
    { connection: deps.redis, prefix: deps.config.queuePrefix, concurrency: 4 },
  );
  worker.on('error', (error) => log.warn({ err: error }, 'alert worker error'));
  worker.on('failed', (job, error) =>
    log.warn(
      { jobId: job?.id, kind: job?.data.kind, attempt: job?.attemptsMade, err: error },
      'alert delivery failed',
    ),
  );
  // The delivery's sockets go with the worker.
  worker.on('closed', () => delivery.close());
  await worker.waitUntilReady();
  return worker;
}
