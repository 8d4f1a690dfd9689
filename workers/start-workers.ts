import { Worker, type Job } from 'bullmq';
import { readBuildInfo } from '../src/build-info.js';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { createRedis, closeRedis } from '../src/redis.js';
import { createKeys } from '../src/keys.js';
import { createDepositStore } from '../src/deposits/deposit-store.js';
import { createQueues, closeQueues, SWEEP_BACKOFF } from '../src/queues/create-queues.js';
import { SWEEP_QUEUE, type SweepJobData } from '../src/queues/names.js';
import { createInterlaceClient } from '../src/interlace/client.js';
import { createInfinityWalletResolver } from '../src/sweep/infinity-wallet.js';
import { isMainModule, runProcess } from '../src/process-runner.js';
import { sweepBackoff } from './sweep-backoff.js';
import { sweepDeposit, type ObservedSweepDeps, type SweepResult } from './sweep-processor.js';
import { deadLetterDeposit, ensureDeadLetter } from './dead-letter-deposit.js';
import { createMetrics, type Metrics } from '../src/metrics/metrics.js';
import { startMetricsServer, type MetricsServer } from '../src/metrics/metrics-server.js';
import { closeAlerts, createAlerts, sendAlert } from '../src/alerts/alerts.js';
import { startAlertWorker } from './alert-worker.js';
import { afterFinalFailure, isFinalFailure } from '../src/policy/deposit-policy.js';
import { startReconcileWorker } from './reconcile-worker.js';
import { publishServicePolicy } from '../src/policy/service-policy.js';
import { readReconcileReport } from '../src/reconcile/run-reconcile.js';
import { createMerchantEventQueue } from '../src/merchant-events/merchant-event-queue.js';
import { startMerchantEventWorker, type MerchantEventWorker } from './merchant-event-worker.js';
import { createPayoutStore } from '../src/payouts/payout-store.js';
import { applyPayoutEvent } from '../src/payouts/apply-payout-event.js';
import { PAYOUT_QUEUE, type PayoutJobData } from '../src/queues/names.js';
import { processPayout, type PayoutDeps, type PayoutRunResult } from './payout-processor.js';

export type Workers = {
  worker: Worker<SweepJobData, SweepResult>;
  /** The payout worker, when payouts are on (PAYOUT_ACCOUNT_ID and PAYOUT_WALLET_ID). */
  payoutWorker: Worker<PayoutJobData, PayoutRunResult> | undefined;
  deps: ObservedSweepDeps;
  metrics: Metrics;
  /** The worker's own /metrics server (METRICS_PORT > 0). */
  metricsServer: MetricsServer | undefined;
  /** The merchant events' relay and delivery (MERCHANT_WEBHOOK_URL). */
  merchantEvents: MerchantEventWorker | undefined;
  close(): Promise<void>;
};

/**
 * Composition root of a sweep worker: config → logger → Redis (waiting worker role) → ledger, queues,
 * Interlace client → BullMQ worker. Any number of these may run against one Redis.
 */
