import { createHash } from 'node:crypto';
import {
  CODE_INVALID_AUTH_CODE,
  CODE_INVALID_CLIENT,
  CODE_INVALID_PARAMETER,
  fail,
  ok,
  type Reply,
} from './envelope.js';
import type { Prng } from './prng.js';
import type { ResolvedOptions, TokenInfo, TokenState } from './types.js';

/** A short, stable name for a token, so logs and tests can tell tokens apart without holding them. */
export function tokenFingerprint(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex').slice(0, 12);
}

export type TokenCheck =
  | { ok: true; fingerprint: string }
  | { ok: false; reason: 'missing' | 'unknown' | 'expired' | 'revoked'; fingerprint: string | null };

type TokenRecord = {
  fingerprint: string;
  clientId: string;
  issuedAt: number;
  expiresAt: number;
  revokedAt: number | null;
};

type AuthCode = { clientId: string; expiresAt: number };

/** The OAuth side of the simulator: authorization codes and access tokens (API-NOTES §2). */
export class TokenStore {
  private readonly codes = new Map<string, AuthCode>();
  private readonly tokens = new Map<string, TokenRecord>();

  constructor(
    private readonly options: ResolvedOptions,
    private readonly prng: Prng,
  ) {}

  /** `GET /oauth/authorize?clientId=`: a single-use code that expires after authCodeTtlSeconds. */
  authorize(clientId: unknown): Reply {
    if (typeof clientId !== 'string' || clientId === '') {
      return fail(400, CODE_INVALID_PARAMETER, 'clientId is required');
    }
    if (clientId !== this.options.clientId)
      return this.businessError(CODE_INVALID_CLIENT, 'unknown clientId');
    const now = this.options.now();
    for (const [code, entry] of this.codes) if (entry.expiresAt <= now) this.codes.delete(code);
    const code = this.prng.hex(16);
    this.codes.set(code, { clientId, expiresAt: now + this.options.authCodeTtlSeconds * 1000 });
    return ok({ code, timestamp: Math.floor(now / 1000) });
  }

  /** `POST /oauth/access-token {clientId, code, clientSecret?}`: spends the code, issues a token. */
  accessToken(body: unknown): Reply {
    const input = body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : {};
    const { clientId, code, clientSecret } = input;
    if (typeof clientId !== 'string' || clientId === '' || typeof code !== 'string' || code === '') {
      return fail(400, CODE_INVALID_PARAMETER, 'clientId and code are required strings');
    }
    if (clientSecret !== undefined && typeof clientSecret !== 'string') {
      return fail(400, CODE_INVALID_PARAMETER, 'clientSecret must be a string');
    }
    if (clientId !== this.options.clientId)
      return this.businessError(CODE_INVALID_CLIENT, 'unknown clientId');
    // The legacy flow sent the secret here; when present it has to be the right one.
    if (clientSecret !== undefined && clientSecret !== this.options.clientSecret) {
      return this.businessError(CODE_INVALID_CLIENT, 'clientSecret does not match');
    }
    const now = this.options.now();
    const entry = this.codes.get(code);
    // Single use: a code is gone after the first attempt, whatever its outcome.
    this.codes.delete(code);
    if (entry === undefined || entry.clientId !== clientId || entry.expiresAt <= now) {
      return this.businessError(CODE_INVALID_AUTH_CODE, 'authorization code is invalid, used or expired');
    }
    if (this.options.invalidatePreviousTokens) this.revokeWhere((token) => token.clientId === clientId, now);
    const accessToken = this.prng.hex(32);
    const record: TokenRecord = {
      fingerprint: tokenFingerprint(accessToken),
      clientId,
      issuedAt: now,
      expiresAt: now + this.options.tokenTtlSeconds * 1000,
      revokedAt: null,
    };
    this.tokens.set(accessToken, record);
    return ok({
      accessToken,
      refreshToken: this.prng.hex(32),
      expiresIn: this.options.tokenTtlSeconds,
      timestamp: Math.floor(now / 1000),
    });
  }

  /** Whether an `x-access-token` value may call the API now. */
  check(token: string | undefined): TokenCheck {
    if (token === undefined || token === '') return { ok: false, reason: 'missing', fingerprint: null };
    const record = this.tokens.get(token);
    if (record === undefined) return { ok: false, reason: 'unknown', fingerprint: tokenFingerprint(token) };
    const state = this.stateOf(record);
    if (state === 'active') return { ok: true, fingerprint: record.fingerprint };
    return { ok: false, reason: state, fingerprint: record.fingerprint };
  }

  /** Every issued token ends now, as if its TTL had run out. */
  expireAll(): void {
    const now = this.options.now();
    for (const record of this.tokens.values()) if (record.expiresAt > now) record.expiresAt = now;
  }

  /** Every issued token is revoked now (what a token issued elsewhere does to ours). */
  revokeAll(): void {
    this.revokeWhere(() => true, this.options.now());
  }

  issued(): TokenInfo[] {
    return [...this.tokens.values()].map((record) => ({
      fingerprint: record.fingerprint,
      clientId: record.clientId,
      issuedAt: record.issuedAt,
      expiresAt: record.expiresAt,
      state: this.stateOf(record),
      revokedAt: record.revokedAt,
    }));
  }

  clear(): void {
    this.codes.clear();
    this.tokens.clear();
  }

  private stateOf(record: TokenRecord): TokenState {
    if (record.revokedAt !== null) return 'revoked';
    return record.expiresAt <= this.options.now() ? 'expired' : 'active';
  }

  private revokeWhere(match: (record: TokenRecord) => boolean, now: number): void {
    for (const record of this.tokens.values()) {
      if (record.revokedAt === null && match(record)) record.revokedAt = now;
    }
  }

  private businessError(code: string, message: string): Reply {
    return fail(this.options.businessErrorHttpStatus, code, message);
  }
}
