/**
 * One chaos soak: its own Redis (AOF on), the simulator in-process, the receiver and 2-3 workers as
 * child processes; seeded deposits delivered out of order and duplicated, while Interlace faults,
 * worker SIGKILLs, a receiver crash and a Redis restart hit the service. Then the verdict.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createKeys } from '../../src/keys.js';
import {
  DEAD_LETTER_QUEUE,
  PAYOUT_QUEUE,
  SWEEP_QUEUE,
  type DeadLetterData,
  type PayoutJobData,
} from '../../src/queues/names.js';
import { loadConfig } from '../../src/config.js';
import {
  createChaosPayout,
  PAYOUT_SETTLED,
  PAYOUT_STEPS,
  payoutStates,
  planPayouts,
  preparePayouts,
  verifyPayouts,
  type PayoutStepName,
  type StepVerdict,
} from './payouts.js';
import { createPrng, deriveSeed, type Prng } from '../../simulator/prng.js';
import { createSimulator, type FaultRates, type FaultStats } from '../../simulator/simulator.js';
import { startRedisServer, type RedisServerHandle } from '../../test/helpers/redis-server.js';
import { freePort } from '../local-redis.js';
import { buildDelivery, buildPlan, type Delivery } from './plan.js';
import { ServiceProcess } from './processes.js';
import { ledgerStates, openJobCounts, TERMINAL_STATES, verify } from './verify.js';
import {
  drainMerchantEvents,
  startChaosMerchant,
  verifyMerchantEvents,
  type MerchantVerdict,
} from './merchant-events.js';
import { MERCHANT_EVENT_QUEUE, type MerchantEventJobData } from '../../src/merchant-events/merchant-event.js';
import { ingestBacklog } from '../../src/webhooks/ingest-log.js';

export type ChaosOptions = {
  deposits: number;
  seed: number;
  /** Upper bound of the whole run (start-up excluded from nothing): a run still unsettled then fails. */
  maxSeconds: number;
  /** Worker processes running at once. */
  workers: number;
  /** Worker SIGKILLs (each followed by a replacement), at seeded moments while deposits arrive. */
  kills: number;
  /** Multiplies the default upstream fault rates (0 = no Interlace faults). */
  faultScale: number;
  /** Concurrent webhook deliveries. */
  deliveryConcurrency: number;
  /** Payouts created while deposits arrive (0 = derived from the deposit count). */
  payouts: number;
  /** Keeps the child logs even when the run passes. */
  keepLogs: boolean;
  /** Progress lines on stderr. */
  verbose: boolean;
  /** SWEEP_LOCK_MS / SWEEP_STALLED_INTERVAL_MS of the workers; the service defaults when absent. */
  lockMs?: number;
  stalledIntervalMs?: number;
};

/** The crash-recovery target: a deposit whose worker was killed is swept by another within this. */
export const DRAIN_TARGET_MS = 35_000;

export const DEFAULT_OPTIONS: ChaosOptions = {
  deposits: 2_000,
  seed: 1,
  maxSeconds: 600,
  workers: 3,
  kills: 0, // 0 = derived from the deposit count, see resolveOptions
  faultScale: 1,
  deliveryConcurrency: 12,
  payouts: 0,
  keepLogs: false,
  verbose: false,
};

export type ChaosReport = {
  ok: boolean;
  line: string;
  seed: number;
  options: ChaosOptions;
  figures: {
    deposits: number;
    sweepable: number;
    dust: number;
    held: number;
    designedToFail: number;
    transfers: number;
    /** Duplicate notifications accepted after the first of the same status + Interlace idempotent replays. */
    duplicatesSuppressed: number;
    duplicateNotifications: number;
    interlaceReplays: number;
    faults: number;
    faultsByKind: Partial<FaultStats>;
    kills: number;
    workerStarts: number;
    receiverRestarts: number;
    redisRestarts: number;
    redisDownMs: number;
    deliveries: number;
    deliveryAttempts: number;
    /** Delivery attempts that got no 200 (503, refused, reset, timeout) and were retried. */
    deliveryRetries: number;
    undelivered: number;
    deadLetters: number;
    openJobs: Record<string, number>;
    /** Transfer calls Interlace received (retries included), and those after a CLOSED answer was sent. */
    transferCalls: number;
    resentAfterConfirmed: number;
    sentAfterSwept: number;
    /** From the last worker kill (or the last delivery, if later) until everything settled. */
    drainAfterLastKillMs: number;
    payouts: number;
    payoutsConfirmed: number;
    payoutsHeld: number;
    payoutsFailed: number;
    /** Per step of the payout chain: calls, commits, payouts that lost or doubled money there. */
    payoutSteps: Record<PayoutStepName, StepVerdict>;
    /** The merchant's signed deposit events (relayed and delivered by the workers being killed). */
    merchantEvents: MerchantVerdict;
    /** Deposits, payout steps and merchant events together. */
    lost: number;
    doubled: number;
  };
  violations: string[];
  timings: { startupMs: number; deliveryMs: number; settleMs: number; verifyMs: number; totalMs: number };
  logDir: string | null;
};

