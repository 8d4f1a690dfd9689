import type { z } from 'zod';
import {
  CODE_BALANCE_NOT_FOUND,
  CODE_INSUFFICIENT_BALANCE,
  CODE_TOKEN_INVALID,
  type Envelope,
} from '../src/interlace/types.js';

// Interlace publishes no error table (API-NOTES §1). The codes seen live are reused as they are; the
// others are the simulator's own inventions, chosen so they never collide with "000000" or 0.
export const CODE_SUCCESS = '000000';
export const CODE_INVALID_PARAMETER = '400000';
export const CODE_INVALID_CLIENT = '401001';
export const CODE_INVALID_AUTH_CODE = '401002';
export const CODE_NOT_FOUND = '404000';
export const CODE_RATE_LIMITED = '429000';
export const CODE_INTERNAL = '500000';
export const CODE_UNAVAILABLE = '503000';
export const CODE_IDEMPOTENCY_CONFLICT = '100100002';
export const CODE_AMOUNT_TOO_SMALL = '100100003';
export const CODE_UNSUPPORTED_PAIR = '100200001';
export const CODE_INVALID_ADDRESS = '100300001';
export const CODE_SIMULATED_BUSINESS_ERROR = '999999';
export { CODE_BALANCE_NOT_FOUND, CODE_INSUFFICIENT_BALANCE, CODE_TOKEN_INVALID };

/** An answer of the simulated Open API, computed before it is sent (so a fault can drop it instead). */
export type Reply = {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  /** Sent as `text/html` instead of JSON: what a gateway in front of an API answers on a 502. */
  html?: boolean;
};

export function ok<T>(data: T): Reply {
  const body: Envelope<T> = { code: CODE_SUCCESS, message: 'success', data };
  return { status: 200, body };
}

/** The other success envelope: some CryptoConnect endpoints answer `code: 0, message: "ok"` (API-NOTES §1). */
export function okZero<T>(data: T): Reply {
  const body: Envelope<T> = { code: 0, message: 'ok', data };
  return { status: 200, body };
}

export function fail(status: number, code: string, message: string): Reply {
  return { status, body: { code, message } };
}

/** The business code carried by a reply's body, if any. */
export function replyCode(reply: Reply): string | null {
  const body = reply.body;
  if (body === null || typeof body !== 'object' || !('code' in body)) return null;
  const code = (body as { code: unknown }).code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : null;
}

/** Validates a request body against a schema; a failure is the 400 Interlace would answer, naming each field. */
export function parseRequest<T extends z.ZodType>(
  schema: T,
  body: unknown,
): { value: z.infer<T> } | { reply: Reply } {
  const parsed = schema.safeParse(body);
  if (parsed.success) return { value: parsed.data };
  const message = parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ');
  return { reply: fail(400, CODE_INVALID_PARAMETER, message) };
}
