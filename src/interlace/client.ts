import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Keys } from '../keys.js';
import type { Logger } from '../logger.js';
import { createHttpClient, type HttpRequest } from '../http-client.js';
import { AccessTokenProvider, type IssuedToken } from './access-token.js';
import { classifyResponse, classifyTransportError, InterlaceError } from './errors.js';
import {
  INTERLACE_API_PREFIX,
  type AccessTokenData,
  type AuthorizeData,
  type BlockchainTransfer,
  type BlockchainTransferRequest,
  type CreateWalletRequest,
  type CryptoConnectWallet,
  type WalletAddress,
  type CurrencyPair,
  type FeeQuota,
  type FeeQuotaRequest,
  type Quote,
  type QuoteRequest,
  type Trade,
  type TradeRequest,
  type Envelope,
  type InfinityWallet,
  type InternalTransfer,
  type InternalTransferRequest,
  type List,
} from './types.js';

/** What every call reports, for metrics and logs; never carries headers or bodies. */
export type CallObservation = {
  endpoint: string;
  method: string;
  httpStatus?: number;
  code?: string;
  durationMs: number;
  outcome: string;
};

export type InterlaceClient = {
  listInfinityWallets(accountId: string): Promise<InfinityWallet[]>;
  createInternalTransfer(
    body: InternalTransferRequest,
    options: { idempotencyKey: string },
  ): Promise<InternalTransfer>;
  /** The account's wallets (`master` filters on master wallets, gateway mode); `total` as Interlace counts. */
  listCryptoConnectWallets(accountId: string, options?: { master?: boolean }): Promise<CryptoConnectWallet[]>;
  listCryptoConnectWalletsPage(
    accountId: string,
    options?: { master?: boolean; page?: number; limit?: number },
  ): Promise<{ list: CryptoConnectWallet[]; total: number | undefined }>;
  createCryptoConnectWallet(body: CreateWalletRequest): Promise<CryptoConnectWallet>;
  createWalletAddress(walletId: string, body: { currency: string; chain: string }): Promise<WalletAddress>;
  getCryptoConnectWallet(walletId: string): Promise<CryptoConnectWallet>;
  getCurrencyPair(fromCurrency: string, toCurrency: string): Promise<CurrencyPair>;
  estimateQuote(body: QuoteRequest): Promise<Quote>;
  createTrade(body: TradeRequest): Promise<Trade>;
  getTransferFee(body: FeeQuotaRequest): Promise<FeeQuota>;
  createBlockchainTransfer(body: BlockchainTransferRequest): Promise<BlockchainTransfer>;
  readonly tokens: AccessTokenProvider;
  close(): void;
};

export type InterlaceClientDeps = {
  config: Config;
  redis: Redis;
  keys: Keys;
  logger: Logger;
  observe?: (call: CallObservation) => void;
  onTokenRenewed?: () => void;
};

/**
 * The Interlace Open API v3 client over axios (src/http-client.ts: keep-alive, proxy, a deadline per
 * call, no retries of its own: BullMQ owns retries), envelopes unwrapped, every failure classified once
 * as an InterlaceError.
 */
