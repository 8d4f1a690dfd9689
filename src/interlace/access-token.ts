import { randomUUID } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

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
  lockTtlMs?: number;
  pollMs?: number;
};

// Deletes the shared token only if it is still the one that was rejected, so a process holding a stale
// token cannot throw away the fresh one another process just stored.
const DELETE_IF_SAME = `if redis.call('HGET', KEYS[1], 'accessToken') == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

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
    this.lockTtlMs = options.lockTtlMs ?? 15_000;
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
    await this.options.redis.eval(DELETE_IF_SAME, 1, this.options.tokenKey, rejected);
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
        } finally {
          await redis.eval(RELEASE_LOCK, 1, lockKey, this.owner);
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
    await this.options.redis
      .multi()
      .hset(
        this.options.tokenKey,
        'accessToken',
        token.accessToken,
        'expiresAt',
        String(token.expiresAt),
        'renewAt',
        String(token.renewAt),
      )
      .pexpire(this.options.tokenKey, Math.max(1, issued.expiresInMs))
      .exec();
    this.cached = token;
    this.options.onRenewed?.();
    this.options.logger.info({ expiresInMs: issued.expiresInMs }, 'Interlace access token renewed');
    return token.accessToken;
  }
}
