import { createServer, type Server } from 'node:http';
import { readBuildInfo } from './build-info.js';
import type { AddressInfo } from 'node:net';
import type { Express } from 'express';
import type { Redis } from 'ioredis';
import type { Config } from './config.js';
import type { Logger } from './logger.js';
import { createRedis, closeRedis, waitForRedis } from './redis.js';
import { createKeys } from './keys.js';
import { createMerchantEventQueue } from './merchant-events/merchant-event-queue.js';
import { createDepositStore } from './deposits/deposit-store.js';
import { createQueues, closeQueues } from './queues/create-queues.js';
import { createApp } from './create-app.js';
import { bullBoardRouter, DASHBOARD_PATH } from './dashboard/mount-bull-board.js';
import { WEBHOOK_PATH } from './webhooks/interlace-webhook.js';
import { isMainModule, runProcess } from './process-runner.js';
import { createMetrics, type Metrics } from './metrics/metrics.js';
import { closeAlerts, createAlerts } from './alerts/alerts.js';
import { createPayoutStore } from './payouts/payout-store.js';
import { createInterlaceClient, type InterlaceClient } from './interlace/client.js';
import { createWalletStore } from './wallets/wallet-store.js';
import { publishServicePolicy } from './policy/service-policy.js';
import { watchEventLog } from './webhooks/storage-caps.js';
import { createIngestLog, ingestBacklog } from './webhooks/ingest-log.js';
import { startIngestConsumer, type IngestConsumer } from './webhooks/ingest-consumer.js';
import { merchantApiRouter } from './merchant-api/merchant-api.js';
import { startMasterWalletAdoption } from './wallets/master-wallet-adoption.js';