export function createInterlaceClient(deps: InterlaceClientDeps): InterlaceClient {
  const { config, logger } = deps;
  const http = createHttpClient({
    baseUrl: `${config.interlace.baseUrl}${INTERLACE_API_PREFIX}`,
    deadlineMs: config.interlace.timeoutMs,
  });

  async function send<T>(endpoint: string, request: HttpRequest, token?: string): Promise<T> {
    const started = performance.now();
    const observe = (outcome: string, httpStatus?: number, code?: string) =>
      deps.observe?.({
        endpoint,
        method: request.method,
        durationMs: performance.now() - started,
        outcome,
        ...(httpStatus === undefined ? {} : { httpStatus }),
        ...(code === undefined ? {} : { code }),
      });
    let response;
    try {
      response = await http.send({
        ...request,
        headers: { ...request.headers, ...(token === undefined ? {} : { 'x-access-token': token }) },
      });
    } catch (error) {
      const failure = classifyTransportError(error, endpoint);
      observe(failure.reason);
      throw failure;
    }
    const retryAfter = response.headers['retry-after'];
    const failure = classifyResponse(
      response.status,
      response.body,
      endpoint,
      typeof retryAfter === 'string' ? retryAfter : undefined,
    );
    if (failure) {
      observe(failure.reason, response.status, failure.code);
      throw failure;
    }
    observe('success', response.status, String((response.body as Envelope<T>).code));
    return (response.body as Envelope<T>).data as T;
  }

  async function issueToken(): Promise<IssuedToken> {
    const { clientId, clientSecret, tokenSendSecret } = config.interlace;
    try {
      const authorize = await send<AuthorizeData>('GET /oauth/authorize', {
        method: 'GET',
        path: '/oauth/authorize',
        query: { clientId },
      });
      if (typeof authorize?.code !== 'string')
        throw badResponse('GET /oauth/authorize', 'no data.code in the answer');
      const issued = await send<AccessTokenData>('POST /oauth/access-token', {
        method: 'POST',
        path: '/oauth/access-token',
        body: { clientId, code: authorize.code, ...(tokenSendSecret ? { clientSecret } : {}) },
      });
      if (typeof issued?.accessToken !== 'string' || typeof issued.expiresIn !== 'number') {
        throw badResponse('POST /oauth/access-token', 'no accessToken/expiresIn in the answer');
      }
      return { accessToken: issued.accessToken, expiresInMs: issued.expiresIn * 1000 };
    } catch (error) {
      // A refused token request is an authentication problem (credentials), never a reason to drop money.
      if (error instanceof InterlaceError && error.category === 'permanent') {
        throw new InterlaceError({
          ...error,
          category: 'authentication',
          reason: 'token-request-failed',
          message: error.message,
        });
      }
      throw error;
    }
  }

  const tokens = new AccessTokenProvider({
    redis: deps.redis,
    tokenKey: deps.keys.token(config.interlace.clientId),
    lockKey: deps.keys.tokenLock(config.interlace.clientId),
    issue: issueToken,
    renewBeforeMs: config.interlace.tokenRenewBeforeMs,
    // A renewal is two calls, each bounded by the whole-call deadline.
    renewalWorstCaseMs: 2 * config.interlace.timeoutMs,
    logger,
    ...(deps.onTokenRenewed ? { onRenewed: deps.onTokenRenewed } : {}),
  });

  /** An authenticated call: on a rejected token, renew once and retry once (API-NOTES §1). */
  async function call<T>(endpoint: string, request: HttpRequest): Promise<T> {
    const token = await tokens.get();
    try {
      return await send<T>(endpoint, request, token);
    } catch (error) {
      if (!(error instanceof InterlaceError) || error.category !== 'authentication') throw error;
      logger.info({ endpoint }, 'Interlace rejected the access token; renewing once');
      await tokens.invalidate(token);
      return send<T>(endpoint, request, await tokens.get());
    }
  }

  /** One `GET /cryptoconnect/wallets` (every wallet of the account, or its master wallets). */
  async function listWalletsPage(
    accountId: string,
    options: { master?: boolean; page?: number; limit?: number } = {},
  ): Promise<{ list: CryptoConnectWallet[]; total: number | undefined }> {
    const data = await call<List<CryptoConnectWallet>>('GET /cryptoconnect/wallets', {
      method: 'GET',
      path: '/cryptoconnect/wallets',
      query: {
        accountId,
        ...(options.master === undefined ? {} : { master: String(options.master) }),
        // Paging parameters are ASSUMED (API-NOTES §9: pagination undocumented), sent only when asked for.
        ...(options.limit === undefined ? {} : { page: options.page ?? 1, limit: options.limit }),
      },
    });
    if (!Array.isArray(data?.list))
      throw badResponse('GET /cryptoconnect/wallets', 'no data.list in the answer');
    // The docs show total as a string ("4"); pagination is not documented (API-NOTES §9).
    const total = Number(data.total);
    return { list: data.list, total: Number.isFinite(total) ? total : undefined };
  }

  return {
    tokens,
    async listInfinityWallets(accountId) {
      const data = await call<List<InfinityWallet>>('GET /cards/wallets', {
        method: 'GET',
        path: '/cards/wallets',
        query: { accountId, [config.interlace.walletTypeParam]: 0 },
      });
      if (!Array.isArray(data?.list)) throw badResponse('GET /cards/wallets', 'no data.list in the answer');
      return data.list;
    },
    async createInternalTransfer(body, options) {
      const data = await call<InternalTransfer>('POST /business/transfer/internal', {
        method: 'POST',
        path: '/business/transfer/internal',
        body,
        headers: { 'Idempotency-Key': options.idempotencyKey },
      });
      if (typeof data?.id !== 'string' || typeof data.status !== 'string') {
        throw badResponse('POST /business/transfer/internal', 'no transfer id/status in the answer');
      }
      return data;
    },
    async listCryptoConnectWallets(accountId, options = {}) {
      return (await listWalletsPage(accountId, options)).list;
    },
    listCryptoConnectWalletsPage: listWalletsPage,
    async createCryptoConnectWallet(body) {
      const endpoint = 'POST /cryptoconnect/wallets';
      // referenceId is the wallet's key; the header repeats it (the body has an accountId, API-NOTES §9).
      const data = await call<CryptoConnectWallet>(endpoint, {
        method: 'POST',
        path: '/cryptoconnect/wallets',
        body,
        headers: { 'Idempotency-Key': body.referenceId },
      });
      return requireStrings(endpoint, data, ['id']);
    },
    async createWalletAddress(walletId, body) {
      const endpoint = 'POST /cryptoconnect/wallets/:id/addresses';
      const data = await call<WalletAddress>(endpoint, {
        method: 'POST',
        path: `/cryptoconnect/wallets/${encodeURIComponent(walletId)}/addresses`,
        body,
      });
      return requireStrings(endpoint, data, ['address', 'currency', 'chain']);
    },
    async getCryptoConnectWallet(walletId) {
      return call<CryptoConnectWallet>('GET /cryptoconnect/wallets/:id', {
        method: 'GET',
        path: `/cryptoconnect/wallets/${encodeURIComponent(walletId)}`,
      });
    },
    async getCurrencyPair(fromCurrency, toCurrency) {
      const endpoint = 'GET /cryptoconnect/convert/currency-pair';
      const data = await call<CurrencyPair>(endpoint, {
        method: 'GET',
        path: '/cryptoconnect/convert/currency-pair',
        query: { fromCurrency, toCurrency },
      });
      return requireStrings(endpoint, data, ['symbol', 'baseCurrency', 'quoteCurrency']);
    },
    async estimateQuote(body) {
      const endpoint = 'POST /cryptoconnect/convert/estimate-quote';
      const data = await call<Quote>(endpoint, {
        method: 'POST',
        path: '/cryptoconnect/convert/estimate-quote',
        body,
      });
      return requireStrings(endpoint, data, ['baseAmount', 'quoteAmount', 'fee']);
    },
    async createTrade(body) {
      const endpoint = 'POST /cryptoconnect/convert/trades';
      // referenceId is the trade's key; the header repeats it (the body has an accountId, API-NOTES §9).
      const data = await call<Trade>(endpoint, {
        method: 'POST',
        path: '/cryptoconnect/convert/trades',
        body,
        headers: { 'Idempotency-Key': body.referenceId },
      });
      return requireStrings(endpoint, data, ['id', 'status', 'baseAmount', 'quoteAmount']);
    },
    async getTransferFee(body) {
      const endpoint = 'POST /cryptoconnect/transfers/fee-and-quota';
      const data = await call<FeeQuota>(endpoint, {
        method: 'POST',
        path: '/cryptoconnect/transfers/fee-and-quota',
        body,
      });
      if (!Array.isArray(data?.fees)) throw badResponse(endpoint, 'no data.fees in the answer');
      return data;
    },
    async createBlockchainTransfer(body) {
      const endpoint = 'POST /cryptoconnect/transfers';
      const data = await call<BlockchainTransfer>(endpoint, {
        method: 'POST',
        path: '/cryptoconnect/transfers',
        body,
        headers: { 'Idempotency-Key': body.idempotencyKey },
      });
      return requireStrings(endpoint, data, ['id', 'status']);
    },
    close() {
      http.close();
    },
  };
}

/** The answer's data when it has these string fields; otherwise a permanent bad-response error. */
function requireStrings<T>(endpoint: string, data: T | undefined, fields: readonly (keyof T & string)[]): T {
  const missing = fields.filter((field) => typeof data?.[field] !== 'string');
  if (data === undefined || missing.length > 0) {
    throw badResponse(endpoint, `no ${missing.join('/') || 'data'} in the answer`);
  }
  return data;
}

function badResponse(endpoint: string, message: string): InterlaceError {
  return new InterlaceError({ category: 'permanent', reason: 'bad-response', endpoint, message });
}
