import { randomUUID } from 'node:crypto';
import { apiKeyEntry, generateApiKey } from '../../src/merchant-api/api-keys.js';
import type { SimulatorOptions } from '../../simulator/types.js';
import { startStack } from './stack.js';

/** Keys of every scope combination, configured hashed as the operator would. */
export const WRITER_KEY = generateApiKey();
export const READER_KEY = generateApiKey();
/** A key with `write` alone: it can read nothing, and (seed 002) create nothing either. */
export const WRITE_ONLY_KEY = generateApiKey();
export const MERCHANT_API_KEYS = [
  apiKeyEntry('backend', WRITER_KEY, ['read', 'write']),
  apiKeyEntry('reports', READER_KEY, ['read']),
  apiKeyEntry('write-only', WRITE_ONLY_KEY, ['write']),
].join(',');

export type ApiAnswer<T = Record<string, unknown>> = {
  status: number;
  headers: Headers;
  body: T;
};

/** Calls an HTTP API with a key (as X-API-Key unless `bearer`) and a JSON body; answers status and JSON. */
export async function callApi<T = Record<string, unknown>>(
  base: string,
  method: string,
  path: string,
  options: { key?: string | undefined; bearer?: boolean; body?: unknown } = {},
): Promise<ApiAnswer<T>> {
  const headers: Record<string, string> = {};
  if (options.key !== undefined) {
    if (options.bearer) headers.authorization = `Bearer ${options.key}`;
    else headers['x-api-key'] = options.key;
  }
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body === undefined
      ? {}
      : { body: typeof options.body === 'string' ? options.body : JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON: the test sees the text.
  }
  return { status: response.status, headers: response.headers, body: body as T };
}

/**
 * The whole stack with the merchant API on: the receiver serves /wallets and /payouts for the simulator's
 * account `accountId` (MoR unless `gateway`), which has master wallets in gateway mode.
 */
export async function startMerchantStack(
  name: string,
  options: {
    env?: Record<string, string>;
    simulator?: Partial<SimulatorOptions>;
    workers?: boolean;
    gateway?: boolean;
  } = {},
) {
  const accountId = randomUUID();
  const stack = await startStack(name, {
    env: {
      MERCHANT_API_KEYS,
      INTERLACE_ACCOUNT_ID: accountId,
      ...(options.gateway ? { INTERLACE_MODE: 'gateway' } : {}),
      ...options.env,
    },
    ...(options.simulator ? { simulator: options.simulator } : {}),
    workers: options.workers ?? false,
  });
  stack.sim.createAccount({ accountId, ...(options.gateway ? { masterWallets: true } : {}) });
  const base = stack.api.url;
  return {
    ...stack,
    accountId,
    base,
    /** A call with the read+write key unless another (or none: `null`) is given. */
    call<T = Record<string, unknown>>(
      method: string,
      path: string,
      body?: unknown,
      key: string | null = WRITER_KEY,
    ): Promise<ApiAnswer<T>> {
      return callApi<T>(base, method, path, {
        ...(key === null ? {} : { key }),
        ...(body === undefined ? {} : { body }),
      });
    },
    /** The wallet POST /wallets calls the simulator received (created or not). */
    createCalls() {
      return stack.sim
        .requests()
        .filter((r) => r.method === 'POST' && r.path.endsWith('/cryptoconnect/wallets'));
    },
    /** The account's wallets at the simulator. */
    simWallets() {
      return stack.sim.wallets(accountId);
    },
  };
}
