import {
  CODE_IDEMPOTENCY_CONFLICT,
  CODE_INVALID_PARAMETER,
  CODE_NOT_FOUND,
  fail,
  ok,
  type Reply,
} from './envelope.js';

import type { SimContext } from './context.js';
import type { Fault } from './faults.js';
import { internalTransfer } from './transfer.js';
import { createTrade, currencyPair, estimateQuote } from './convert.js';
import { createWithdrawal, feeAndQuota } from './withdraw.js';

/** One Open API call, as the handlers see it: body already parsed, query flattened. */
export type ApiCall = {
  params: Record<string, string>;
  query: Record<string, unknown>;
  body: unknown;
  rawBody: string;
  idempotencyKey: string | null;
  /** A transfer-status fault for this call: the transfer answers with that status. */
  status?: Extract<Fault, { kind: 'transfer-status' }>;
  /** The fault decided for this call, if any: outcome faults (trade-failed, withdraw-…) act in the handler. */
  fault: string | null;
};

export type ApiHandler = (context: SimContext, call: ApiCall) => Reply;

/** `GET /oauth/authorize?clientId=` */
export const authorize: ApiHandler = (context, call) => context.tokens.authorize(call.query['clientId']);

/** `POST /oauth/access-token {clientId, code, clientSecret?}` */
export const accessToken: ApiHandler = (context, call) => context.tokens.accessToken(call.body);

/**
 * `GET /cards/wallets?accountId=&walletType=0`. A newer revision of the doc names the filter
 * `objectType`; both are accepted (API-NOTES §3). Unknown accounts get an empty list.
 */
export const listInfinityWallets: ApiHandler = (context, call) => {
  const accountId = call.query['accountId'];
  if (typeof accountId !== 'string' || accountId === '') return invalid('accountId is required');
  const filter = call.query['walletType'] ?? call.query['objectType'];
  let walletType: number | undefined;
  if (filter !== undefined) {
    if (typeof filter !== 'string' || !/^\d{1,3}$/.test(filter))
      return invalid('walletType must be an integer');
    walletType = Number(filter);
  }
  const list = context.state.infinityWallets(accountId, walletType);
  return ok({ list, total: String(list.length) });
};

/** `POST /business/transfer/internal`: the sweep itself (seed 001). */
export const transfer: ApiHandler = (context, call) => {
  const outcome = internalTransfer(context.state, context.options, context.ids, call);
  if (outcome.committed !== null && context.events.listenerCount('transfer') > 0) {
    context.events.emit('transfer', structuredClone(outcome.committed));
  }
  return outcome.reply;
};

/** `POST /cryptoconnect/wallets {referenceId, accountId, nickname}`; a repeated referenceId returns its wallet. */
export const createWallet: ApiHandler = (context, call) => {
  const body = asObject(call.body);
  if (body === undefined) return invalid('request body must be a JSON object');
  const { accountId, referenceId, nickname } = body;
  if (typeof accountId !== 'string' || accountId === '') return invalid('accountId is required');
  if (referenceId !== undefined && (typeof referenceId !== 'string' || referenceId === '')) {
    return invalid('referenceId must be a non-empty string');
  }
  if (nickname !== undefined && typeof nickname !== 'string') return invalid('nickname must be a string');
  if (!context.state.hasAccount(accountId)) return invalid(`accountId ${accountId} does not exist`);
  const existing =
    referenceId === undefined ? undefined : context.state.walletByReference(accountId, referenceId);
  if (existing !== undefined) {
    // Interlace's docs do not say what a repeated referenceId gets (API-NOTES §9): each reading is playable.
    const mode = context.options.duplicateWalletReference;
    if (mode === 'existing') return ok(existing);
    if (mode === 'error')
      return fail(
        context.options.businessErrorHttpStatus,
        CODE_IDEMPOTENCY_CONFLICT,
        'referenceId already exists',
      );
  }
  return ok(context.state.createWallet(accountId, { referenceId, nickname }));
};

