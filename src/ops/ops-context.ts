import { Writable } from 'node:stream';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { createKeys, type Keys } from '../keys.js';
import { createLogger } from '../logger.js';
import { closeRedis, createRedis, waitForRedis } from '../redis.js';
import { createDepositStore, type DepositStore } from '../deposits/deposit-store.js';
import { closeQueues, createQueues, type Queues } from '../queues/create-queues.js';
import type { ReceiverDeps } from '../webhooks/accept-notification.js';
import { OpsError } from './ops-error.js';

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
  config: Config,
  options: { operator: string; stderr: { write(text: string): unknown } },
): Promise<OpsContext> {
  const redis = createRedis(config.redisUrl, 'producer', 'interlace-sweep:ops');
  // Connection errors surface through waitForRedis; the event itself must not crash the process.
  redis.on('error', () => undefined);
  try {
    await waitForRedis(redis, 5_000);
  } catch {
    redis.disconnect();
    throw new OpsError(`Redis is not reachable at ${redactUrl(config.redisUrl)}`);
  }
  const keys = createKeys(config.queuePrefix);
  const deposits = createDepositStore(redis, keys, { retentionMs: config.ledgerRetentionMs });
  const queues = createQueues(redis, config);
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

function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
