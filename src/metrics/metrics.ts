import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Queue } from 'bullmq';
import type { CallObservation } from '../interlace/client.js';
import { readBuildInfo, type BuildInfo } from '../build-info.js';

/**
 * Outcomes of `POST /webhooks/interlace`, one per answer (a fixed set: bounded label cardinality).
 * `accepted` = appended to the event log; what storing it did is IngestOutcome's.
 */
export type WebhookOutcome =
  | 'accepted'
  | 'unauthorized'
  | 'bad_request'
  | 'too_large'
  | 'unsupported_media_type'
  | 'unavailable'
  | 'error';

/** What the ingest consumer did with one event-log entry. */
export type IngestOutcome = 'accepted' | 'duplicate' | 'ignored' | 'dead_lettered' | 'failed' | 'lost';

/** Outcomes of one sweep job run. */
export type SweepOutcome =
  'swept' | 'already_swept' | 'not_sweepable' | 'retry' | 'dead_lettered' | 'rate_limited';

/** Job states reported by `isweep_queue_jobs`. */
export const QUEUE_GAUGE_STATES = ['waiting', 'active', 'delayed', 'failed', 'paused'] as const;

type WatchedQueues = { sweep: Queue; dead: Queue; extra?: Queue[] };

/** What the payout gauges read at scrape time (the payout store). */
export type PayoutSource = {
  stateCounts(): Promise<Record<string, number>>;
  /** Per currency, what payouts keep reserved in the payout wallet. */
  reserved(): Promise<Record<string, string>>;
};

/** What the reconciliation gauges read at scrape time: the latest stored report's discrepancies. */
export type ReconcileSource = {
  discrepancies(): Promise<readonly { currency: string; unexplained: string }[] | undefined>;
};

export type Metrics = ReturnType<typeof createMetrics>;

/**
 * The process's metrics: one prom-client Registry (never the global one) and typed metric objects.
 * Built by a composition root and passed down; in the single-process deployment receiver and worker share it.
 * Labels never carry deposit ids, account ids or secrets: only fixed sets and endpoint templates.
 */
