import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
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

function provider(
  issue: () => Promise<IssuedToken>,
  options: { renewalWorstCaseMs?: number; lockTtlMs?: number; pollMs?: number; onRenewed?: () => void } = {},
) {
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

describe('the shared access token: renewing', () => {
  it('renews once for concurrent callers and serves the cached token until its renewal time', async () => {
    let issued = 0;
    const { tokens } = provider(async () => {
      issued += 1;
      return { accessToken: `t-${issued}`, expiresInMs: 3_600_000 };
    });
    expect(await Promise.all([tokens.get(), tokens.get(), tokens.get()])).toEqual(['t-1', 't-1', 't-1']);
    expect(await tokens.get()).toBe('t-1');
    expect(issued).toBe(1);
  });

  it('shares the token through Redis: a second process uses it without renewing', async () => {
    let issued = 0;
    const issue = async () => {
      issued += 1;
      return { accessToken: `shared-${issued}`, expiresInMs: 3_600_000 };
    };
    const first = provider(issue);
    expect(await first.tokens.get()).toBe('shared-1');
    const second = new AccessTokenProvider({
      redis,
      tokenKey: first.tokenKey,
      lockKey: first.lockKey,
      issue,
      renewBeforeMs: 60_000,
      logger: capturingLogger().logger,
    });
    expect(await second.get()).toBe('shared-1');
    expect(issued).toBe(1);
  });

  it('stores the token with its expiry, renews ahead of it, and logs and counts the renewal', async () => {
    let renewed = 0;
    const { tokens, tokenKey, lockKey, lines } = provider(
      async () => ({ accessToken: 'fresh', expiresInMs: 3_600_000 }),
      { onRenewed: () => (renewed += 1) },
    );
    const before = Date.now();
    await tokens.get();
    const after = Date.now();
    const stored = await redis.hgetall(tokenKey);
    expect(stored.accessToken).toBe('fresh');
    expect(Number(stored.expiresAt)).toBeGreaterThanOrEqual(before + 3_600_000);
    expect(Number(stored.expiresAt)).toBeLessThanOrEqual(after + 3_600_000);
    // renewBeforeMs (60 s) ahead of expiry.
    expect(Number(stored.expiresAt) - Number(stored.renewAt)).toBe(60_000);
    const ttl = await redis.pttl(tokenKey);
    expect(ttl).toBeGreaterThan(3_590_000);
    expect(ttl).toBeLessThanOrEqual(3_600_000);
    expect(renewed).toBe(1);
    expect(lines.some((line) => line.includes('Interlace access token renewed'))).toBe(true);
    // The lock is released after the renewal.
    expect(await redis.exists(lockKey)).toBe(0);
  });

  it('caps the renewal lead at half the lifetime of a short-lived token', async () => {
    let issued = 0;
    const { tokens, tokenKey } = provider(async () => {
      issued += 1;
      return { accessToken: `short-${issued}`, expiresInMs: 40_000 };
    });
    await tokens.get();
    const stored = await redis.hgetall(tokenKey);
    // renewBeforeMs is 60 s, more than the token lives: renew at half its life, not at once.
    expect(Number(stored.expiresAt) - Number(stored.renewAt)).toBe(20_000);
    expect(await tokens.get()).toBe('short-1');
    expect(issued).toBe(1);
  });

  it('renews a token whose renewal time has passed', async () => {
    let issued = 0;
    const { tokens, tokenKey } = provider(async () => {
      issued += 1;
      return { accessToken: `next-${issued}`, expiresInMs: 3_600_000 };
    });
    const now = Date.now();
    await redis.hset(tokenKey, { accessToken: 'old', expiresAt: now + 30_000, renewAt: now - 1 });
    expect(await tokens.get()).toBe('next-1');
    expect(await redis.hget(tokenKey, 'accessToken')).toBe('next-1');
  });

  it('ignores a stored token that has expired or lacks a field', async () => {
    let issued = 0;
    const { tokens, tokenKey } = provider(async () => {
      issued += 1;
      return { accessToken: `new-${issued}`, expiresInMs: 3_600_000 };
    });
    const now = Date.now();
    await redis.hset(tokenKey, { accessToken: 'expired', expiresAt: now - 1, renewAt: now - 2 });
    expect(await tokens.get()).toBe('new-1');
    for (const missing of ['accessToken', 'expiresAt', 'renewAt']) {
      const fields: Record<string, string | number> = {
        accessToken: 'partial',
        expiresAt: now + 3_600_000,
        renewAt: now + 3_000_000,
      };
      delete fields[missing];
      await redis.del(tokenKey);
      await redis.hset(tokenKey, fields);
      const fresh = provider(async () => ({ accessToken: `after-${missing}`, expiresInMs: 3_600_000 }));
      await redis.copy(tokenKey, fresh.tokenKey);
      expect(await fresh.tokens.get()).toBe(`after-${missing}`);
    }
  });

  it('tries again after a failed renewal instead of keeping the failure', async () => {
    let calls = 0;
    const { tokens } = provider(async () => {
      calls += 1;
      if (calls === 1) throw new Error('first call fails');
      return { accessToken: 'second', expiresInMs: 3_600_000 };
    });
    await expect(tokens.get()).rejects.toThrow('first call fails');
    expect(await tokens.get()).toBe('second');
  });

  it('falls back to the token it holds itself when Redis lost it and the renewal fails', async () => {
    let calls = 0;
    const { tokens, tokenKey } = provider(async () => {
      calls += 1;
      if (calls === 1) return { accessToken: 'held', expiresInMs: 3_600_000 };
      throw new Error('Interlace is down');
    });
    expect(await tokens.get()).toBe('held');
    // Inside the renewal window, and gone from Redis.
    vi.setSystemTime(Date.now() + 3_550_000);
    try {
      await redis.del(tokenKey);
      expect(await tokens.get()).toBe('held');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the shared access token: another process renewing', () => {
  it('uses the token inside its renewal window while another process holds the lock', async () => {
    let issued = 0;
    // A short lock time bounds the wait should the token not be used (a mutant): fail fast, not hang.
    const { tokens, tokenKey, lockKey } = provider(
      async () => {
        issued += 1;
        return { accessToken: 'mine', expiresInMs: 3_600_000 };
      },
      { lockTtlMs: 200, pollMs: 5 },
    );
    const now = Date.now();
    await redis.hset(tokenKey, { accessToken: 'theirs', expiresAt: now + 30_000, renewAt: now - 1 });
    await redis.set(lockKey, 'another-process', 'PX', 60_000);
    expect(await tokens.get()).toBe('theirs');
    expect(issued).toBe(0);
    expect(await redis.get(lockKey)).toBe('another-process');
  });

  it('waits for the other process to store a token rather than renewing at the same time', async () => {
    let issued = 0;
    const { tokens, tokenKey, lockKey } = provider(
      async () => {
        issued += 1;
        return { accessToken: 'mine', expiresInMs: 3_600_000 };
      },
      { lockTtlMs: 1_000, pollMs: 5 },
    );
    await redis.set(lockKey, 'another-process', 'PX', 60_000);
    const got = tokens.get();
    // The other process finishes its renewal a little later.
    await redis.hset(tokenKey, {
      accessToken: 'theirs',
      expiresAt: Date.now() + 3_600_000,
      renewAt: Date.now() + 3_000_000,
    });
    expect(await got).toBe('theirs');
    expect(issued).toBe(0);
  });

  it('gives up after twice the lock time when the other process never stores one', async () => {
    const { tokens, lockKey } = provider(async () => ({ accessToken: 'mine', expiresInMs: 3_600_000 }), {
      lockTtlMs: 40,
      pollMs: 5,
    });
    await redis.set(lockKey, 'another-process', 'PX', 60_000);
    const started = Date.now();
    await expect(tokens.get()).rejects.toThrow(
      'timed out waiting for another process to renew the Interlace token',
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(80);
  });

  it('holds its lock at least 15 s, or the renewal worst case plus 5 s', async () => {
    let lockTtl = 0;
    const { tokens, lockKey } = provider(async () => {
      lockTtl = await redis.pttl(lockKey);
      return { accessToken: 'a', expiresInMs: 3_600_000 };
    });
    await tokens.get();
    expect(lockTtl).toBeGreaterThan(14_000);
    expect(lockTtl).toBeLessThanOrEqual(15_000);

    const slow = provider(
      async () => {
        lockTtl = await redis.pttl(slow.lockKey);
        return { accessToken: 'a', expiresInMs: 3_600_000 };
      },
      { renewalWorstCaseMs: 20_000 },
    );
    await slow.tokens.get();
    expect(lockTtl).toBeGreaterThan(24_000);
    expect(lockTtl).toBeLessThanOrEqual(25_000);
  });
});

describe('the shared access token: a rejected token', () => {
  it('is dropped here and in Redis, so the next get renews', async () => {
    let issued = 0;
    const { tokens, tokenKey } = provider(async () => {
      issued += 1;
      return { accessToken: `t-${issued}`, expiresInMs: 3_600_000 };
    });
    expect(await tokens.get()).toBe('t-1');
    await tokens.invalidate('t-1');
    expect(await redis.exists(tokenKey)).toBe(0);
    expect(await tokens.get()).toBe('t-2');
  });

  it('never deletes a newer token another process stored meanwhile', async () => {
    let issued = 0;
    const { tokens, tokenKey } = provider(async () => {
      issued += 1;
      return { accessToken: `t-${issued}`, expiresInMs: 3_600_000 };
    });
    expect(await tokens.get()).toBe('t-1');
    await redis.hset(tokenKey, 'accessToken', 'newer');
    await tokens.invalidate('stale');
    expect(await redis.hget(tokenKey, 'accessToken')).toBe('newer');
    // Its own cached token was not the rejected one: it keeps serving it.
    expect(await tokens.get()).toBe('t-1');
    expect(issued).toBe(1);
  });
});

describe('the shared access token: its edges in time', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('renews at its renewal time exactly, not a millisecond later', async () => {
    let issued = 0;
    const { tokens, tokenKey } = provider(async () => {
      issued += 1;
      return { accessToken: `at-${issued}`, expiresInMs: 3_600_000 };
    });
    const now = Date.now();
    vi.setSystemTime(now);
    await redis.hset(tokenKey, { accessToken: 'due', expiresAt: now + 30_000, renewAt: now });
    expect(await tokens.get()).toBe('at-1');
  });

  it('never hands out an expired token while another process renews: it waits, then gives up', async () => {
    const { tokens, tokenKey, lockKey } = provider(
      async () => ({ accessToken: 'mine', expiresInMs: 3_600_000 }),
      { lockTtlMs: 40, pollMs: 5 },
    );
    const now = Date.now();
    await redis.hset(tokenKey, { accessToken: 'expired', expiresAt: now - 1, renewAt: now - 1_000 });
    await redis.set(lockKey, 'another-process', 'PX', 60_000);
    await expect(tokens.get()).rejects.toThrow('timed out waiting for another process');
  });

  it('does not fall back to its own token once that has expired', async () => {
    let calls = 0;
    const { tokens, tokenKey } = provider(async () => {
      calls += 1;
      if (calls === 1) return { accessToken: 'held', expiresInMs: 3_600_000 };
      throw new Error('Interlace is down');
    });
    expect(await tokens.get()).toBe('held');
    const expiresAt = Number(await redis.hget(tokenKey, 'expiresAt'));
    await redis.del(tokenKey);
    vi.setSystemTime(expiresAt);
    await expect(tokens.get()).rejects.toThrow('Interlace is down');
  });

  it('logs the error behind a fallback, and the lifetime of a renewed token', async () => {
    const failing = provider(async () => {
      throw new Error('Interlace is down');
    });
    const now = Date.now();
    await redis.hset(failing.tokenKey, {
      accessToken: 'still-good',
      expiresAt: now + 30_000,
      renewAt: now - 1,
    });
    expect(await failing.tokens.get()).toBe('still-good');
    const warning = failing.lines.find((line) => line.includes('token renewal failed'));
    expect(warning).toContain('Interlace is down');

    const renewing = provider(async () => ({ accessToken: 'new', expiresInMs: 3_600_000 }));
    await renewing.tokens.get();
    const info = renewing.lines.find((line) => line.includes('Interlace access token renewed'));
    expect(JSON.parse(info!)).toMatchObject({ expiresInMs: 3_600_000 });
    expect(renewing.lines.some((line) => line.includes('outlived its lock'))).toBe(false);
  });
});

describe('the shared access token: the lock', () => {
  it('warns when its renewal outlived the lock, and only then', async () => {
    const { tokens, lockKey, lines } = provider(async () => {
      await redis.set(lockKey, 'another-process', 'PX', 60_000);
      return { accessToken: 'mine', expiresInMs: 3_600_000 };
    });
    expect(await tokens.get()).toBe('mine');
    expect(
      lines.some((line) =>
        line.includes('token renewal outlived its lock: the new token is used here, not shared'),
      ),
    ).toBe(true);
  });

  it('re-reads the token under the lock: one another process stored meanwhile is used, not renewed', async () => {
    let issued = 0;
    const tokenKey = `${prefix}:token:raced`;
    const lockKey = `${prefix}:lock:raced`;
    // Between this process's first read and its lock, another process stores a fresh token.
    const racing = new Proxy(redis, {
      get(target, property) {
        if (property === 'set') {
          return async (...args: Parameters<Redis['set']>) => {
            await target.hset(tokenKey, {
              accessToken: 'theirs',
              expiresAt: Date.now() + 3_600_000,
              renewAt: Date.now() + 3_000_000,
            });
            return (target.set as (...values: unknown[]) => Promise<unknown>)(...args);
          };
        }
        const value: unknown = Reflect.get(target, property, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const tokens = new AccessTokenProvider({
      redis: racing,
      tokenKey,
      lockKey,
      issue: async () => {
        issued += 1;
        return { accessToken: 'mine', expiresInMs: 3_600_000 };
      },
      renewBeforeMs: 60_000,
      logger: capturingLogger().logger,
    });
    expect(await tokens.get()).toBe('theirs');
    expect(issued).toBe(0);
  });

  it('forgets a rejected token even when it holds none itself', async () => {
    const { tokens, tokenKey } = provider(async () => ({ accessToken: 'x', expiresInMs: 3_600_000 }));
    await redis.hset(tokenKey, { accessToken: 'rejected', expiresAt: Date.now() + 60_000, renewAt: 0 });
    await tokens.invalidate('rejected');
    expect(await redis.exists(tokenKey)).toBe(0);
  });
});
