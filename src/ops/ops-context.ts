import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { createKeys, type Keys } from '../keys.js';
import { createLogger } from '../logger.js';
import { closeRedis, createRedis, waitForRedis } from '../redis.js';
import { createDepositStore, type DepositStore } from '../deposits/deposit-store.js';
import { closeQueues, createQueues, type Queues } from '../queues/create-queues.js';
import { DEAD_LETTER_QUEUE, SWEEP_QUEUE } from '../queues/names.js';
import type { ReceiverDeps } from '../webhooks/accept-notification.js';
import { OpsError } from './ops-error.js';
import { readServicePolicy, withServicePolicy, type ServicePolicy } from '../policy/service-policy.js';

/** Everything an operator command works with; `operator` is who gets named in the audit stream. */
export type OpsDeps = {
  config: Config;
  redis: Redis;
  keys: Keys;
  deposits: DepositStore;
  queues: Queues;
  receiver: ReceiverDeps;
  operator: string;
  now: () => number;
};

export type OpsContext = OpsDeps & { close(): Promise<void> };

/** Connects to the service's Redis (fail fast: an operator wants an answer, not a hang). */
export async function openOps(
  shellConfig: Config,
  options: { operator: string; stderr: { write(text: string): unknown } },
): Promise<OpsContext> {
  const redis = createRedis(shellConfig.redisUrl, 'producer', 'interlace-sweep:ops');
  // Connection errors surface through waitForRedis; the event itself must not crash the process.
  redis.on('error', () => undefined);
  try {
    await waitForRedis(redis, 5_000);
  } catch {
    redis.disconnect();
    throw new OpsError(`Redis is not reachable at ${redactUrl(shellConfig.redisUrl)}`);
  }
  const keys = createKeys(shellConfig.queuePrefix);
  let config: Config;
  let policy: ServicePolicy;
  try {
    await assertServiceData(redis, keys);
    // The service's rules, never the operator's shell: a command applies what the service applies.
    policy = await servicePolicy(redis, keys);
    config = withServicePolicy(shellConfig, policy);
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  const deposits = createDepositStore(redis, keys, {
    retentionMs: config.ledgerRetentionMs,
    // As the service writes them: an operator's replay that changes a deposit tells the merchant too,
    // whether or not the operator's shell has MERCHANT_WEBHOOK_URL.
    merchantEvents: policy.merchantEvents,
  });
  const queues = createQueues(redis, config, { skipMetasUpdate: true });
  for (const queue of [queues.sweep, queues.dead]) queue.on('error', () => undefined);
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      options.stderr.write(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger({ level: 'warn', name: 'interlace-sweep-ops' }, sink);
  return {
    config,
    redis,
    keys,
    deposits,
    queues,
    receiver: { config, logger, redis, keys, deposits, queues },
    operator: options.operator,
    now: () => Date.now(),
    async close() {
      await closeQueues(queues);
      await closeRedis(redis);
    },
  };
}

/**
 * The policy the service published at boot (currencies, minimum, maximum, mode). None means the
 * service never started under this QUEUE_PREFIX with this version, or the prefix is mistyped: refused,
 * rather than applying the operator's shell settings.
 */
async function servicePolicy(redis: Redis, keys: Keys): Promise<ServicePolicy> {
  let policy: ServicePolicy | undefined;
  try {
    policy = await readServicePolicy(redis, keys);
  } catch (error) {
    throw new OpsError((error as Error).message);
  }
  if (policy !== undefined) return policy;
  throw new OpsError(
    `no service policy under QUEUE_PREFIX "${keys.prefix}" (the service publishes it when it starts): ` +
      'check QUEUE_PREFIX against the service, or restart the service',
  );
}

/**
 * Refuses a QUEUE_PREFIX under which the service never ran: a typo would otherwise read as "no
 * deposits" with exit 0, or make a mutating command write under a prefix no worker reads. The receiver
 * and the workers write the sweep queue's meta key when they start, and the ledger's keys follow.
 */
async function assertServiceData(redis: Redis, keys: Keys): Promise<void> {
  const markers = [
    `${keys.prefix}:${SWEEP_QUEUE}:meta`,
    `${keys.prefix}:${DEAD_LETTER_QUEUE}:meta`,
    keys.events,
    keys.legacyEvents,
    keys.depositsByTime,
  ];
  if ((await redis.exists(...markers)) > 0) return;
  throw new OpsError(
    `no interlace-sweep data under QUEUE_PREFIX "${keys.prefix}" in this Redis: ` +
      'check QUEUE_PREFIX (and REDIS_URL) against the service',
  );
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
