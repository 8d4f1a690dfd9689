import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { createRedis, closeRedis, waitForRedis } from './redis.js';
import { createKeys } from './keys.js';
import { createDepositStore } from './deposits/deposit-store.js';
import { createQueues, closeQueues } from './queues/create-queues.js';
import { createApp } from './create-app.js';
import { bullBoardRouter, DASHBOARD_PATH } from './dashboard/mount-bull-board.js';
import { createWebhookHandler, isWebhookRequest, WEBHOOK_PATH } from './webhooks/interlace-webhook.js';
import { isMainModule, runProcess } from './process-runner.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { closeAlerts, createAlerts } from './alerts/alerts.js';

export type Api = {
  app: Express;
  server: Server;
  url: string;
  redis: Redis;
  metrics: Metrics;
  close(): Promise<void>;
};

/**
 * Composition root of the receiver: config → logger → Redis (fail-fast producer role) → ledger and
 * queues → Express app → listening server.
 */
export async function startApi(
  config: Config,
  logger: Logger,
  options: { metrics?: Metrics } = {},
): Promise<Api> {
  const log = logger.child({ component: 'receiver' });
  const redis = createRedis(config.redisUrl, 'producer', 'interlace-sweep:receiver');
  redis.on('error', (error: Error) => log.warn({ err: error }, 'Redis connection error'));
  await waitForRedis(redis, 30_000);
  const keys = createKeys(config.queuePrefix);
  const deposits = createDepositStore(redis, keys, { retentionMs: config.ledgerRetentionMs });
  const queues = createQueues(redis, config);
  for (const queue of [queues.sweep, queues.dead])
    queue.on('error', (error) => log.warn({ err: error }, 'queue error'));
  // One registry per process (shared with the worker in the single-process deployment); served at /metrics.
  const metrics = options.metrics ?? createMetrics();
  metrics.watchQueues(queues, (error) => log.warn({ err: error }, 'could not read queue sizes for metrics'));
  const alerts = createAlerts(redis, config);
  alerts?.queue.on('error', (error) => log.warn({ err: error }, 'alert queue error'));

  const extraRouters = [];
  if (config.dashboard) {
    extraRouters.push(
      bullBoardRouter(queues, config.dashboard, {
        readOnly: config.dashboardReadOnly,
        environmentLabel: config.environmentLabel,
        ...(alerts ? { alertQueue: alerts.queue } : {}),
      }),
    );
  } else {
    log.warn('dashboard not mounted: set DASHBOARD_USER and DASHBOARD_PASSWORD to enable it');
  }
  const deps = { config, logger: log, redis, keys, deposits, queues, metrics, alerts };
  const app = createApp({ ...deps, extraRouters });
  const webhook = createWebhookHandler(deps);
  // The webhook is the hot path and needs none of Express's middleware; everything else is Express.
  const server = createServer((req, res) => (isWebhookRequest(req) ? webhook(req, res) : app(req, res)));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Slow or stalled bodies must not hold sockets: Interlace sends small bodies and waits 5 s at most.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host === '0.0.0.0' ? '127.0.0.1' : config.host}:${port}`;
  log.info(
    {
      url,
      webhook: `${url}${WEBHOOK_PATH}`,
      dashboard: config.dashboard ? `${url}${DASHBOARD_PATH}` : undefined,
    },
    'receiver listening',
  );

  return {
    app,
    server,
    url,
    redis,
    metrics,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => server.closeAllConnections(), Math.min(config.shutdownTimeoutMs, 5_000)).unref();
      });
      await closeQueues(queues);
      await closeAlerts(alerts);
      await closeRedis(redis);
    },
  };
}

if (isMainModule(import.meta.url)) runProcess('interlace-sweep-api', startApi);
