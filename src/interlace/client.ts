import http from 'node:http';
import https from 'node:https';
import axios, { type AxiosInstance, type AxiosRequestConfig } from 'axios';
import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import type { Keys } from '../keys.js';
import type { Logger } from '../logger.js';
import { AccessTokenProvider, type IssuedToken } from './access-token.js';
import { classifyResponse, classifyTransportError, InterlaceError } from './errors.js';
import {
  INTERLACE_API_PREFIX,
  type AccessTokenData,
  type AuthorizeData,
  type CryptoConnectWallet,
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
  listCryptoConnectWallets(accountId: string): Promise<CryptoConnectWallet[]>;
  getCryptoConnectWallet(walletId: string): Promise<CryptoConnectWallet>;
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
 * The Interlace Open API v3 client: one axios instance with keep-alive and a timeout, no retries of its
 * own (BullMQ owns retries), envelopes unwrapped, every failure classified once as an InterlaceError.
 */
export function createInterlaceClient(deps: InterlaceClientDeps): InterlaceClient {
  const { config, logger } = deps;
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });
  const api: AxiosInstance = axios.create({
    baseURL: `${config.interlace.baseUrl}${INTERLACE_API_PREFIX}`,
    timeout: config.interlace.timeoutMs,
    httpAgent,
    httpsAgent,
    headers: { accept: 'application/json', 'content-type': 'application/json' },
    // Every status is an answer to classify here, not an exception thrown by axios.
    validateStatus: () => true,
    maxRedirects: 0,
    transitional: { clarifyTimeoutError: true },
  });

  async function send<T>(endpoint: string, request: AxiosRequestConfig, token?: string): Promise<T> {
    const started = performance.now();
    const observe = (outcome: string, httpStatus?: number, code?: string) =>
      deps.observe?.({
        endpoint,
        method: request.method ?? 'GET',
        durationMs: performance.now() - started,
        outcome,
        ...(httpStatus === undefined ? {} : { httpStatus }),
        ...(code === undefined ? {} : { code }),
      });
    let response;
    try {
      response = await api.request({
        ...request,
        headers: { ...request.headers, ...(token === undefined ? {} : { 'x-access-token': token }) },
      });
    } catch (error) {
      const failure = classifyTransportError(error, endpoint);
      observe(failure.reason);
      throw failure;
    }
    const retryAfter = response.headers['retry-after'] as string | undefined;
    const failure = classifyResponse(response.status, response.data, endpoint, retryAfter);
    if (failure) {
      observe(failure.reason, response.status, failure.code);
      throw failure;
    }
    observe('success', response.status, String((response.data as Envelope<T>).code));
    return (response.data as Envelope<T>).data as T;
  }

  async function issueToken(): Promise<IssuedToken> {
    const { clientId, clientSecret, tokenSendSecret } = config.interlace;
    try {
      const authorize = await send<AuthorizeData>('GET /oauth/authorize', {
        method: 'GET',
        url: '/oauth/authorize',
        params: { clientId },
      });
      if (typeof authorize?.code !== 'string')
        throw badResponse('GET /oauth/authorize', 'no data.code in the answer');
      const issued = await send<AccessTokenData>('POST /oauth/access-token', {
        method: 'POST',
        url: '/oauth/access-token',
        data: { clientId, code: authorize.code, ...(tokenSendSecret ? { clientSecret } : {}) },
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
    logger,
    ...(deps.onTokenRenewed ? { onRenewed: deps.onTokenRenewed } : {}),
  });

  /** An authenticated call: on a rejected token, renew once and retry once (API-NOTES §1). */
  async function call<T>(endpoint: string, request: AxiosRequestConfig): Promise<T> {
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

  return {
    tokens,
    async listInfinityWallets(accountId) {
      const data = await call<List<InfinityWallet>>('GET /cards/wallets', {
        method: 'GET',
        url: '/cards/wallets',
        params: { accountId, [config.interlace.walletTypeParam]: 0 },
      });
      if (!Array.isArray(data?.list)) throw badResponse('GET /cards/wallets', 'no data.list in the answer');
      return data.list;
    },
    async createInternalTransfer(body, options) {
      const data = await call<InternalTransfer>('POST /business/transfer/internal', {
        method: 'POST',
        url: '/business/transfer/internal',
        data: body,
        headers: { 'Idempotency-Key': options.idempotencyKey },
      });
      if (typeof data?.id !== 'string' || typeof data.status !== 'string') {
        throw badResponse('POST /business/transfer/internal', 'no transfer id/status in the answer');
      }
      return data;
    },
    async listCryptoConnectWallets(accountId) {
      const data = await call<List<CryptoConnectWallet>>('GET /cryptoconnect/wallets', {
        method: 'GET',
        url: '/cryptoconnect/wallets',
        params: { accountId },
      });
      if (!Array.isArray(data?.list))
        throw badResponse('GET /cryptoconnect/wallets', 'no data.list in the answer');
      return data.list;
    },
    async getCryptoConnectWallet(walletId) {
      return call<CryptoConnectWallet>('GET /cryptoconnect/wallets/:id', {
        method: 'GET',
        url: `/cryptoconnect/wallets/${encodeURIComponent(walletId)}`,
      });
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
}

function badResponse(endpoint: string, message: string): InterlaceError {
  return new InterlaceError({ category: 'permanent', reason: 'bad-response', endpoint, message });
}
