import express, { type Router } from 'express';
import type { Logger } from '../logger.js';
import { payoutRouter } from '../payouts/payout-router.js';
import type { PayoutCommandDeps } from '../payouts/payout-commands.js';
import type { WalletCommandDeps } from '../wallets/wallet-commands.js';
import { ApiError, merchantApiErrorHandler } from './api-error.js';
import { apiKeyAuth } from './api-key-auth.js';
import type { ApiKeyEntry } from './api-keys.js';
import { openApiDocument } from './openapi.js';
import { MAX_WALLET_BODY, walletRouter } from './wallet-router.js';

export const OPENAPI_PATH = '/openapi.json';

export type MerchantApiDeps = {
  logger: Logger;
  keys: readonly ApiKeyEntry[];
  wallets: WalletCommandDeps;
  payouts: PayoutCommandDeps;
};

/**
 * The merchant API: /wallets and /payouts behind the API-key auth, and its OpenAPI document at
 * /openapi.json (public, as it holds no data). Every answer under /wallets and /payouts, a 404 or a
 * failure included, is in seed 002's error format.
 */
export function merchantApiRouter(deps: MerchantApiDeps): Router {
  const auth = apiKeyAuth(deps.keys);
  const router = express.Router();
  const document = openApiDocument();
  router.get(OPENAPI_PATH, (_req, res) => {
    res.json(document);
  });
  router.use(walletRouter({ ...deps.wallets, auth }));
  router.use(payoutRouter({ ...deps.payouts, auth }));
  router.use(['/wallets', '/payouts'], () => {
    throw new ApiError('not_found', 'route not found');
  });
  router.use(merchantApiErrorHandler(deps.logger, MAX_WALLET_BODY));
  return router;
}
