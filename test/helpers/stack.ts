import { Job, Queue, QueueEvents } from 'bullmq';
import { createRedis } from '../../src/redis.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';
import { startApi, type Api } from '../../src/server.js';
import { startWorkers, type Workers } from '../../workers/start-workers.js';
import { createSimulator } from '../../simulator/simulator.js';
import type { SimulatorOptions } from '../../simulator/types.js';
import type { Config } from '../../src/config.js';
import { createKeys, type Keys } from '../../src/keys.js';
import { DEAD_LETTER_QUEUE, SWEEP_QUEUE, sweepJobId, type DeadLetterData } from '../../src/queues/names.js';
import type { DepositRecord } from '../../src/deposits/deposit-state.js';
import { deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from './redis.js';
import { capturingLogger, testEnv, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from './config.js';
import { loadConfig } from '../../src/config.js';

export type Stack = Awaited<ReturnType<typeof startStack>>;

/**
 * The whole system on loopback: the simulator, a receiver and a worker pointed at it, a test Redis
 * under a unique prefix, and one account with one CryptoConnect wallet.
 */
export async function startStack(
  name: string,
  options: {
    env?: Record<string, string>;
    simulator?: Partial<SimulatorOptions>;
    workers?: boolean;
    redisUrl?: string;
    /** Wrap the prefix in a hash tag, as a Redis Cluster requires. */
    hashTag?: boolean;
  } = {},
) {
  const sim = createSimulator({
    clientId: TEST_CLIENT_ID,
    clientSecret: TEST_CLIENT_SECRET,
    ...options.simulator,
  });
  const { url: simUrl } = await sim.listen(0);
  const prefix = options.hashTag ? `{${uniquePrefix(name)}}` : uniquePrefix(name);
  const redisUrl = options.redisUrl ?? testRedisUrl();
  const env = testEnv({
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    INTERLACE_BASE_URL: simUrl,
    INTERLACE_TIMEOUT_MS: '1000',
    SWEEP_MIN_AMOUNT: '1',
    ...options.env,
  });
  const config: Config = loadConfig(env);
  const log = capturingLogger();
  const api: Api = await startApi(config, log.logger);
  let workers: Workers | undefined =
    options.workers === false ? undefined : await startWorkers(config, log.logger);
  const redis = createRedis(redisUrl, 'worker', 'test-stack');
  const sweepQueue = new Queue(SWEEP_QUEUE, { connection: redis, prefix });
  const deadQueue = new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, { connection: redis, prefix });
  const queueEvents = new QueueEvents(SWEEP_QUEUE, {
    connection: createRedis(redisUrl, 'worker', 'test-events'),
    prefix,
  });
  await queueEvents.waitUntilReady();
  const account = sim.createAccount();
  const wallet = sim.createWallet(account.accountId);
  const keys: Keys = createKeys(prefix);
  const webhookUrl = `${api.url}/webhooks/interlace`;
  // The receiver answers once a notification is appended; its consumer stores it right after. A test
  // delivery resolves once that is done too, so what a test reads next is what the delivery did.
  sim.afterDelivery = async (url) => {
    if (url.startsWith(api.url)) await api.ingest.caughtUp();
  };

  return {
    sim,
    api,
    get workers() {
      return workers;
    },
    config,
    env,
    prefix,
    keys,
    redis,
    sweepQueue,
    deadQueue,
    queueEvents,
    account,
    wallet,
    webhookUrl,
    logLines: log.lines,
    logger: log.logger,

    /** Credits a deposit in the simulator (CLOSED credits the wallet) and returns its id. */
    deposit(amount: string, currency = 'USDC', status: 'CLOSED' | 'PENDING' | 'ON_HOLD' | 'FAIL' = 'CLOSED') {
      return sim.creditDeposit({ walletId: wallet.id, currency, amount, status }).id;
    },

    /**
     * The next `times` transfer calls are answered with an Interlace business error: by default 010021
     * (a permanent failure, so a dead letter), or 100100001 (insufficient balance, retried).
     */
    failTransfers(code: '010021' | '100100001' = '010021', times = 1) {
      const message = code === '010021' ? 'account balance does not exist' : 'insufficient balance';
      sim.faults.enqueue('transfer', { kind: 'business-error', code, message }, times);
    },

    /** Interlace delivers the deposit's notification (its current status unless given) to the receiver. */
    notify(depositId: string, status?: 'CLOSED' | 'PENDING' | 'ON_HOLD' | 'FAIL', notificationId?: string) {
      return sim.deliverNotification(webhookUrl, depositId, {
        ...(status ? { status } : {}),
        ...(notificationId ? { notificationId } : {}),
      });
    },

    /**
     * Interlace delivers a signed notification the receiver must refuse as invalid (amount "1e3"), so
     * it is dead-lettered; `extra` adds fields to its resource. Answers the deposit id it names.
     */
    async notifyInvalid(extra: Record<string, unknown> = {}) {
      const depositId = `dep-invalid-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
      const resource = {
        id: depositId,
        accountId: account.accountId,
        walletId: wallet.id,
        direction: 'IN',
        currency: 'USDC',
        amount: '1e3',
        status: 'CLOSED',
        ...extra,
      };
      const notification = sim.buildRawNotification('CRYPTO_CONNECT_TRANSFER.UPDATED', resource);
      const { status } = await sim.postNotification(webhookUrl, notification);
      return { depositId, status };
    },

    /** Waits (on BullMQ events) until the deposit's sweep job is completed or finally failed. */
    async settled(depositId: string, timeoutMs = 20_000) {
      const job = await Job.fromId(sweepQueue, sweepJobId(depositId));
      if (!job) throw new Error(`no sweep job for deposit ${depositId}`);
      try {
        return {
          status: 'completed' as const,
          result: (await job.waitUntilFinished(queueEvents, timeoutMs)) as unknown,
        };
      } catch (error) {
        return { status: 'failed' as const, reason: (error as Error).message };
      }
    },

    async record(depositId: string): Promise<DepositRecord> {
      return (await redis.hgetall(keys.deposit(depositId))) as unknown as DepositRecord;
    },

    /** The simulator's ledger entries for this deposit (by its deterministic clientTransactionId). */
    transfersFor(depositId: string) {
      const id = sweepTransactionId(depositId);
      return sim.transfers().filter((transfer) => transfer.clientTransactionId === id);
    },

    /**
     * The transfer calls the simulator received for this deposit: how many, how many were answered
     * CLOSED, and any that came after a CLOSED answer (a double send, unless a worker died in between).
     */
    callsFor(depositId: string) {
      return sim.transferCalls(sweepTransactionId(depositId));
    },

    /** Every transfer call the simulator received for this deposit, answered or not, in order. */
    transferCallsFor(depositId: string) {
      const id = sweepTransactionId(depositId);
      return sim
        .requests()
        .filter(
          (r) =>
            r.endpoint === 'transfer' &&
            (r.body as { clientTransactionId?: string })?.clientTransactionId === id,
        );
    },

    /** Restarts the workers, with some settings changed when `overrides` are given (a redeploy). */
    async restartWorkers(overrides?: Record<string, string>) {
      await workers?.close();
      workers = await startWorkers(overrides ? loadConfig({ ...env, ...overrides }) : config, log.logger);
      return workers;
    },

    async close() {
      await workers?.close();
      await api.close();
      await queueEvents.close();
      await sweepQueue.close();
      await deadQueue.close();
      await sim.close();
      // A cluster is thrown away whole by its test; SCAN on one node would not see every key anyway.
      if (!options.hashTag) await deleteKeysWithPrefix(redis, prefix);
      await redis.quit();
    },
  };
}

/**
 * Delivers a deposit's notification without the stack's wait for its ingest consumer: for tests that
 * have stopped the consumer, or that look at what is acknowledged and not stored yet.
 */
export async function deliverUnawaited(stack: Stack, depositId: string) {
  const wait = stack.sim.afterDelivery;
  stack.sim.afterDelivery = undefined;
  try {
    return await stack.notify(depositId);
  } finally {
    stack.sim.afterDelivery = wait;
  }
}
