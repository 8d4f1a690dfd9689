import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { inject } from 'vitest';

/** The Redis chosen by test/helpers/global-setup.ts for this run. */
export function testRedisUrl(): string {
  const url = inject('redisUrl');
  if (typeof url !== 'string' || url === '') {
    throw new Error(
      'redisUrl was not provided: is test/helpers/global-setup.ts listed in vitest globalSetup?',
    );
  }
  return url;
}

/**
 * A key/queue prefix no other test (or parallel worker) uses, e.g. `t-webhook-3f9a1c0b`. Only letters, digits,
 * `_ . -`, so it is also a valid QUEUE_PREFIX and needs no escaping in a SCAN pattern.
 */
export function uniquePrefix(name: string): string {
  const safe =
    name
      .replace(/[^A-Za-z0-9_.-]+/g, '-')
      .replace(/^-+|-+$/g, '')
      .slice(0, 40) || 'test';
  return `t-${safe}-${randomBytes(4).toString('hex')}`;
}

/** A connection to the test Redis with BullMQ's required `maxRetriesPerRequest: null`. Close it in afterAll. */
export function connectTestRedis(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
}

/** Deletes every key under `${prefix}:`; returns how many were deleted. */
export async function deleteKeysWithPrefix(redis: Redis, prefix: string): Promise<number> {
  const pattern = `${escapeGlob(prefix)}:*`;
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
    cursor = next;
    // UNLINK frees memory off the main thread; batches keep each command small.
    for (let i = 0; i < keys.length; i += 500) {
      deleted += await redis.unlink(...keys.slice(i, i + 500));
    }
  } while (cursor !== '0');
  return deleted;
}

function escapeGlob(value: string): string {
  return value.replace(/[\\*?[\]]/g, '\\$&');
}
