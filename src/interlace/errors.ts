import { CODE_INSUFFICIENT_BALANCE, CODE_TOKEN_INVALID } from './types.js';

/** How the sweep reacts: retry with the same ids, dead-letter, or renew the token once and retry. */
export type ErrorCategory = 'transient' | 'permanent' | 'authentication';

export type ErrorReason =
  | 'network'
  | 'timeout'
  | 'http-5xx'
  | 'rate-limited'
  | 'insufficient-balance'
  | 'token-invalid'
  | 'token-request-failed'
  | 'business-error'
  | 'http-4xx'
  | 'bad-response'
  | 'no-infinity-wallet'
  | 'transfer-failed'
  | 'transfer-unconfirmed';

/**
 * A failed Interlace call, classified once, where the response is read. It carries no request
 * headers or bodies, so logging it can never leak the access token or a secret.
 */
export class InterlaceError extends Error {
  readonly category: ErrorCategory;
  readonly reason: ErrorReason;
  readonly endpoint: string;
  readonly httpStatus: number | undefined;
  readonly code: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(init: {
    category: ErrorCategory;
    reason: ErrorReason;
    endpoint: string;
    message: string;
    httpStatus?: number;
    code?: string;
    retryAfterMs?: number;
  }) {
    super(`${init.endpoint}: ${init.message}`);
    this.name = 'InterlaceError';
    this.category = init.category;
    this.reason = init.reason;
    this.endpoint = init.endpoint;
    this.httpStatus = init.httpStatus;
    this.code = init.code;
    this.retryAfterMs = init.retryAfterMs;
  }
}

/** Any failure as an InterlaceError: one that is not (a bug, a Redis error mid-call) counts as transient. */
export function asInterlaceError(error: unknown): InterlaceError {
  if (error instanceof InterlaceError) return error;
  return new InterlaceError({
    category: 'transient',
    reason: 'network',
    endpoint: 'internal',
    message: error instanceof Error ? error.message : String(error),
  });
}

export function isSuccessCode(code: unknown): boolean {
  return code === '000000' || code === 0 || code === '0';
}

const TIMEOUT_CODES = new Set(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT']);

/** Classifies a request that got no HTTP answer: always transient (the ids make a retry safe). */
export function classifyTransportError(error: unknown, endpoint: string): InterlaceError {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const timeout = typeof code === 'string' && TIMEOUT_CODES.has(code);
  return new InterlaceError({
    category: 'transient',
    reason: timeout ? 'timeout' : 'network',
    endpoint,
    message: `${timeout ? 'timed out' : 'network error'} (${typeof code === 'string' ? code : 'no code'}: ${message})`,
  });
}

/**
 * Classifies an HTTP answer. Returns undefined for a success envelope. Unknown business codes are
 * permanent: with money, never guess that a retry is safe.
 */
export function classifyResponse(
  status: number,
  body: unknown,
  endpoint: string,
  retryAfterHeader?: string,
): InterlaceError | undefined {
  const envelope =
    body !== null && typeof body === 'object' ? (body as { code?: unknown; message?: unknown }) : undefined;
  const code = envelope?.code === undefined || envelope.code === null ? undefined : String(envelope.code);
  const said =
    typeof envelope?.message === 'string' && envelope.message !== ''
      ? `: ${envelope.message.slice(0, 200)}`
      : '';
  const base = { endpoint, httpStatus: status, ...(code === undefined ? {} : { code }) };

  if (status === 429) {
    return new InterlaceError({
      ...base,
      category: 'transient',
      reason: 'rate-limited',
      message: `rate limited (HTTP 429)${said}`,
      ...retryAfter(retryAfterHeader),
    });
  }
  if (status >= 500) {
    return new InterlaceError({
      ...base,
      category: 'transient',
      reason: 'http-5xx',
      message: `HTTP ${status}${said}`,
    });
  }
  if (status === 401 || code === CODE_TOKEN_INVALID) {
    return new InterlaceError({
      ...base,
      category: 'authentication',
      reason: 'token-invalid',
      message: `access token rejected (HTTP ${status}, code ${code ?? 'none'})`,
    });
  }
  if (status >= 200 && status < 300 && isSuccessCode(envelope?.code)) return undefined;
  if (code === CODE_INSUFFICIENT_BALANCE) {
    return new InterlaceError({
      ...base,
      category: 'transient',
      reason: 'insufficient-balance',
      message: `insufficient balance (code ${code})${said}`,
    });
  }
  if (code !== undefined) {
    return new InterlaceError({
      ...base,
      category: 'permanent',
      reason: 'business-error',
      message: `business error code ${code}${said} (HTTP ${status})`,
    });
  }
  if (status >= 400) {
    return new InterlaceError({
      ...base,
      category: 'permanent',
      reason: 'http-4xx',
      message: `HTTP ${status} without an Interlace envelope`,
    });
  }
  return new InterlaceError({
    ...base,
    category: 'permanent',
    reason: 'bad-response',
    message: `HTTP ${status} with a body that is not an Interlace envelope`,
  });
}

function retryAfter(header: string | undefined): { retryAfterMs?: number } {
  if (header === undefined) return {};
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return { retryAfterMs: Math.min(seconds * 1000, 3_600_000) };
  const date = Date.parse(header);
  if (Number.isNaN(date)) return {};
  return { retryAfterMs: Math.max(0, Math.min(date - Date.now(), 3_600_000)) };
}