export type Api = {
  app: Express;
  server: Server;
  url: string;
  /** Where /metrics, /readyz and the dashboard are: the admin port (ADMIN_PORT), else `url`. */
  adminUrl: string;
  redis: Redis;
  metrics: Metrics;
  /** The ingest consumer: turns appended notifications into ledger records and sweep jobs. */
  ingest: IngestConsumer;
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
  await publishServicePolicy(redis, keys, config, log);
  const deposits = createDepositStore(redis, keys, {
    retentionMs: config.ledgerRetentionMs,
    merchantEvents: config.merchantWebhook !== undefined,
  });
  const queues = createQueues(redis, config);
  for (const queue of [queues.sweep, queues.dead])
    queue.on('error', (error) => log.warn({ err: error }, 'queue error'));
  // One registry per process (shared with the worker in the single-process deployment); served at /metrics.
  const metrics = options.metrics ?? createMetrics({ build: readBuildInfo(config.buildCommit) });
  // For the dashboard and the queue gauges only: the workers relay and deliver merchant events.
  const merchantEventQueue = createMerchantEventQueue(redis, config);
  merchantEventQueue?.on('error', (error) => log.warn({ err: error }, 'merchant event queue error'));
  metrics.watchQueues({ ...queues, extra: merchantEventQueue ? [merchantEventQueue] : [] }, (error) =>
    log.warn({ err: error }, 'could not read queue sizes for metrics'),
  );
  const alerts = createAlerts(redis, config);
  alerts?.queue.on('error', (error) => log.warn({ err: error }, 'alert queue error'));

  const extraRouters = [];
  if (config.dashboard) {
    extraRouters.push(
      bullBoardRouter(queues, config.dashboard, {
        readOnly: config.dashboardReadOnly,
        environmentLabel: config.environmentLabel,
        logger: log,
        opsCommand: config.opsCommandHint,
        ...(alerts ? { alertQueue: alerts.queue } : {}),
        ...(merchantEventQueue ? { merchantEventQueue } : {}),
      }),
    );
  } else {
    log.warn('dashboard not mounted: set DASHBOARD_USER and DASHBOARD_PASSWORD to enable it');
  }
  const payouts = createPayoutStore(redis, keys, { eventLogMaxLen: config.eventLogMaxLen });
  const deps = { config, logger: log, redis, keys, deposits, queues, metrics, alerts, payouts };
  // The group exists before the first append (startIngestConsumer creates it), so no entry is missed.
  const ingest = await startIngestConsumer(deps, {
    ...config.ingest,
    eventLogMaxLen: config.eventLogMaxLen,
  });
  const ingestLog = createIngestLog(redis, keys);
  metrics.watchIngest({
    backlog: async () => (await ingestBacklog(redis, keys.events))?.backlog ?? 0,
  });
  // The event log's byte cap (its count cap is applied by the ingest consumer), checked by every receiver.
  const eventLog = watchEventLog(deps, config.eventLogMaxBytes);
  // The merchant API calls Interlace (wallets, addresses) from the receiver; off without API keys. In
  // gateway mode the receiver also adopts the account's master wallets, API or not.
  const gateway = config.merchantApi.mode === 'gateway';
  const client: InterlaceClient | undefined =
    config.merchantApi.enabled || gateway
      ? createInterlaceClient({
          config,
          redis,
          keys,
          logger: log,
          observe: (call) => metrics.observeInterlaceCall(call),
          onTokenRenewed: () => metrics.tokenRenewals.inc(),
        })
      : undefined;
  const apiLog = logger.child({ component: 'merchant-api' });
  const walletDeps = client && {
    config,
    logger: apiLog,
    wallets: createWalletStore(redis, keys),
    deposits,
    client,
  };
  let merchantApi;
  if (config.merchantApi.enabled && walletDeps) {
    merchantApi = merchantApiRouter({
      logger: apiLog,
      keys: config.merchantApi.keys,
      wallets: walletDeps,
      payouts: { config, logger: apiLog, payouts, payoutQueue: queues.payout, alerts },
    });
  } else {
    log.info(
      'merchant API off: set MERCHANT_API_KEYS (and INTERLACE_ACCOUNT_ID) to serve /wallets and /payouts',
    );
  }
  const adoption =
    gateway && walletDeps
      ? startMasterWalletAdoption(walletDeps, {
          intervalMs: config.merchantApi.adoptIntervalMs,
          logger: apiLog,
        })
      : undefined;
  // With ADMIN_PORT the public port answers only the webhook, /healthz and the merchant API; metrics,
  // readiness and the dashboard move to the admin port, which stays off the internet (ADMIN_HOST).
  const app = createApp({
    ...deps,
    ingestLog,
    extraRouters,
    surface: config.admin ? 'admin' : 'all',
    ...(merchantApi ? { merchantApi } : {}),
  });
  const publicApp = config.admin
    ? createApp({ ...deps, ingestLog, surface: 'public', ...(merchantApi ? { merchantApi } : {}) })
    : app;
  const server = createServer(publicApp);
  const url = await listen(server, config.port, config.host);
  const adminServer = config.admin ? createServer(app) : undefined;
  const adminUrl =
    adminServer && config.admin ? await listen(adminServer, config.admin.port, config.admin.host) : url;
  log.info(
    {
      url,
      webhook: `${url}${WEBHOOK_PATH}`,
      admin: adminUrl,
      dashboard: config.dashboard ? `${adminUrl}${DASHBOARD_PATH}` : undefined,
    },
    'receiver listening',
  );

  return {
    app,
    server,
    url,
    adminUrl,
    redis,
    metrics,
    ingest,
    async close() {
      const grace = Math.min(config.shutdownTimeoutMs, 5_000);
      await Promise.all([closeServer(server, grace), adminServer && closeServer(adminServer, grace)]);
      // After the server: every appended notification is in the log; what the consumer has not finished
      // stays pending for the next receiver.
      await ingest.close(Math.min(config.shutdownTimeoutMs, 5_000));
      eventLog.stop();
      await adoption?.stop();
      client?.close();
      await closeQueues(queues);
      await closeAlerts(alerts);
      await merchantEventQueue?.close().catch(() => undefined);
      await closeRedis(redis);
    },
  };
}

/** Listens and answers the base URL; slow or stalled requests must not hold sockets. */
async function listen(server: Server, port: number, host: string): Promise<string> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Interlace sends small bodies and waits 5 s at most.
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;
  const address = server.address() as AddressInfo;
  return `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
}

async function closeServer(server: Server, graceMs: number): Promise<void> {
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeIdleConnections();
    setTimeout(() => server.closeAllConnections(), graceMs).unref();
  });
}

if (isMainModule(import.meta.url)) runProcess('interlace-sweep-api', startApi);
