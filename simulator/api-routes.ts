import { performance } from 'node:perf_hooks';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import * as handlers from './api-handlers.js';
import type { ApiHandler } from './api-handlers.js';
import type { SimContext } from './context.js';
import {
  CODE_INTERNAL,
  CODE_INVALID_PARAMETER,
  CODE_NOT_FOUND,
  CODE_RATE_LIMITED,
  CODE_SIMULATED_BUSINESS_ERROR,
  CODE_TOKEN_INVALID,
  CODE_UNAVAILABLE,
  fail,
  replyCode,
  type Reply,
} from './envelope.js';
import type { ApiEndpoint, Fault, FaultDecision } from './faults.js';
import { SimulatorClosedError } from './runtime.js';
import { tokenFingerprint, type TokenCheck } from './tokens.js';
import type { RequestLogEntry } from './types.js';

const MAX_BODY = '1mb';

const BAD_GATEWAY_HTML =
  '<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n';

/** The simulated Open API v3, to mount under `/open-api/v3`. */
export function openApiRouter(context: SimContext): Router {
  const router = express.Router();
  router.use(express.raw({ type: () => true, limit: MAX_BODY }));
  const add = (
    method: 'get' | 'post',
    path: string,
    endpoint: ApiEndpoint,
    auth: boolean,
    handler: ApiHandler,
  ) => {
    router[method](path, pipeline(context, endpoint, auth, handler));
  };
  add('get', '/oauth/authorize', 'authorize', false, handlers.authorize);
  add('post', '/oauth/access-token', 'access-token', false, handlers.accessToken);
  add('get', '/cards/wallets', 'wallets', true, handlers.listInfinityWallets);
  add('post', '/business/transfer/internal', 'transfer', true, handlers.transfer);
  add('post', '/cryptoconnect/wallets', 'cryptoconnect', true, handlers.createWallet);
  add('get', '/cryptoconnect/wallets', 'cryptoconnect', true, handlers.listWallets);
  add('get', '/cryptoconnect/wallets/:walletId', 'cryptoconnect', true, handlers.getWallet);
  add('post', '/cryptoconnect/wallets/:walletId/addresses', 'cryptoconnect', true, handlers.createAddress);
  add('get', '/cryptoconnect/convert/currency-pair', 'quote', true, handlers.getCurrencyPair);
  add('post', '/cryptoconnect/convert/estimate-quote', 'quote', true, handlers.postEstimateQuote);
  add('post', '/cryptoconnect/convert/trades', 'trade', true, handlers.postTrade);
  add('post', '/cryptoconnect/transfers/fee-and-quota', 'withdraw-fee', true, handlers.postFeeAndQuota);
  add('post', '/cryptoconnect/transfers', 'withdraw', true, handlers.postWithdrawal);

  router.use((req: Request, res: Response) => {
    const entry = startEntry(context, req, 'unknown', undefined);
    send(context, res, entry, fail(404, CODE_NOT_FOUND, `no such endpoint: ${req.method} ${pathOf(req)}`));
  });
  router.use(
    (error: { status?: number; type?: string }, req: Request, res: Response, _next: NextFunction) => {
      const entry = startEntry(context, req, 'unknown', undefined);
      if (res.headersSent) return;
      const reply =
        error.type === 'entity.too.large'
          ? fail(413, CODE_INVALID_PARAMETER, `request body exceeds ${MAX_BODY}`)
          : error.status !== undefined && error.status >= 400 && error.status < 500
            ? fail(error.status, CODE_INVALID_PARAMETER, 'bad request')
            : fail(500, CODE_INTERNAL, 'internal error');
      send(context, res, entry, reply);
    },
  );
  return router;
}

/**
 * One call: log it, decide its fault on arrival (so the seeded sequence follows the call order),
 * wait the latency, answer early for faults that stop a call, check the token, run the handler,
 * then answer, or drop the answer for the "after commit" faults.
 */