export async function startWorkers(
  config: Config,
  logger: Logger,
  options: { metrics?: Metrics } = {},
): Promise<Workers> {
  const log = logger.child({ component: 'worker' });
  const redis = createRedis(config.redisUrl, 'worker', 'interlace-sweep:worker');
  redis.on('error', (error: Error) => log.warn({ err: error }, 'Redis connection error'));
  const keys = createKeys(config.queuePrefix);
  await publishServicePolicy(redis, keys, config, log);
  const deposits = createDepositStore(redis, keys, {
    retentionMs: config.ledgerRetentionMs,
    transferWindowMs: config.sweep.idempotencyWindowMs,
    merchantEvents: config.merchantWebhook !== undefined,
  });
  const queues = createQueues(redis, config);
  const metrics = options.metrics ?? createMetrics({ build: readBuildInfo(config.buildCommit) });
  const merchantEventQueue = createMerchantEventQueue(redis, config);
  merchantEventQueue?.on('error', (error) => log.warn({ err: error }, 'merchant event queue error'));
  metrics.watchQueues({ ...queues, extra: merchantEventQueue ? [merchantEventQueue] : [] }, (error) =>
    log.warn({ err: error }, 'could not read queue sizes for metrics'),
  );
  const alerts = createAlerts(redis, config);
  alerts?.queue.on('error', (error) => log.warn({ err: error }, 'alert queue error'));
  const client = createInterlaceClient({
    config,
    redis,
    keys,
    logger: log,
    observe: (call) => metrics.observeInterlaceCall(call),
    onTokenRenewed: () => metrics.tokenRenewals.inc(),
  });
  const infinityWallets = createInfinityWalletResolver({
    client,
    redis,
    keys,
    ttlMs: config.sweep.walletCacheTtlMs,
  });

  const deps: ObservedSweepDeps = {
    config,
    logger: log,
    redis,
    keys,
    deposits,
    queues,
    client,
    infinityWallets,
    rateLimit: async (ms) => worker.rateLimit(ms),
    metrics,
    ...(alerts ? { alerts } : {}),
  };
  const backoff = sweepBackoff({ baseMs: config.sweep.backoffMs, maxMs: config.sweep.backoffMaxMs });
  const worker = new Worker<SweepJobData, SweepResult>(SWEEP_QUEUE, (job) => sweepDeposit(deps, job), {
    connection: redis,
    prefix: config.queuePrefix,
    concurrency: config.sweep.concurrency,
    // A worker killed mid-sweep leaves a stalled job; it runs again with the same ids, which is safe.
    // Its lock lapses after at most lockDuration; the stalled check, every stalledInterval, needs two
    // passes to move it back: recovery within lockDuration + 2 × stalledInterval (25 s by default).
    maxStalledCount: 5,
    lockDuration: config.sweep.lockMs,
    // Also what makes worker.rateLimit() (a 429) pause every worker: BullMQ checks its limiter key
    // only when a limiter is configured.
    limiter: { max: config.sweep.rateLimitPerSecond, duration: 1_000 },
    stalledInterval: config.sweep.stalledIntervalMs,
    settings: {
      backoffStrategy: (attemptsMade, type, error) =>
        type === SWEEP_BACKOFF ? backoff(attemptsMade, error) : 0,
    },
  });
  worker.on('error', (error) => log.warn({ err: error }, 'worker error'));
  worker.on('failed', (job, error) => void onFailed(deps, job, error));
  await worker.waitUntilReady();
  const payoutWorker = config.payout.enabled
    ? await startPayoutWorker(
        {
          config,
          logger: log.child({ component: 'payouts' }),
          payouts: createPayoutStore(redis, keys, { eventLogMaxLen: config.eventLogMaxLen }),
          payoutQueue: queues.payout,
          client,
          infinityWallets,
          metrics,
          ...(alerts ? { alerts } : {}),
        },
        redis,
      )
    : undefined;
  log.info({ queue: SWEEP_QUEUE, concurrency: config.sweep.concurrency }, 'sweep worker started');
  // Components below take the process logger and name themselves: a child of `log` would repeat
  // its `component` key in every line (pino does not replace a bound key).
  const alertWorker = await startAlertWorker({ config, redis, logger });
  const merchantEvents =
    merchantEventQueue && config.merchantWebhook
      ? await startMerchantEventWorker({
          config,
          webhook: config.merchantWebhook,
          redis,
          keys,
          queue: merchantEventQueue,
          logger,
          alerts,
        })
      : undefined;
  metrics.watchReconcile({
    discrepancies: async () => (await readReconcileReport(redis, keys.prefix))?.discrepancies,
  });
  const reconcile = await startReconcileWorker({
    config,
    logger,
    redis,
    keys,
    client,
    onReport: async (report) => {
      for (const found of report.discrepancies) {
        await sendAlert(
          { alerts, logger: log },
          {
            kind: 'reconcile-discrepancy',
            accountId: found.accountId,
            walletId: found.walletId,
            currency: found.currency,
            amount: found.unexplained,
            ...(found.held !== '0'
              ? { note: `Held deposits on this wallet: ${found.held} ${found.currency}.` }
              : {}),
          },
        );
      }
    },
  });
  const metricsServer =
    config.metricsPort > 0
      ? await startMetricsServer({ metrics, port: config.metricsPort, host: config.host, logger: log })
      : undefined;

  return {
    worker,
    payoutWorker,
    deps,
    metrics,
    metricsServer,
    merchantEvents,
    async close() {
      const current = worker;
      const drained = await Promise.race([
        current.close().then(() => true),
        new Promise<false>((resolve) => setTimeout(() => resolve(false), config.shutdownTimeoutMs).unref()),
      ]);
      if (!drained) {
        log.warn(
          { timeoutMs: config.shutdownTimeoutMs },
          'in-flight sweeps did not finish in time; they will run again elsewhere',
        );
        await current.close(true);
      }
      await payoutWorker?.close();
      await reconcile.close();
      client.close();
      await alertWorker?.close();
      await merchantEvents?.close();
      await merchantEventQueue?.close().catch(() => undefined);
      await metricsServer?.close();
      await closeAlerts(alerts);
      await closeQueues(queues);
      await closeRedis(redis);
    },
  };
}

