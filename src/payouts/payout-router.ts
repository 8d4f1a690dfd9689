import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { isRedisUnavailable } from '../merchant-api/api-error.js';
import type { ApiKeyAuth } from '../merchant-api/api-key-auth.js';
import { PAYOUT_STATES } from '../policy/payout-policy.js';
import {
  createPayout,
  PayoutError,
  publicPayout,
  showPayout,
  type PayoutCommandDeps,
} from './payout-commands.js';

/** The merchant API's authentication (src/merchant-api/api-key-auth.ts): a middleware requiring scopes. */
export type ApiAuth = ApiKeyAuth;

/** Seed 002's error codes, as merchants match on them. */
type ApiCode =
  'invalid_request' | 'duplicate_external_id' | 'not_found' | 'server_error' | 'service_unavailable';

const STATUS: Record<ApiCode, number> = {
  invalid_request: 400,
  duplicate_external_id: 400,
  not_found: 404,
  server_error: 500,
  service_unavailable: 503,
};

/** An answer in seed 002's error format: `{"error":{"code","message","details"}}`. */
class ApiAnswerError extends Error {
  constructor(
    readonly code: ApiCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
  }
}

export const MAX_PAYOUT_BODY = '16kb';

const listQuery = z
  .object({
    state: z.enum(PAYOUT_STATES as [string, ...string[]]).optional(),
    limit: z.coerce.number().int().min(1).max(200).default(50),
  })
  .strict();

/**
 * `POST /payouts` (write scope; idempotent on external_id), `GET /payouts/:id` and `GET /payouts`
 * (read scope). Every error, a bad body included, answers in seed 002's format.
 */
export function payoutRouter(deps: PayoutCommandDeps & { auth: ApiAuth }): Router {
  const router = express.Router();
  const json = express.json({ limit: MAX_PAYOUT_BODY });

  router.post('/payouts', deps.auth(['read', 'write']), json, async (req, res) => {
    if (req.body === null || typeof req.body !== 'object' || Array.isArray(req.body)) {
      throw new ApiAnswerError(
        'invalid_request',
        'the body must be a JSON object (Content-Type: application/json)',
      );
    }
    // The key's name (never the key) says who asked, as `api:<name>`.
    const apiKey = res.locals.apiKey as { name?: string } | undefined;
    const createdBy = `api:${apiKey?.name ?? 'unknown'}`;
    const { created, payout } = await createPayout(deps, req.body as Record<string, unknown>, createdBy);
    res.status(created ? 201 : 200).json(publicPayout(payout));
  });
  router.get('/payouts', deps.auth(['read']), async (req, res) => {
    const parsed = listQuery.safeParse(req.query);
    if (!parsed.success)
      throw new ApiAnswerError(
        'invalid_request',
        parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; '),
      );
    const payouts = await deps.payouts.list({
      limit: parsed.data.limit,
      ...(parsed.data.state ? { state: parsed.data.state } : {}),
    });
    res.json({ data: payouts.map(publicPayout) });
  });
  router.get('/payouts/:id', deps.auth(['read']), async (req, res) => {
    const { payout, history } = await showPayout(deps, String(req.params.id));
    res.json({ ...payout, history });
  });
  router.use('/payouts', (_req: Request, _res: Response, next: NextFunction) =>
    next(new ApiAnswerError('not_found', 'route not found')),
  );
  router.use(errorHandler(deps));
  return router;
}

type HttpError = Error & { status?: number; type?: string };

function errorHandler(deps: Pick<PayoutCommandDeps, 'logger'>) {
  return (error: HttpError, req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) return;
    // Not ours (another router's path, the auth's own errors): the app's handlers answer it.
    if (!req.path.startsWith('/payouts')) {
      next(error);
      return;
    }
    const answer = toAnswer(error);
    if (answer === undefined) {
      next(error);
      return;
    }
    if (STATUS[answer.code] >= 500) deps.logger.error({ err: error, path: req.path }, 'payout API error');
    res.status(STATUS[answer.code]).json({
      error: { code: answer.code, message: answer.message, details: answer.details },
    });
  };
}

function toAnswer(error: HttpError): ApiAnswerError | undefined {
  if (error instanceof ApiAnswerError) return error;
  if (error instanceof PayoutError) {
    const details = { reason: error.code, ...error.details };
    if (error.code === 'external-id-conflict')
      return new ApiAnswerError('duplicate_external_id', error.message, details);
    if (error.code === 'not-found') return new ApiAnswerError('not_found', error.message, details);
    if (error.code === 'payouts-disabled')
      return new ApiAnswerError('service_unavailable', error.message, details);
    return new ApiAnswerError('invalid_request', error.message, details);
  }
  if (error.type === 'entity.parse.failed')
    return new ApiAnswerError('invalid_request', 'the body is not valid JSON');
  if (error.type === 'entity.too.large')
    return new ApiAnswerError('invalid_request', `the body exceeds ${MAX_PAYOUT_BODY}`);
  // Authentication and authorization errors carry their own status and body (the wallets' auth).
  if (error.status === 401 || error.status === 403) return undefined;
  if (error.status !== undefined && error.status >= 400 && error.status < 500) {
    return new ApiAnswerError('invalid_request', 'the request could not be read');
  }
  if (isRedisUnavailable(error))
    return new ApiAnswerError('service_unavailable', 'storage is unavailable now; retry later', {
      upstream: 'redis',
    });
  return new ApiAnswerError('server_error', 'internal error');
}