function pipeline(context: SimContext, endpoint: ApiEndpoint, authenticated: boolean, handler: ApiHandler) {
  return async (req: Request, res: Response): Promise<void> => {
    const rawBody = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    const body = parseBody(rawBody);
    const entry = startEntry(context, req, endpoint, body.ok ? body.value : rawBody);
    if (endpoint === 'transfer') context.calls.received(transferIdOf(body), entry);
    entry.idempotencyKey = headerValue(req, 'idempotency-key');
    const token = headerValue(req, 'x-access-token');
    if (authenticated && token !== null) entry.tokenFingerprint = tokenFingerprint(token);
    const decision = context.faults.decide(endpoint, entry.seq, authenticated);
    if (decision !== null) {
      entry.fault = decision.fault.kind;
      context.events.emit('fault', {
        seq: entry.seq,
        endpoint,
        kind: decision.fault.kind,
        source: decision.source,
      });
    }
    try {
      await context.timers.delay(context.options.latencyMs);
      if (decision !== null) {
        const early = await applyEarlyFault(context, decision);
        if (early !== null) return send(context, res, entry, early);
      }
      if (authenticated) {
        const check = context.tokens.check(token ?? undefined);
        if (!check.ok) return send(context, res, entry, authFailure(context, check.reason));
      }
      if (!body.ok) {
        send(context, res, entry, fail(400, CODE_INVALID_PARAMETER, 'body is not valid JSON'));
        return;
      }
      const reply = handler(context, {
        params: paramsOf(req),
        query: queryOf(req),
        body: body.value,
        rawBody,
        idempotencyKey: entry.idempotencyKey,
        ...(decision?.fault.kind === 'transfer-status' ? { status: decision.fault } : {}),
        fault: decision?.fault.kind ?? null,
      });
      const fault = decision?.fault;
      if (fault?.kind === 'reset-after-commit') drop(context, res, entry, reply);
      else if (fault?.kind === 'timeout-after-commit')
        hold(context, res, entry, reply, fault.delayMs ?? 30_000);
      else send(context, res, entry, reply);
    } catch (error) {
      if (error instanceof SimulatorClosedError || res.headersSent) {
        res.socket?.destroy();
        finish(context, entry, 'aborted');
        return;
      }
      // A bug in a handler must still produce an answer and a finished log entry, never a hang.
      send(context, res, entry, fail(500, CODE_INTERNAL, `internal error: ${String(error)}`));
    }
  };
}

/** The faults answered instead of the handler (or, for latency, before it); null lets the call go on. */
async function applyEarlyFault(context: SimContext, decision: FaultDecision): Promise<Reply | null> {
  const fault: Fault = decision.fault;
  switch (fault.kind) {
    case 'http-500':
      return fail(500, CODE_INTERNAL, 'internal server error (simulated)');
    case 'http-502':
      // A gateway in front of the API answers 502 with HTML, not with an Interlace envelope.
      return { status: 502, body: BAD_GATEWAY_HTML, html: true };
    case 'http-503':
      return fail(503, CODE_UNAVAILABLE, 'service unavailable (simulated)');
    case 'rate-limit': {
      const reply = fail(429, CODE_RATE_LIMITED, 'too many requests (simulated)');
      return { ...reply, headers: { 'Retry-After': String(fault.retryAfterSeconds ?? 1) } };
    }
    case 'token-expired':
      if (decision.revokeTokens) context.tokens.revokeAll();
      return authFailure(context, 'expired');
    case 'business-error':
      return fail(
        fault.httpStatus ?? context.options.businessErrorHttpStatus,
        fault.code ?? CODE_SIMULATED_BUSINESS_ERROR,
        fault.message ?? 'business error (simulated)',
      );
    case 'latency':
      await context.timers.delay(fault.delayMs ?? 1_000);
      return null;
    case 'reset-after-commit':
    case 'timeout-after-commit':
    case 'transfer-status':
    case 'trade-failed':
    case 'withdraw-stuck':
    case 'withdraw-on-hold':
    case 'withdraw-failed':
      return null;
  }
}

