import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';
import { defineScript } from '../redis-script.js';

export type IssuedToken = { accessToken: string; expiresInMs: number };

export type AccessTokenOptions = {
  redis: Redis;
  tokenKey: string;
  lockKey: string;
  /** Performs the OAuth exchange (API-NOTES §2). */
  issue: () => Promise<IssuedToken>;
  renewBeforeMs: number;
  logger: Logger;
  /** Called after each successful renewal (metrics). */
  onRenewed?: () => void;
  /**
   * The longest one renewal can take (both OAuth calls at their deadline). The lock lives longer than
   * that, so it never expires under a renewal still running and a second process never renews at once.
   */
  renewalWorstCaseMs?: number;
  lockTtlMs?: number;
  pollMs?: number;
};

// Deletes the shared token only if it is still the one that was rejected, so a process holding a stale
// token cannot throw away the fresh one another process just stored.
export const DELETE_TOKEN_IF_SAME = defineScript({
  name: 'tokenDeleteIfSame',
  keys: ['token'],
  args: ['accessToken'],
  lua: `if redis.call('HGET', K.token, 'accessToken') == A.accessToken then return redis.call('DEL', K.token) end return 0`,
});

export const RELEASE_TOKEN_LOCK = defineScript({
  name: 'tokenReleaseLock',
  keys: ['lock'],
  args: ['owner'],
  lua: `if redis.call('GET', K.lock) == A.owner then return redis.call('DEL', K.lock) end return 0`,
});

// The renewer writes only while it still holds the lock: a renewal that outlived its lock (a stall)
// must not overwrite the token a later renewer stored.
export const WRITE_TOKEN_IF_LOCKED = defineScript({
  name: 'tokenWriteIfLocked',
  keys: ['token', 'lock'],
  args: ['owner', 'accessToken', 'expiresAt', 'renewAt', 'ttlMs'],
  lua: `
if redis.call('GET', K.lock) ~= A.owner then return 0 end
redis.call('HSET', K.token, 'accessToken', A.accessToken, 'expiresAt', A.expiresAt, 'renewAt', A.renewAt)
redis.call('PEXPIRE', K.token, A.ttlMs)
return 1
`,
});

const MIN_LOCK_TTL_MS = 15_000;

type Cached = { accessToken: string; expiresAt: number; renewAt: number };

/**
 * The access token shared by every process through Redis (API-NOTES §2: a new token may revoke the
 * old one, so exactly one process renews at a time, under a lock, ahead of expiry).
 */
export class AccessTokenProvider {
  private cached: Cached | undefined;
  private inflight: Promise<string> | undefined;
  private readonly owner = randomUUID();
  private readonly lockTtlMs: number;
  private readonly pollMs: number;

  constructor(private readonly options: AccessTokenOptions) {
    this.lockTtlMs =
      options.lockTtlMs ?? Math.max(MIN_LOCK_TTL_MS, (options.renewalWorstCaseMs ?? 0) + 5_000);
    this.pollMs = options.pollMs ?? 50;
  }

  /** A token that is valid now; renews it when it is missing or inside the renewal window. */
  async get(): Promise<string> {
    if (this.cached && this.isFresh(this.cached)) return this.cached.accessToken;
    this.inflight ??= this.load().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  /** Drops a token Interlace rejected (HTTP 401 / 401003), here and in Redis, so the next get() renews. */
  async invalidate(rejected: string): Promise<void> {
    if (this.cached?.accessToken === rejected) this.cached = undefined;
    await DELETE_TOKEN_IF_SAME(this.options.redis, {
      keys: { token: this.options.tokenKey },
      args: { accessToken: rejected },
    });
  }

  private isFresh(token: Cached): boolean {
    return Date.now() < token.renewAt;
  }

  private async readShared(): Promise<Cached | undefined> {
    const [accessToken, expiresAt, renewAt] = await this.options.redis.hmget(
      this.options.tokenKey,
      'accessToken',
      'expiresAt',
      'renewAt',
    );
    if (!accessToken || !expiresAt || !renewAt) return undefined;
    const token = { accessToken, expiresAt: Number(expiresAt), renewAt: Number(renewAt) };
    return token.expiresAt > Date.now() ? token : undefined;
  }

  private async load(): Promise<string> {
    const deadline = Date.now() + this.lockTtlMs * 2;
    for (;;) {
      const shared = await this.readShared();
      if (shared && this.isFresh(shared)) {
        this.cached = shared;
        return shared.accessToken;
      }
      const { redis, lockKey } = this.options;
      const locked = await redis.set(lockKey, this.owner, 'PX', this.lockTtlMs, 'NX');
      if (locked === 'OK') {
        try {
          return await this.renew();
        } catch (error) {
          // Interlace refused or timed out: a token that has not expired yet still works meanwhile.
          const fallback = shared ?? this.cached;
          if (fallback && fallback.expiresAt > Date.now()) {
            this.options.logger.warn({ err: error }, 'token renewal failed; using the still-valid token');
            this.cached = fallback;
            return fallback.accessToken;
          }
          throw error;
        } finally {
          await RELEASE_TOKEN_LOCK(redis, { keys: { lock: lockKey }, args: { owner: this.owner } });
        }
      }
      // Another process is renewing: a token that is merely inside the renewal window is still good.
      if (shared) {
        this.cached = shared;
        return shared.accessToken;
      }
      if (Date.now() > deadline)
        throw new Error('timed out waiting for another process to renew the Interlace token');
      await delay(this.pollMs);
    }
  }

  private async renew(): Promise<string> {
    const fresh = await this.readShared();
    if (fresh && this.isFresh(fresh)) {
      this.cached = fresh;
      return fresh.accessToken;
    }
    const issued = await this.options.issue();
    const now = Date.now();
    // Renew ahead of expiry, but never so early that a short-lived token is renewed on every call.
    const lead = Math.min(this.options.renewBeforeMs, issued.expiresInMs / 2);
    const token = {
      accessToken: issued.accessToken,
      expiresAt: now + issued.expiresInMs,
      renewAt: now + issued.expiresInMs - lead,
    };
    const written = await WRITE_TOKEN_IF_LOCKED(this.options.redis, {
      keys: { token: this.options.tokenKey, lock: this.options.lockKey },
      args: {
        owner: this.owner,
        accessToken: token.accessToken,
        expiresAt: String(token.expiresAt),
        renewAt: String(token.renewAt),
        ttlMs: Math.max(1, issued.expiresInMs),
      },
    });
    if (written !== 1) {
      this.options.logger.warn('token renewal outlived its lock: the new token is used here, not shared');
    }
    this.cached = token;
    this.options.onRenewed?.();
    this.options.logger.info({ expiresInMs: issued.expiresInMs }, 'Interlace access token renewed');
    return token.accessToken;
  }
}