/**
 * The payout worker: one job per payout run. A job that stalls (its worker died) runs again and resumes
 * at the payout's recorded step with the same idempotency values.
 */
async function startPayoutWorker(deps: PayoutDeps, connection: Worker['opts']['connection']) {
  const { config } = deps;
  deps.metrics?.watchPayouts({
    stateCounts: () => deps.payouts.stateCounts(),
    reserved: () => deps.payouts.reservedInFlight(['USD', ...config.payout.currencies]),
  });
  const worker = new Worker<PayoutJobData, PayoutRunResult>(PAYOUT_QUEUE, (job) => processPayout(deps, job), {
    connection,
    prefix: config.queuePrefix,
    concurrency: Math.min(config.sweep.concurrency, 10),
    maxStalledCount: 5,
    lockDuration: config.sweep.lockMs,
    stalledInterval: config.sweep.lockMs,
  });
  worker.on('error', (error) => deps.logger.warn({ err: error }, 'payout worker error'));
  worker.on('failed', (job, error) => void onPayoutFailed(deps, job, error));
  await worker.waitUntilReady();
  deps.logger.info({ queue: PAYOUT_QUEUE }, 'payout worker started');
  return worker;
}

/** The policy's "final failure" of a job's `failed` event (BullMQ fires it on every attempt). */
function isLastFailure(job: Job, error: Error): boolean {
  return isFinalFailure({
    errorName: error.name,
    attemptsMade: job.attemptsMade,
    maxAttempts: job.opts.attempts ?? 1,
  });
}

/**
 * Safety net for a payout job that failed for good outside the processor's own verdicts (stalled too
 * often, a bug): the payout must not sit mid-chain unseen, so it is held for an operator.
 */
async function onPayoutFailed(
  deps: PayoutDeps,
  job: Job<PayoutJobData> | undefined,
  error: Error,
): Promise<void> {
  if (!job || !isLastFailure(job, error)) return;
  try {
    const record = await deps.payouts.get(job.data.payoutId);
    if (record && ['approved', 'funded', 'converted', 'refunding'].includes(record.state)) {
      await applyPayoutEvent(deps, record, 'outcome-unknown', {
        fields: { reason: `outcome-unknown: job failed: ${error.message}` },
      });
    }
  } catch (failure) {
    deps.logger.error(
      { err: failure, payoutId: job.data.payoutId },
      'could not hold a payout whose job failed',
    );
  }
}

/**
 * Safety net for failures the processor never saw (a job that stalled too often): the deposit must
 * not stay "sweeping" forever with no dead letter. The policy says when a failure is final and what
 * it leaves to do.
 */
async function onFailed(
  deps: ObservedSweepDeps,
  job: Job<SweepJobData> | undefined,
  error: Error,
): Promise<void> {
  if (!job || !isLastFailure(job, error)) return;
  try {
    const record = await deps.deposits.get(job.data.depositId);
    const todo = afterFinalFailure(record?.state);
    if (todo === 'write-letter') await ensureDeadLetter(deps, job.data.depositId);
    if (todo === 'bury')
      await deadLetterDeposit(deps, job.data.depositId, `job-failed: ${error.message}`, error.message);
  } catch (failure) {
    deps.logger.error({ err: failure, depositId: job.data.depositId }, 'could not dead-letter a failed job');
  }
}

if (isMainModule(import.meta.url)) runProcess('interlace-sweep-worker', startWorkers);