const CLIENT_ID = 'chaos-client';

/** Upstream fault probabilities per Open API call, before `faultScale`. */
export function faultRates(scale: number): FaultRates {
  const s = Math.max(0, Math.min(scale, 4));
  return {
    http5xx: 0.05 * s,
    rateLimit: 0.004 * s,
    timeoutAfterCommit: 0.02 * s,
    resetAfterCommit: 0.02 * s,
    latencySpike: 0.03 * s,
    tokenExpiry: 0.005 * s,
    latencySpikeMs: 400,
    // Longer than INTERLACE_TIMEOUT_MS, so the client gives up on a transfer that did commit.
    timeoutAfterCommitMs: 1_500,
    retryAfterSeconds: 1,
  };
}

export function resolveOptions(partial: Partial<ChaosOptions>): ChaosOptions {
  const options = { ...DEFAULT_OPTIONS, ...partial };
  if (options.kills <= 0) options.kills = Math.max(2, Math.min(8, Math.ceil(options.deposits / 250)));
  if (options.payouts <= 0) options.payouts = Math.max(3, Math.ceil(options.deposits / 50));
  options.workers = Math.max(2, options.workers);
  return options;
}

type Counters = {
  kills: number;
  lastKillAt: number;
  workerStarts: number;
  receiverRestarts: number;
  redisRestarts: number;
  redisDownMs: number;
  deliveryAttempts: number;
  deliveryRetries: number;
  delivered: number;
  undelivered: number;
  /** Per deposit and status, how many deliveries were answered 200. */
  accepted: Map<string, number>;
};

