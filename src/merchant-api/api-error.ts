import type { NextFunction, Request, Response } from 'express';
import type { Logger } from '../logger.js';

/** Seed 002's error codes, plus not_found and service_unavailable (issue #10). */
export type ApiErrorCode =
  | 'invalid_request'
  | 'duplicate_external_id'
  | 'unauthorized'
  | 'forbidden'
  | 'not_found'
  | 'server_error'
  | 'service_unavailable';

export const API_ERROR_STATUS: Record<ApiErrorCode, number> = {
  invalid_request: 400,
  duplicate_external_id: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  server_error: 500,
  service_unavailable: 503,
};

/** An answer of the merchant API in seed 002's format `{"error":{"code","message","details"}}`. */
export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ApiError';
    this.status = API_ERROR_STATUS[code];
  }
}

/** Writes an ApiError; the message and details are ours, never an upstream body or a stack. */
export function sendApiError(res: Response, error: ApiError): void {
  // Interlace's own Retry-After (a 429) is passed on, so the merchant's client waits as long.
  const retryAfter = error.details.retry_after_s;
  if (error.status === 503 && typeof retryAfter === 'number')
    res.setHeader('Retry-After', String(retryAfter));
  res.status(error.status).json({
    error: { code: error.code, message: error.message, details: error.details },
  });
}

type HttpError = Error & { status?: number; type?: string };

/**
 * The merchant API's last error handler: every failure answers in seed 002's format. Body-parser
 * errors become invalid_request; anything unexpected is logged and answered as server_error.
 */
export function merchantApiErrorHandler(logger: Logger, maxBody: string) {
  return (error: HttpError, req: Request, res: Response, _next: NextFunction): void => {
    if (res.headersSent) return;
    const answer = toApiError(error, maxBody);
    if (answer.status >= 500) logger.error({ err: error, path: req.path }, 'merchant API error');
    sendApiError(res, answer);
  };
}

function toApiError(error: HttpError, maxBody: string): ApiError {
  if (error instanceof ApiError) return error;
  if (error.type === 'entity.parse.failed')
    return new ApiError('invalid_request', 'the body is not valid JSON');
  if (error.type === 'entity.too.large')
    return new ApiError('invalid_request', `the body exceeds ${maxBody}`);
  if (error.status !== undefined && error.status >= 400 && error.status < 500)
    return new ApiError('invalid_request', 'the request could not be read');
  if (isRedisUnavailable(error))
    return new ApiError('service_unavailable', 'storage is unavailable now; retry later', {
      upstream: 'redis',
    });
  return new ApiError('server_error', 'internal error');
}

/**
 * Whether an error is the receiver's Redis connection refusing a command (down, reconnecting, or out
 * of retries): the producer connection fails fast (src/redis.ts), so these come at once, not after a hang.
 */
export function isRedisUnavailable(error: Error): boolean {
  if (error.name === 'MaxRetriesPerRequestError') return true;
  return /Stream isn't writeable|Connection is closed|enableOfflineQueue|ECONNREFUSED|LOADING|CLUSTERDOWN|TRYAGAIN/.test(
    error.message,
  );
}
