import { Redis, type RedisOptions } from 'ioredis';

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
  return new Redis(url, options);
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
