import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { parseRedisUrl } from './redis-url.js';

export type RedisRole = 'producer' | 'worker';

/**
 * Opens a Redis connection for one role (BullMQ's advice, STYLE §4):
 * - `producer` (the webhook receiver) fails fast: no offline queue, one retry, a command timeout, so a
 *   webhook gets a 503 within the Interlace deadline instead of hanging while Redis is away;
 * - `worker` waits out an outage (`maxRetriesPerRequest: null`), as BullMQ workers require.
 * Both reconnect forever, so the process resumes by itself when Redis is back.
 */
export function createRedis(url: string, role: RedisRole, name = `interlace-sweep:${role}`): Redis {
  const common: RedisOptions = {
    connectionName: name,
    lazyConnect: false,
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  };
  const options: RedisOptions =
    role === 'producer'
      ? {
          ...common,
          enableOfflineQueue: false,
          maxRetriesPerRequest: 1,
          connectTimeout: 2_000,
          commandTimeout: 2_000,
        }
      : { ...common, maxRetriesPerRequest: null, enableOfflineQueue: true, connectTimeout: 10_000 };
  const target = parseRedisUrl(url);
  switch (target.kind) {
    case 'standalone':
      return new Redis(url, options);
    case 'sentinel':
      return new Redis({
        ...options,
        sentinels: target.sentinels,
        name: target.name,
        db: target.db,
        ...(target.username ? { username: target.username } : {}),
        ...(target.password ? { password: target.password, sentinelPassword: target.password } : {}),
        ...(target.tls ? { tls: {}, enableTLSForSentinelMode: true } : {}),
      });
    case 'cluster': {
      const cluster = new Cluster(target.nodes, {
        // The cluster client has its own offline queue; the per-node options carry the role's limits.
        enableOfflineQueue: options.enableOfflineQueue ?? true,
        clusterRetryStrategy: (times) => Math.min(100 * times, 2_000),
        redisOptions: {
          ...options,
          ...(target.username ? { username: target.username } : {}),
          ...(target.password ? { password: target.password } : {}),
          ...(target.tls ? { tls: {} } : {}),
        },
      });
      // ioredis's Cluster speaks the same command API as Redis (the subset this service uses, with keys
      // that share one hash slot thanks to the `{…}` QUEUE_PREFIX); BullMQ recognises it as a cluster.
      return cluster as unknown as Redis;
    }
  }
}

/** Resolves once the connection is ready (or rejects after `timeoutMs`), so boot fails clearly. */
export async function waitForRedis(redis: Redis, timeoutMs = 10_000): Promise<void> {
  if (redis.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`Redis did not become ready within ${timeoutMs} ms (status: ${redis.status})`));
    }, timeoutMs);
    const onReady = () => {
      cleanup();
      resolve();
    };
    const cleanup = () => {
      clearTimeout(timer);
      redis.off('ready', onReady);
    };
    redis.on('ready', onReady);
  });
}

/** Closes a connection politely, falling back to a hard disconnect when Redis does not answer. */
export async function closeRedis(redis: Redis): Promise<void> {
  if (redis.status === 'end') return;
  try {
    await Promise.race([
      redis.quit(),
      new Promise((_, reject) => setTimeout(() => reject(new Error('quit timeout')), 1_000).unref()),
    ]);
  } catch {
    redis.disconnect();
  }
}