function authFailure(context: SimContext, reason: Exclude<TokenCheck, { ok: true }>['reason']): Reply {
  const messages = {
    missing: 'x-access-token header is missing',
    unknown: 'access token is invalid',
    expired: 'access token has expired',
    revoked: 'access token has been revoked',
  } as const;
  return fail(context.options.authFailure === 'http-401' ? 401 : 200, CODE_TOKEN_INVALID, messages[reason]);
}

function send(context: SimContext, res: Response, entry: RequestLogEntry, reply: Reply): void {
  entry.status = reply.status;
  entry.code = replyCode(reply);
  if (entry.endpoint === 'transfer') context.calls.answered(entry, reply);
  res.status(reply.status);
  for (const [name, value] of Object.entries(reply.headers ?? {})) res.setHeader(name, value);
  if (reply.html === true) res.type('html').send(String(reply.body));
  else res.json(reply.body);
  finish(context, entry, 'answered');
}

/** reset-after-commit: the work is done, the connection dies before a byte of the answer is sent. */
function drop(context: SimContext, res: Response, entry: RequestLogEntry, reply: Reply): void {
  entry.code = replyCode(reply);
  res.socket?.destroy();
  finish(context, entry, 'reset');
}

/** timeout-after-commit: the work is done, the answer never comes; the socket dies after delayMs. */
function hold(
  context: SimContext,
  res: Response,
  entry: RequestLogEntry,
  reply: Reply,
  delayMs: number,
): void {
  entry.code = replyCode(reply);
  const socket = res.socket;
  if (socket === null) return finish(context, entry, 'timeout');
  context.timers.hold(socket, delayMs, () => finish(context, entry, 'timeout'));
  context.events.emit('held', structuredClone(entry));
}

function finish(context: SimContext, entry: RequestLogEntry, outcome: RequestLogEntry['outcome']): void {
  if (entry.outcome !== 'pending') return;
  entry.outcome = outcome;
  const started = startedAt.get(entry) ?? performance.now();
  entry.durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  if (context.events.listenerCount('request') > 0) context.events.emit('request', structuredClone(entry));
}

const startedAt = new WeakMap<RequestLogEntry, number>();

function startEntry(context: SimContext, req: Request, endpoint: string, body: unknown): RequestLogEntry {
  const entry = context.log.start({
    time: context.options.now(),
    endpoint,
    method: req.method,
    path: pathOf(req),
    query: queryOf(req),
    body: redact(body),
  });
  startedAt.set(entry, performance.now());
  return entry;
}

type ParsedBody = { ok: true; value: unknown } | { ok: false };

function transferIdOf(body: ParsedBody): string | null {
  const value = body.ok ? (body.value as { clientTransactionId?: unknown } | null) : null;
  return typeof value?.clientTransactionId === 'string' ? value.clientTransactionId : null;
}

function parseBody(raw: string): ParsedBody {
  if (raw.trim() === '') return { ok: true, value: undefined };
  try {
    return { ok: true, value: JSON.parse(raw) as unknown };
  } catch {
    return { ok: false };
  }
}

/** The legacy token call may carry the client secret: it never reaches the log. */
function redact(body: unknown): unknown {
  if (body === null || typeof body !== 'object' || Array.isArray(body) || !('clientSecret' in body)) {
    return structuredClone(body);
  }
  return { ...structuredClone(body), clientSecret: '[redacted]' };
}

function headerValue(req: Request, name: string): string | null {
  const value = req.headers[name];
  if (Array.isArray(value)) return value[0] ?? null;
  return value ?? null;
}

function pathOf(req: Request): string {
  return req.originalUrl.split('?')[0] ?? req.originalUrl;
}

function queryOf(req: Request): Record<string, unknown> {
  return { ...(req.query as Record<string, unknown>) };
}

function paramsOf(req: Request): Record<string, string> {
  return { ...(req.params as Record<string, string>) };
}
