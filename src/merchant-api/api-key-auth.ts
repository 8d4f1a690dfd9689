import { timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ApiError, sendApiError } from './api-error.js';
import { hashApiKey, type ApiKeyEntry, type ApiScope } from './api-keys.js';

/** A middleware factory: the request must carry a configured key holding every scope named. */
export type ApiKeyAuth = (scopes: readonly ApiScope[]) => RequestHandler;

/** What the middleware leaves in `res.locals.apiKey` for the handlers (audit, logs): the key's name. */
export type AuthenticatedKey = { name: string; scopes: readonly ApiScope[] };

/**
 * Seed 002's authentication: the key in `X-API-Key` or `Authorization: Bearer`. The presented key is
 * hashed and compared with every configured hash in constant time (no early exit), so neither the
 * answer's timing nor its content tells how close a guess was. Unknown or missing → 401 unauthorized;
 * a known key without a needed scope → 403 forbidden.
 */
export function apiKeyAuth(entries: readonly ApiKeyEntry[]): ApiKeyAuth {
  const hashes = entries.map((entry) => ({ entry, digest: Buffer.from(entry.sha256, 'hex') }));
  return (scopes) => (req: Request, res: Response, next: NextFunction) => {
    const presented = presentedKey(req);
    if (presented === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="interlace-sweep"');
      sendApiError(
        res,
        new ApiError('unauthorized', 'an API key is required: X-API-Key or Authorization: Bearer'),
      );
      return;
    }
    const digest = Buffer.from(hashApiKey(presented), 'hex');
    let matched: ApiKeyEntry | undefined;
    for (const { entry, digest: known } of hashes) {
      if (timingSafeEqual(digest, known) && matched === undefined) matched = entry;
    }
    if (matched === undefined) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="interlace-sweep", error="invalid_token"');
      sendApiError(res, new ApiError('unauthorized', 'the API key is not valid'));
      return;
    }
    const missing = scopes.filter((scope) => !matched.scopes.includes(scope));
    if (missing.length > 0) {
      sendApiError(
        res,
        new ApiError('forbidden', `this API key lacks the scope ${missing.join(' and ')}`, {
          required: [...scopes],
          granted: [...matched.scopes],
        }),
      );
      return;
    }
    res.locals.apiKey = { name: matched.name, scopes: matched.scopes } satisfies AuthenticatedKey;
    next();
  };
}

/** The key from X-API-Key, else from `Authorization: Bearer <key>`; undefined when neither is there. */
function presentedKey(req: Request): string | undefined {
  const header = req.get('x-api-key')?.trim();
  if (header) return header;
  const authorization = req.get('authorization');
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  return match?.[1];
}
