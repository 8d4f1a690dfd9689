import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { AccessTokenProvider, type IssuedToken } from '../../src/interlace/access-token.js';
import { capturingLogger } from '../helpers/config.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

let redis: Redis;
const prefix = uniquePrefix('access-token');
let n = 0;

beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

function provider(issue: () => Promise<IssuedToken>, options: { renewalWorstCaseMs?: number } = {}) {
  n += 1;
  const log = capturingLogger();
  const tokenKey = `${prefix}:token:${n}`;
  const lockKey = `${prefix}:lock:${n}`;
  return {
    tokenKey,
    lockKey,
    lines: log.lines,
    tokens: new AccessTokenProvider({
      redis,
      tokenKey,
      lockKey,
      issue,
      renewBeforeMs: 60_000,
      logger: log.logger,
      ...options,
    }),
  };
}

describe('the shared access token', () => {
  it('keeps its renewal lock longer than the renewal can take', async () => {
    let lockTtl = 0;
    const { tokens, lockKey } = provider(
      async () => {
        lockTtl = await redis.pttl(lockKey);
        return { accessToken: 'a', expiresInMs: 3_600_000 };
      },
      { renewalWorstCaseMs: 40_000 },
    );
    await tokens.get();
    expect(lockTtl).toBeGreaterThan(40_000);
  });

  it('falls back to the still-valid token when a renewal fails', async () => {
    const { tokens, tokenKey, lines } = provider(async () => {
      throw new Error('Interlace is down');
    });
    // Inside the renewal window (renewAt passed) but not expired.
    const now = Date.now();
    await redis.hset(tokenKey, { accessToken: 'still-good', expiresAt: now + 30_000, renewAt: now - 1 });

    expect(await tokens.get()).toBe('still-good');
    expect(lines.some((line) => line.includes('token renewal failed; using the still-valid token'))).toBe(
      true,
    );
  });

  it('fails when the renewal fails and no valid token is left', async () => {
    const { tokens } = provider(async () => {
      throw new Error('Interlace is down');
    });
    await expect(tokens.get()).rejects.toThrow('Interlace is down');
  });

  it('does not overwrite the shared token when its renewal outlived the lock', async () => {
    const { tokens, tokenKey, lockKey } = provider(async () => {
      // Meanwhile the lock lapsed and another process renewed and stored its token.
      await redis.set(lockKey, 'another-process', 'PX', 60_000);
      await redis.hset(tokenKey, {
        accessToken: 'theirs',
        expiresAt: Date.now() + 3_600_000,
        renewAt: Date.now() + 3_000_000,
      });
      return { accessToken: 'mine', expiresInMs: 3_600_000 };
    });

    expect(await tokens.get()).toBe('mine');
    expect(await redis.hget(tokenKey, 'accessToken')).toBe('theirs');
    // Its lock was not released by us either.
    expect(await redis.get(lockKey)).toBe('another-process');
  });
});
