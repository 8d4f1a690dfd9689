import { Worker, type Job } from 'bullmq';
import {
  createBackfillQueue,
  syncBackfillScheduler,
  type BackfillJobData,
} from '../src/backfill/scheduler.js';
import { BACKFILL_QUEUE } from '../src/backfill/keys.js';
import { runBackfill, type BackfillDeps, type BackfillResult } from '../src/backfill/run-backfill.js';

export type BackfillWorker = {
  worker: Worker<BackfillJobData, BackfillResult>;
  close(): Promise<void>;
};

/**
 * The backfill worker (concurrency 1) and its job scheduler, started by the worker process
 * (workers/start-workers.ts). The scheduler follows BACKFILL_ENABLED on every start: it is upserted when
 * enabled and removed when disabled; the worker runs either way, so a job added by hand (e.g. by the
 * ops CLI) still runs.
 */
export async function startBackfillWorker(deps: BackfillDeps): Promise<BackfillWorker> {
  const { config } = deps;
  const log = deps.logger.child({ component: 'backfill' });
  const queue = createBackfillQueue(deps.redis, config);
  const worker = new Worker<BackfillJobData, BackfillResult>(
    BACKFILL_QUEUE,
    (job) => processBackfill(deps, job),
    {
      connection: deps.redis,
      prefix: config.queuePrefix,
      concurrency: 1,
      // A run lists wallets over HTTP: give it room before BullMQ calls it stalled.
      lockDuration: Math.max(config.sweep.lockMs, 60_000),
    },
  );
  worker.on('error', (error) => log.warn({ err: error }, 'backfill worker error'));
  worker.on('failed', (job, error) => log.warn({ jobId: job?.id, err: error }, 'backfill run failed'));
  await worker.waitUntilReady();
  const scheduler = await syncBackfillScheduler(queue, config);
  log.info(
    { queue: BACKFILL_QUEUE, scheduler, intervalMs: config.backfill.intervalMs, mode: config.backfill.mode },
    'backfill worker started',
  );
  return {
    worker,
    async close() {
      await worker.close();
      await queue.close();
    },
  };
}

async function processBackfill(deps: BackfillDeps, job: Job<BackfillJobData>): Promise<BackfillResult> {
  const result = await runBackfill(deps, { mode: job.data.mode ?? deps.config.backfill.mode });
  if (result.errors.length > 0) {
    // Visible as a failed job; what could be read was still handled.
    throw new Error(
      `backfill run had ${result.errors.length} error(s): ${result.errors.map((e) => e.message).join('; ')}`,
    );
  }
  return result;
}
