import { Worker, type Job } from 'bullmq';
import {
  createReconcileQueue,
  syncReconcileScheduler,
  type ReconcileJobData,
} from '../src/reconcile/scheduler.js';
import { RECONCILE_QUEUE } from '../src/reconcile/keys.js';
import { runReconcile, type ReconcileDeps, type ReconcileReport } from '../src/reconcile/run-reconcile.js';

export type ReconcileWorker = {
  worker: Worker<ReconcileJobData, ReconcileReport>;
  close(): Promise<void>;
};

/**
 * The reconciliation worker (concurrency 1) and its job scheduler, started by the worker process
 * (workers/start-workers.ts). The scheduler follows RECONCILE_ENABLED on every start: it is upserted
 * when enabled and removed when disabled; the worker runs either way, so a job added by hand still runs.
 * A run only reports: moving unexplained money is an operator's `reconcile sweep`.
 */
export async function startReconcileWorker(deps: ReconcileDeps): Promise<ReconcileWorker> {
  const { config } = deps;
  const log = deps.logger.child({ component: 'reconcile' });
  const queue = createReconcileQueue(deps.redis, config);
  const worker = new Worker<ReconcileJobData, ReconcileReport>(
    RECONCILE_QUEUE,
    (job) => processReconcile(deps, job),
    {
      connection: deps.redis,
      prefix: config.queuePrefix,
      concurrency: 1,
      // A run lists wallets over HTTP: give it room before BullMQ calls it stalled.
      lockDuration: Math.max(config.sweep.lockMs, 60_000),
    },
  );
  worker.on('error', (error) => log.warn({ err: error }, 'reconciliation worker error'));
  worker.on('failed', (job, error) => log.warn({ jobId: job?.id, err: error }, 'reconciliation run failed'));
  await worker.waitUntilReady();
  const scheduler = await syncReconcileScheduler(queue, config);
  log.info(
    { queue: RECONCILE_QUEUE, scheduler, intervalMs: config.reconcile.intervalMs },
    'reconciliation worker started',
  );
  return {
    worker,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}

async function processReconcile(deps: ReconcileDeps, _job: Job<ReconcileJobData>): Promise<ReconcileReport> {
  const report = await runReconcile(deps);
  if (report.errors.length > 0) {
    // Visible as a failed job; what could be read was still reported.
    throw new Error(
      `reconciliation run had ${report.errors.length} error(s): ${report.errors.map((e) => e.message).join('; ')}`,
    );
  }
  return report;
}