export async function runChaos(partial: Partial<ChaosOptions> = {}): Promise<ChaosReport> {
  const options = resolveOptions(partial);
  const started = Date.now();
  const deadline = started + options.maxSeconds * 1_000;
  const log = (text: string): void => {
    if (options.verbose)
      process.stderr.write(`[chaos +${((Date.now() - started) / 1000).toFixed(1)}s] ${text}\n`);
  };
  const chaosPrng = createPrng(deriveSeed(options.seed, 202));
  const retryPrng = createPrng(deriveSeed(options.seed, 303));
  const counters: Counters = {
    kills: 0,
    lastKillAt: 0,
    workerStarts: 0,
    receiverRestarts: 0,
    redisRestarts: 0,
    redisDownMs: 0,
    deliveryAttempts: 0,
    deliveryRetries: 0,
    delivered: 0,
    undelivered: 0,
    accepted: new Map(),
  };
  const violations: string[] = [];
  const cleanups: (() => Promise<unknown>)[] = [];
  const logDir = mkdtempSync(join(tmpdir(), 'isweep-chaos-'));
  let keepLogs = options.keepLogs;
  const timings = { startupMs: 0, deliveryMs: 0, settleMs: 0, verifyMs: 0, totalMs: 0 };

  try {
    // --- start-up -------------------------------------------------------------------------------
    const redisServer: RedisServerHandle = await startRedisServer({
      appendonly: true,
      args: ['--appendfsync', 'always', '--maxmemory-policy', 'noeviction'],
    });
    cleanups.push(() => redisServer.dispose());
    const prefix = `chaos-${options.seed}-${randomBytes(3).toString('hex')}`;
    const keys = createKeys(prefix);
    // The driver's own connection waits out the Redis restart like a worker does.
    const redis = new Redis(redisServer.url, {
      maxRetriesPerRequest: null,
      retryStrategy: (times) => Math.min(100 * times, 1_000),
    });
    redis.on('error', () => {});
    cleanups.push(async () => redis.disconnect());
    const sweepQueue = new Queue(SWEEP_QUEUE, { connection: redis, prefix });
    const deadQueue = new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, { connection: redis, prefix });
    sweepQueue.on('error', () => {});
    deadQueue.on('error', () => {});
    cleanups.push(() => Promise.allSettled([sweepQueue.close(), deadQueue.close()]));

    // The merchant's backend: a seeded 10% of deliveries refused, so retries happen under the kills too.
    const merchant = await startChaosMerchant(createPrng(deriveSeed(options.seed, 404)), 0.1);
    cleanups.push(() => merchant.close());
    const merchantQueue = new Queue<MerchantEventJobData>(MERCHANT_EVENT_QUEUE, {
      connection: redis,
      prefix,
    });
    merchantQueue.on('error', () => {});
    cleanups.push(() => merchantQueue.close());

    const clientSecret = randomBytes(16).toString('hex');
    const sim = createSimulator({ clientId: CLIENT_ID, clientSecret, seed: options.seed });
    const { url: simUrl } = await sim.listen(0);
    cleanups.push(() => sim.close());

    const port = await freePort();
    const webhookUrl = `http://127.0.0.1:${port}/webhooks/interlace`;
    // Payouts from their own account: the simulator notifies the receiver of each blockchain transfer.
    const payoutSetup = preparePayouts(sim, webhookUrl);
    const env: Record<string, string> = {
      NODE_ENV: 'chaos',
      REDIS_URL: redisServer.url,
      QUEUE_PREFIX: prefix,
      PORT: String(port),
      HOST: '127.0.0.1',
      INTERLACE_BASE_URL: simUrl,
      INTERLACE_CLIENT_ID: CLIENT_ID,
      INTERLACE_CLIENT_SECRET: clientSecret,
      INTERLACE_TIMEOUT_MS: '1000',
      SWEEP_BACKOFF_MS: '50',
      SWEEP_BACKOFF_MAX_MS: '1000',
      SWEEP_ATTEMPTS: '25',
      ...(options.lockMs === undefined ? {} : { SWEEP_LOCK_MS: String(options.lockMs) }),
      ...(options.stalledIntervalMs === undefined
        ? {}
        : { SWEEP_STALLED_INTERVAL_MS: String(options.stalledIntervalMs) }),
      WORKER_CONCURRENCY: '10',
      SHUTDOWN_TIMEOUT_MS: '2000',
      RECONCILE_ENABLED: 'false',
      // The killed receiver's unfinished ingest entries are taken over by the next one after this idle time.
      INGEST_RECLAIM_IDLE_MS: '2000',
      // The soak's deposits go to simulator wallets nobody created through the merchant API: swept.
      UNKNOWN_WALLET_DEPOSITS: 'sweep',
      ...merchant.env,
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      ...payoutSetup.env,
    };
    const payoutQueue = new Queue<PayoutJobData>(PAYOUT_QUEUE, { connection: redis, prefix });
    payoutQueue.on('error', () => {});
    cleanups.push(() => payoutQueue.close());
    const payoutDeps = { config: loadConfig(env), redis, keys, payoutQueue };

    let receiver = new ServiceProcess('receiver', 'receiver-1', env, logDir);
    const workers: ServiceProcess[] = [];
    const startWorker = (): ServiceProcess => {
      counters.workerStarts += 1;
      const worker = new ServiceProcess('worker', `worker-${counters.workerStarts}`, env, logDir);
      workers.push(worker);
      return worker;
    };
    cleanups.push(() => Promise.all([receiver, ...workers].map((p) => p.kill())));
    for (let i = 0; i < options.workers; i += 1) startWorker();
    await Promise.all([receiver.ready, ...workers.map((w) => w.ready)]);

    const plan = buildPlan(sim, { deposits: options.deposits, seed: options.seed });
    timings.startupMs = Date.now() - started;
    log(
      `stack up in ${timings.startupMs} ms; ${plan.deposits.length} deposits, ${plan.deliveries.length} deliveries`,
    );
    sim.faults.setRates(faultRates(options.faultScale));
    const payoutPlan = planPayouts(options.payouts, createPrng(deriveSeed(options.seed, 404)));

    // --- chaos: a receiver crash, a Redis restart and worker kills, at seeded points of the delivery
    // stream; the upstream faults run throughout ------------------------------------------------------
    const total = plan.deliveries.length;
    const receiverRestartAt = Math.floor(total * (0.25 + 0.15 * chaosPrng.next()));
    const redisRestartAt = Math.floor(total * (0.55 + 0.15 * chaosPrng.next()));
    let disruption: Promise<void> = Promise.resolve();
    // Payouts start at seeded points of the delivery stream, so the kills and restarts find them mid-chain.
    const payoutPoints = payoutPlan
      .map(() => Math.floor(total * 0.8 * chaosPrng.next()))
      .sort((a, b) => a - b);
    const payoutsCreated: Promise<void>[] = [];
    const startPayouts = (): void => {
      while (payoutPoints.length > 0 && payoutPoints[0]! <= counters.delivered) {
        payoutPoints.shift();
        const payout = payoutPlan[payoutsCreated.length]!;
        payoutsCreated.push(
          createChaosPayout(payoutDeps, payout, deadline).catch((error: unknown) => {
            violations.push(`payout: ${payout.externalId} could not be created: ${String(error)}`);
          }),
        );
      }
    };
    const onDelivered = (): void => {
      scheduleKills();
      startPayouts();
      if (counters.delivered === receiverRestartAt) {
        disruption = disruption.then(async () => {
          log('receiver: SIGKILL, then a new one on the same port');
          await receiver.kill();
          counters.receiverRestarts += 1;
          receiver = new ServiceProcess('receiver', `receiver-${counters.receiverRestarts + 1}`, env, logDir);
          await receiver.ready;
        });
      }
      if (counters.delivered === redisRestartAt) {
        disruption = disruption.then(async () => {
          const downMs = 300 + chaosPrng.int(1_200);
          log(`redis: stop (SIGTERM), down ${downMs} ms, start from its AOF`);
          const down = Date.now();
          await redisServer.stop();
          await sleep(downMs);
          await redisServer.start();
          counters.redisRestarts += 1;
          counters.redisDownMs += Date.now() - down;
        });
      }
    };

    const killOne = async (candidates: ServiceProcess[], prng: Prng): Promise<void> => {
      const victim = candidates[prng.int(candidates.length)]!;
      log(`worker: SIGKILL ${victim.name}, starting a replacement`);
      await victim.kill();
      counters.lastKillAt = Date.now();
      counters.kills += 1;
      startWorker();
    };
    // Kills land at seeded points spread over the whole delivery stream (not only its start), each on a
    // random ready worker, which a fresh one replaces at once.
    const killPoints = Array.from({ length: options.kills }, () =>
      Math.floor(total * (0.05 + 0.9 * chaosPrng.next())),
    ).sort((a, b) => a - b);
    const scheduleKills = (): void => {
      while (killPoints.length > 0 && killPoints[0]! <= counters.delivered) {
        killPoints.shift();
        disruption = disruption.then(async () => {
          const candidates = workers.filter((w) => w.alive && w.isReady);
          if (candidates.length > 0) await killOne(candidates, chaosPrng);
        });
      }
    };

    // --- deliveries ------------------------------------------------------------------------------
    const deliveryStart = Date.now();
    const queue = [...plan.deliveries];
    const deliverOne = async (delivery: Delivery): Promise<void> => {
      // Built once: retries of one delivery carry the same notification id, as Interlace's do.
      const notification = buildDelivery(sim, delivery);
      // A compressed Interlace retry schedule (10 s … 2 h, 16 times): 100 ms doubling to 3 s, bounded.
      for (let attempt = 1; attempt <= 30; attempt += 1) {
        counters.deliveryAttempts += 1;
        let status: number | null = null;
        try {
          status = (await sim.postNotification(webhookUrl, notification)).status;
        } catch {
          status = null;
        }
        if (status === 200) {
          const key = `${delivery.deposit.id}|${delivery.status}`;
          counters.accepted.set(key, (counters.accepted.get(key) ?? 0) + 1);
          return;
        }
        if (status !== null && status !== 503 && status < 500) {
          violations.push(`delivery: notification for ${delivery.deposit.id} answered ${status}`);
          return;
        }
        counters.deliveryRetries += 1;
        if (Date.now() > deadline) break;
        await sleep(Math.min(100 * 2 ** (attempt - 1), 3_000) * (0.5 + retryPrng.next()));
      }
      counters.undelivered += 1;
      violations.push(`delivery: notification for ${delivery.deposit.id} never got a 200`);
    };
    await Promise.all(
      Array.from({ length: options.deliveryConcurrency }, async () => {
        for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
          await deliverOne(next);
          counters.delivered += 1;
          onDelivered();
        }
      }),
    );
    await disruption;
    await Promise.all(payoutsCreated);
    timings.deliveryMs = Date.now() - deliveryStart;
    log(`all ${total} deliveries answered in ${timings.deliveryMs} ms (${counters.deliveryRetries} retried)`);

    // --- settle ----------------------------------------------------------------------------------
    const settleStart = Date.now();
    // A soak that killed nothing proves nothing: make sure at least one kill lands before settling.
    if (counters.kills === 0) {
      const candidates = workers.filter((w) => w.alive && w.isReady);
      if (candidates.length > 0) await killOne(candidates, chaosPrng);
    }
    const ids = plan.deposits.map((d) => d.id);
    let settled = false;
    let lastLog = 0;
    while (Date.now() < deadline) {
      const states = await ledgerStates(redis, keys, ids);
      const open = states.filter((s) => s === null || !TERMINAL_STATES.has(s)).length;
      const jobs = await openJobCounts(sweepQueue);
      const openJobs = Object.values(jobs).reduce((a, b) => a + b, 0);
      const payoutsOpen = (
        await payoutStates(
          redis,
          keys,
          payoutPlan.map((p) => p.externalId),
        )
      ).filter((state) => state === null || !PAYOUT_SETTLED.has(state)).length;
      // Every acknowledged notification read and finished by the ingest group (none left pending).
      const ingestOpen = (await ingestBacklog(redis, keys.events))?.backlog ?? 0;
      if (open === 0 && openJobs === 0 && payoutsOpen === 0 && ingestOpen === 0) {
        settled = true;
        break;
      }
      if (Date.now() - lastLog > 2_000) {
        lastLog = Date.now();
        log(
          `settling: ${open} deposits not terminal, ${openJobs} jobs open, ${payoutsOpen} payouts open, ${ingestOpen} notifications not ingested, ${sim.transferCount()} transfers`,
        );
      }
      await sleep(250);
    }
    timings.settleMs = Date.now() - settleStart;
    if (!settled) violations.push(`timeout: not settled within --max-seconds ${options.maxSeconds}`);
    // Crash recovery: from the last kill (or the last delivery, when it came later) to settled.
    const drainAfterLastKillMs = Date.now() - Math.max(counters.lastKillAt, settleStart);
    log(`drained ${drainAfterLastKillMs} ms after the last kill`);
    // Reported, not a violation: on a loaded machine it measures the backlog as much as the recovery.
    if (settled && drainAfterLastKillMs > DRAIN_TARGET_MS)
      log(`drain took longer than the ${DRAIN_TARGET_MS} ms crash-recovery target`);
    // Faults off for the read-back: the verdict reads the books, not the API.
    sim.faults.clear();
    const undelivered = await drainMerchantEvents(
      redis,
      keys,
      merchantQueue,
      Math.max(deadline, Date.now() + 15_000),
    );
    if (undelivered !== undefined) violations.push(`merchant events: not all delivered (${undelivered})`);

    // --- verdict ---------------------------------------------------------------------------------
    const verifyStart = Date.now();
    const verdict = await verify({
      sim,
      deposits: plan.deposits,
      redis,
      keys,
      sweepQueue,
      deadQueue,
      excludeWallets: [payoutSetup.walletId],
    });
    violations.push(...verdict.violations);
    const payoutVerdict = await verifyPayouts({
      sim,
      redis,
      keys,
      externalIds: payoutPlan.map((p) => p.externalId),
      violation: (kind, text) => violations.push(`${kind}: ${text}`),
    });
    const finalStates = await ledgerStates(redis, keys, ids);
    const merchantEvents = verifyMerchantEvents(
      merchant,
      new Map(ids.map((id, index) => [id, finalStates[index] ?? null])),
      (text) => violations.push(text),
    );
    const payoutLost = PAYOUT_STEPS.reduce((sum, step) => sum + payoutVerdict.steps[step].lost, 0);
    const payoutDoubled = PAYOUT_STEPS.reduce((sum, step) => sum + payoutVerdict.steps[step].doubled, 0);
    if (counters.redisRestarts !== 1) violations.push('chaos: the Redis restart did not happen');
    if (counters.receiverRestarts !== 1) violations.push('chaos: the receiver restart did not happen');
    timings.verifyMs = Date.now() - verifyStart;

    let duplicateNotifications = 0;
    for (const count of counters.accepted.values()) duplicateNotifications += Math.max(0, count - 1);
    const faultStats = sim.faults.stats();
    const faultsByKind: Partial<FaultStats> = {};
    for (const [kind, count] of Object.entries(faultStats)) {
      if (kind !== 'total' && count > 0) faultsByKind[kind as keyof FaultStats] = count;
    }
    const figures: ChaosReport['figures'] = {
      deposits: plan.deposits.length,
      sweepable: plan.counts.sweep,
      dust: plan.counts.dust,
      held: plan.counts.held,
      designedToFail: plan.counts.fail,
      transfers: verdict.transfers,
      duplicatesSuppressed: duplicateNotifications + verdict.replays,
      duplicateNotifications,
      interlaceReplays: verdict.replays,
      faults: faultStats.total,
      faultsByKind,
      kills: counters.kills,
      workerStarts: counters.workerStarts,
      receiverRestarts: counters.receiverRestarts,
      redisRestarts: counters.redisRestarts,
      redisDownMs: counters.redisDownMs,
      deliveries: total,
      deliveryAttempts: counters.deliveryAttempts,
      deliveryRetries: counters.deliveryRetries,
      undelivered: counters.undelivered,
      deadLetters: verdict.deadLetters,
      openJobs: verdict.openJobs,
      transferCalls: verdict.transferCalls,
      resentAfterConfirmed: verdict.resentAfterConfirmed,
      sentAfterSwept: verdict.sentAfterSwept,
      drainAfterLastKillMs,
      payouts: payoutPlan.length,
      payoutsConfirmed: payoutVerdict.confirmed,
      payoutsHeld: payoutVerdict.held,
      payoutsFailed: payoutVerdict.failed,
      payoutSteps: payoutVerdict.steps,
      merchantEvents,
      lost: verdict.lost + payoutLost + merchantEvents.lost,
      doubled: verdict.doubled + payoutDoubled + merchantEvents.doubled,
    };
    timings.totalMs = Date.now() - started;
    const ok = violations.length === 0;
    if (!ok) keepLogs = true;
    const line =
      `deposits=${figures.deposits} transfers=${figures.transfers} ` +
      `duplicates_suppressed=${figures.duplicatesSuppressed} faults=${figures.faults} kills=${figures.kills} ` +
      `transfer_calls=${figures.transferCalls} drain_after_last_kill_ms=${figures.drainAfterLastKillMs} ` +
      `payouts=${figures.payouts} confirmed=${figures.payoutsConfirmed} ` +
      PAYOUT_STEPS.map(
        (step) =>
          `${step}(lost=${figures.payoutSteps[step].lost} doubled=${figures.payoutSteps[step].doubled})`,
      ).join(' ') +
      ` merchant_events(delivered=${merchantEvents.delivered} lost=${merchantEvents.lost} doubled=${merchantEvents.doubled})` +
      ` lost=${figures.lost} doubled=${figures.doubled}`;
    return {
      ok,
      line,
      seed: options.seed,
      options,
      figures,
      violations,
      timings,
      logDir: keepLogs ? logDir : null,
    };
  } catch (error) {
    keepLogs = true;
    throw error;
  } finally {
    for (const cleanup of cleanups.reverse()) {
      try {
        await cleanup();
      } catch {
        // Best effort: one stuck part must not leave the others running.
      }
    }
    if (!keepLogs) rmSync(logDir, { recursive: true, force: true });
  }
}