/** `GET /cryptoconnect/wallets/:walletId` */
export const getWallet: ApiHandler = (context, call) => {
  const wallet = context.state.wallet(call.params['walletId'] ?? '');
  return wallet === undefined ? notFound(context, 'wallet not found') : ok(wallet);
};

/** `GET /cryptoconnect/wallets?accountId=&master=` */
export const listWallets: ApiHandler = (context, call) => {
  const accountId = call.query['accountId'];
  if (typeof accountId !== 'string' || accountId === '') return invalid('accountId is required');
  const master = call.query['master'];
  if (master !== undefined && master !== 'true' && master !== 'false')
    return invalid('master must be true or false');
  const list = context.state.listWallets(accountId, master === undefined ? undefined : master === 'true');
  // Pagination is undocumented (API-NOTES §9): `page` (from 1) and `limit` are the simulator's reading,
  // applied only when `limit` is given; `total` always counts every wallet.
  const limit = call.query['limit'];
  if (limit === undefined) return ok({ list, total: String(list.length) });
  const page = call.query['page'] ?? '1';
  if (typeof limit !== 'string' || !/^[1-9]\d{0,2}$/.test(limit)) return invalid('limit must be 1-999');
  if (typeof page !== 'string' || !/^[1-9]\d{0,5}$/.test(page))
    return invalid('page must be a positive integer');
  const start = (Number(page) - 1) * Number(limit);
  return ok({ list: list.slice(start, start + Number(limit)), total: String(list.length) });
};

/** `POST /cryptoconnect/wallets/:walletId/addresses {currency, chain}` */
export const createAddress: ApiHandler = (context, call) => {
  const walletId = call.params['walletId'] ?? '';
  const wallet = context.state.wallet(walletId);
  if (wallet === undefined) return notFound(context, 'wallet not found');
  const body = asObject(call.body);
  const currency = body?.['currency'];
  const chain = body?.['chain'];
  if (typeof currency !== 'string' || !/^[A-Z0-9]{2,12}$/.test(currency)) {
    return invalid('currency must be an upper-case currency code');
  }
  if (typeof chain !== 'string' || !/^[A-Z0-9_]{2,16}$/.test(chain))
    return invalid('chain must be a chain code');
  // A master wallet holds one currency (seed 000): an address for another one is refused.
  if (wallet.master && !wallet.balances.some((b) => b.currency === currency))
    return invalid(`currency ${currency} is not supported by this wallet`);
  return ok(context.state.addAddress(walletId, currency, chain));
};

/** `GET /cryptoconnect/convert/currency-pair` */
export const getCurrencyPair: ApiHandler = (context, call) => currencyPair(context, call.query);

/** `POST /cryptoconnect/convert/estimate-quote` */
export const postEstimateQuote: ApiHandler = (context, call) => estimateQuote(context, call.body);

/** `POST /cryptoconnect/convert/trades` */
export const postTrade: ApiHandler = (context, call) => {
  const { reply, created } = createTrade(context, call.body, {
    failed: call.fault === 'trade-failed',
    ...(call.status ? { status: call.status } : {}),
  });
  if (created !== null) context.events.emit('trade', created);
  return reply;
};

/** `POST /cryptoconnect/transfers/fee-and-quota` */
export const postFeeAndQuota: ApiHandler = (context, call) => feeAndQuota(context, call.body);

/** `POST /cryptoconnect/transfers` */
export const postWithdrawal: ApiHandler = (context, call) => {
  const { reply, created } = createWithdrawal(context, call.body);
  if (created !== null) context.onWithdrawal(structuredClone(created), call.fault);
  return reply;
};

function asObject(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}

function invalid(message: string): Reply {
  return fail(400, CODE_INVALID_PARAMETER, message);
}

function notFound(context: SimContext, message: string): Reply {
  return fail(context.options.businessErrorHttpStatus, CODE_NOT_FOUND, message);
}
