import express, { type Router } from 'express';
import { z } from 'zod';
import { ApiError } from './api-error.js';
import type { ApiKeyAuth, AuthenticatedKey } from './api-key-auth.js';
import { isWalletCursor } from '../wallets/wallet-store.js';
import {
  createAddress,
  createWallet,
  listWalletDeposits,
  listWallets,
  MAX_LIST_LIMIT,
  showWallet,
  type WalletCommandDeps,
} from '../wallets/wallet-commands.js';

export const MAX_WALLET_BODY = '16kb';

const limit = z.coerce.number().int().min(1).max(MAX_LIST_LIMIT).optional();
const listQuery = z
  .object({
    external_id: z.string().min(1).max(128).optional(),
    limit,
    cursor: z.string().min(1).max(200).optional(),
  })
  .strict();
const depositsQuery = z.object({ limit, cursor: z.string().min(1).max(400).optional() }).strict();

/**
 * The wallet routes of the merchant API (issue #10, seed 002): create (read+write), show, list, find by
 * external_id, a new deposit address (read+write) and the wallet's deposits. Handlers parse, call one
 * command of src/wallets/wallet-commands.ts and answer; errors go to the merchant API's error handler.
 */
export function walletRouter(deps: WalletCommandDeps & { auth: ApiKeyAuth }): Router {
  const router = express.Router();
  const json = express.json({ limit: MAX_WALLET_BODY });

  router.post('/wallets', deps.auth(['read', 'write']), json, async (req, res) => {
    const { wallet } = await createWallet(deps, req.body, `api:${keyName(res)}`);
    res.status(201).json(wallet);
  });
  router.get('/wallets', deps.auth(['read']), async (req, res) => {
    const query = parseQuery(listQuery, req.query);
    if (query.cursor !== undefined && !isWalletCursor(query.cursor))
      throw new ApiError('invalid_request', 'cursor is not one this API gave', { field: 'cursor' });
    res.json(await listWallets(deps, query));
  });
  router.get('/wallets/:id', deps.auth(['read']), async (req, res) => {
    res.json(await showWallet(deps, String(req.params.id)));
  });
  router.post('/wallets/:id/addresses', deps.auth(['read', 'write']), json, async (req, res) => {
    res.status(201).json(await createAddress(deps, String(req.params.id), req.body));
  });
  router.get('/wallets/:id/deposits', deps.auth(['read']), async (req, res) => {
    res.json(await listWalletDeposits(deps, String(req.params.id), parseQuery(depositsQuery, req.query)));
  });
  return router;
}

/** A query checked against its schema, or invalid_request naming the first bad parameter. */
export function parseQuery<T extends z.ZodType>(schema: T, query: unknown): z.infer<T> {
  const parsed = schema.safeParse(query);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.') || (issue.code === 'unrecognized_keys' ? issue.keys.join(',') : 'query');
  throw new ApiError('invalid_request', `${field}: ${issue.message}`, { field });
}

/** The name of the key that authenticated the request (set by the API-key auth), for records and logs. */
export function keyName(res: express.Response): string {
  return (res.locals.apiKey as AuthenticatedKey | undefined)?.name ?? 'unknown';
}