export function createMetrics(options: { defaultMetrics?: boolean; build?: BuildInfo } = {}) {
  const registry = new Registry();
  if (options.defaultMetrics !== false) collectDefaultMetrics({ register: registry });
  // Constant 1, labelled with what runs: `count by (version) (isweep_build_info)` shows a half-done rollout.
  const build = options.build ?? readBuildInfo();
  new Gauge({
    name: 'isweep_build_info',
    help: 'Always 1; labels: package version, Node.js version and commit of this process',
    labelNames: ['version', 'node_version', 'commit'] as const,
    registers: [registry],
  }).set({ version: build.version, node_version: build.nodeVersion, commit: build.commit }, 1);

  let watched: WatchedQueues | undefined;
  let onCollectError: ((error: unknown) => void) | undefined;

  const webhookRequests = new Counter({
    name: 'isweep_webhook_requests_total',
    help: 'Answers of POST /webhooks/interlace by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const webhookAppendSeconds = new Histogram({
    name: 'isweep_webhook_append_seconds',
    help: 'Time to append a verified notification to the event log (what the answer waits for), in seconds',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  const ingestProcessed = new Counter({
    name: 'isweep_ingest_processed_total',
    help: 'Event-log entries the ingest consumer finished, by outcome',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const ingestDelaySeconds = new Histogram({
    name: 'isweep_ingest_delay_seconds',
    help: 'Time from a notification being appended to its ledger record and sweep job being stored',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const webhookStoreSeconds = new Histogram({
    name: 'isweep_webhook_store_seconds',
    help: 'Time to store one verified notification (ledger, counters, sweep job) in the ingest consumer, in seconds',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const sweeps = new Counter({
    name: 'isweep_sweeps_total',
    help: 'Sweep job runs by outcome and reason',
    labelNames: ['outcome', 'reason'] as const,
    registers: [registry],
  });
  const depositToSweptSeconds = new Histogram({
    name: 'isweep_deposit_to_swept_seconds',
    help: "Time from a deposit's queuedAt (or firstSeenAt) to its sweep, in seconds",
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400],
    registers: [registry],
  });
  const interlaceCallSeconds = new Histogram({
    name: 'isweep_interlace_call_seconds',
    help: 'Interlace Open API calls by endpoint and HTTP status (or error reason), in seconds',
    labelNames: ['endpoint', 'status'] as const,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const tokenRenewals = new Counter({
    name: 'isweep_token_renewals_total',
    help: 'Interlace access tokens issued by this process',
    registers: [registry],
  });

  // Gauges read from Redis at scrape time; a failed read keeps the previous values.
  const scrapedGauge = <L extends string = string>(
    meta: { name: string; help: string; labelNames?: readonly L[] },
    read: (gauge: Gauge<L>) => Promise<void>,
  ) =>
    new Gauge<L>({
      ...meta,
      registers: [registry],
      async collect() {
        try {
          await read(this);
        } catch (error) {
          onCollectError?.(error);
        }
      },
    });
  const queueJobs = scrapedGauge(
    {
      name: 'isweep_queue_jobs',
      help: 'Jobs per queue and state, read at scrape time',
      labelNames: ['queue', 'state'] as const,
    },
    async (gauge) => {
      if (!watched) return;
      const queues = [watched.sweep, watched.dead, ...(watched.extra ?? [])];
      const counts = await Promise.all(queues.map((queue) => queue.getJobCounts(...QUEUE_GAUGE_STATES)));
      queues.forEach((queue, index) => {
        for (const state of QUEUE_GAUGE_STATES)
          gauge.set({ queue: queue.name, state }, counts[index]?.[state] ?? 0);
      });
    },
  );
  const deadLetters = scrapedGauge(
    {
      name: 'isweep_dead_letters',
      help: 'Dead letters waiting in the sweep-dead queue, read at scrape time',
    },
    async (gauge) => {
      if (!watched) return;
      gauge.set(await watched.dead.count());
    },
  );

  let payoutSource: PayoutSource | undefined;
  const payoutStepSeconds = new Histogram({
    name: 'isweep_payout_step_seconds',
    help: 'Payout step calls (fund, convert, send, refund) by outcome, in seconds',
    labelNames: ['step', 'outcome'] as const,
    buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const payoutsByState = scrapedGauge(
    {
      name: 'isweep_payouts',
      help: 'Payouts per state, read at scrape time',
      labelNames: ['state'] as const,
    },
    async (gauge) => {
      if (!payoutSource) return;
      for (const [state, count] of Object.entries(await payoutSource.stateCounts()))
        gauge.set({ state }, count);
    },
  );
  const payoutMoneyInFlight = scrapedGauge(
    {
      name: 'isweep_payout_money_in_flight',
      help: 'Money reserved by payouts between step 1 and their confirmation or refund, per currency',
      labelNames: ['currency'] as const,
    },
    async (gauge) => {
      if (!payoutSource) return;
      gauge.reset();
      const reserved = await payoutSource.reserved();
      // A gauge is a float: fine for a dashboard, never used for money decisions.
      for (const [currency, amount] of Object.entries(reserved)) gauge.set({ currency }, Number(amount));
    },
  );

  const storageDropped = new Counter({
    name: 'isweep_storage_dropped_total',
    help: 'Entries a storage cap dropped: event-log entries (cap count or bytes), dead-letter bodies (bytes)',
    labelNames: ['store', 'cap'] as const,
    registers: [registry],
  });
  const eventLogBytes = new Gauge({
    name: 'isweep_event_log_bytes',
    help: 'Memory the event log stream takes in Redis (MEMORY USAGE, sampled), at the last cap check',
    registers: [registry],
  });
  let ingestSource: { backlog(): Promise<number> } | undefined;
  const ingestBacklog = scrapedGauge(
    {
      name: 'isweep_ingest_backlog',
      help: 'Notifications acknowledged to Interlace and not yet stored by the ingest consumer (lag + pending)',
    },
    async (gauge) => {
      if (ingestSource) gauge.set(await ingestSource.backlog());
    },
  );
  let reconcileSource: ReconcileSource | undefined;
  const reconcileDiscrepancies = scrapedGauge(
    {
      name: 'isweep_reconcile_discrepancies',
      help: 'Wallet balances the ledger does not explain, per currency, in the latest reconciliation report',
      labelNames: ['currency'] as const,
    },
    async (gauge) => {
      if (!reconcileSource) return;
      const found = await reconcileSource.discrepancies();
      gauge.reset();
      for (const item of found ?? []) gauge.inc({ currency: item.currency });
    },
  );
  const reconcileUnexplained = scrapedGauge(
    {
      name: 'isweep_reconcile_unexplained',
      help: 'Money the ledger does not explain, per currency, in the latest reconciliation report',
      labelNames: ['currency'] as const,
    },
    async (gauge) => {
      if (!reconcileSource) return;
      const found = await reconcileSource.discrepancies();
      gauge.reset();
      // A gauge is a float: fine for a dashboard, never used for money decisions.
      for (const item of found ?? []) gauge.inc({ currency: item.currency }, Number(item.unexplained));
    },
  );

  return {
    registry,
    storageDropped,
    eventLogBytes,
    reconcileDiscrepancies,
    reconcileUnexplained,

    ingestBacklog,

    /** Makes the ingest backlog gauge read this source (the first caller wins). */
    watchIngest(source: { backlog(): Promise<number> }): void {
      ingestSource ??= source;
    },

    /** Makes the reconciliation gauges read this report (the first caller wins). */
    watchReconcile(source: ReconcileSource): void {
      reconcileSource ??= source;
    },
    payoutStepSeconds,
    payoutsByState,
    payoutMoneyInFlight,

    /** Makes the payout gauges read this store (the first caller wins). */
    watchPayouts(source: PayoutSource): void {
      payoutSource ??= source;
    },
    webhookRequests,
    webhookAppendSeconds,
    webhookStoreSeconds,
    ingestProcessed: ingestProcessed as Counter<'outcome'> & {
      inc(labels: { outcome: IngestOutcome }, value?: number): void;
    },
    ingestDelaySeconds,
    sweeps,
    depositToSweptSeconds,
    interlaceCallSeconds,
    tokenRenewals,
    queueJobs,
    deadLetters,

    /** The Interlace client's `observe` hook. */
    observeInterlaceCall(call: CallObservation): void {
      interlaceCallSeconds.observe(
        {
          endpoint: call.endpoint,
          status: call.httpStatus === undefined ? call.outcome : String(call.httpStatus),
        },
        call.durationMs / 1000,
      );
    },

    /** Counts one sweep run; `reason` is reduced to a short code so the label set stays bounded. */
    countSweep(outcome: SweepOutcome, reason = ''): void {
      sweeps.inc({ outcome, reason: reasonCode(reason) });
    },

    /** Makes the scrape-time gauges read these queues (the first caller wins: one reader per process). */
    watchQueues(queues: WatchedQueues, onError?: (error: unknown) => void): void {
      if (watched) return;
      watched = queues;
      onCollectError = onError;
    },

    /** The Prometheus text exposition of every metric. */
    async render(): Promise<{ contentType: string; body: string }> {
      return { contentType: registry.contentType, body: await registry.metrics() };
    },
  };
}

/** `retries-exhausted: http-5xx: …` → `retries-exhausted`; anything odd → `other`. */
export function reasonCode(reason: string): string {
  const code = (reason.split(':')[0] ?? '').trim().toLowerCase();
  if (code === '') return '';
  return /^[a-z0-9_-]{1,40}$/.test(code) ? code : 'other';
}
