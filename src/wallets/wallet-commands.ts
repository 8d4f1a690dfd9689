import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Config } from '../config.js';
import type { DepositStore } from '../deposits/deposit-store.js';
import type { DepositRecord } from '../deposits/deposit-state.js';
import type { InterlaceClient } from '../interlace/client.js';
import { InterlaceError } from '../interlace/errors.js';
import type { CryptoConnectWallet, WalletAddress } from '../interlace/types.js';
import type { Logger } from '../logger.js';
import { ApiError } from '../merchant-api/api-error.js';
import { merchantReason } from '../policy/deposit-policy.js';
import {
  afterCreateFailure,
  creationLeaseMs as leaseFor,
  interlaceCallBudgetMs,
  type CreateFailure,
} from '../policy/wallet-creation-policy.js';
import { nameBasedUuid } from '../sweep/transaction-id.js';
import type { WalletRecord, WalletStore } from './wallet-store.js';

export type WalletCommandDeps = {
  config: Config;
  logger: Logger;
  wallets: WalletStore;
  deposits: DepositStore;
  client: Pick<
    InterlaceClient,
    | 'createCryptoConnectWallet'
    | 'listCryptoConnectWalletsPage'
    | 'getCryptoConnectWallet'
    | 'createWalletAddress'
  >;
  now?: () => number;
  /** Waits (for a create to settle); node:timers/promises setTimeout unless a test replaces it. */
  sleep?: (ms: number) => Promise<unknown>;
};

/** A wallet as the merchant API answers it (seed 002's fields, plus its state and mode). */
export type PublicWallet = {
  id: string;
  name: string;
  external_id: string;
  /** Interlace's CryptoConnect wallet id; null while the creation has not finished. */
  wallet_id: string | null;
  state: 'creating' | 'active';
  mode: 'mor' | 'gateway';
  created: string;
  updated: string;
};

export type WalletBalance = { currency: string; available: string; frozen: string };

/** A wallet with what Interlace holds for it now: balances and deposit addresses. */
export type WalletDetail = PublicWallet & {
  balances: WalletBalance[];
  addresses: { currency: string; chain: string; address: string; selected: boolean }[];
};

/** A deposit into a wallet as the merchant API answers it (amounts decimal strings, times ISO 8601). */
export type PublicDeposit = {
  id: string;
  wallet_id: string;
  external_id: string;
  state: string;
  upstream_status: string;
  currency: string;
  amount: string;
  chain: string | null;
  tx_hash: string | null;
  address: string | null;
  fee: string | null;
  fee_currency: string | null;
  net_usd: string | null;
  transfer_id: string | null;
  reason: string | null;
  created: string;
  updated: string;
  swept_at: string | null;
};

const EXTERNAL_ID = /^[\x21-\x7e]{1,128}$/;
const NAME_MAX = 100;
const CURRENCY = /^[A-Z0-9]{2,12}$/;
const CHAIN = /^[A-Z0-9_]{2,16}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
export const MAX_LIST_LIMIT = 200;

/**
 * POST /wallets: a CryptoConnect wallet for the merchant's customer, exactly one per external_id.
 *
 * The external_id is reserved in Redis first, with a referenceId (UUID v4) chosen and stored before any
 * call, so every request for it sends the same one. A request sends at most one create call, and only
 * while it holds the creation's lease (a token of its own, checked in Redis right before the call).
 * Once a create has been sent, none is sent again before the account's wallets have been listed, at
 * least WALLET_CREATE_SETTLE_MS after it was sent, and none carries that referenceId: a lost answer, or
 * a create Interlace commits after the client gave up, never becomes a second wallet, whatever
 * Interlace does with a repeated referenceId (undocumented). A request that finds the external_id taken
 * answers duplicate_external_id, unless the earlier creation is unfinished and no one holds it: then
 * this request finishes it (a retry after a 503).
 */
export async function createWallet(
  deps: WalletCommandDeps,
  body: unknown,
  createdBy: string,
): Promise<{ created: true; wallet: WalletDetail }> {
  const { mode, accountId } = deps.config.merchantApi;
  if (mode === 'gateway') {
    throw new ApiError(
      'invalid_request',
      "INTERLACE_MODE is gateway: this account's wallets are Interlace's master wallets, provisioned after KYC, and none can be created; list them with GET /wallets",
      { reason: 'gateway-mode' },
    );
  }
  const input = checkCreateBody(body);
  const now = clock(deps);
  const leaseMs = creationLeaseMs(deps.config);
  const leaseToken = randomUUID();
  const reserved = await deps.wallets.reserve({
    id: randomUUID(),
    name: input.name,
    externalId: input.externalId,
    referenceId: randomUUID(),
    accountId,
    mode,
    createdBy,
    now,
    leaseMs,
    leaseToken,
  });
  if (reserved.outcome === 'exists') {
    const claim = await deps.wallets.claim(reserved.id, { name: input.name, now, leaseMs, leaseToken });
    if (claim.outcome !== 'claimed') {
      throw new ApiError('duplicate_external_id', 'A wallet with this external_id already exists', {
        external_id: input.externalId,
      });
    }
  }
  const record = await deps.wallets.get(reserved.id);
  if (record === undefined) throw new Error(`wallet ${reserved.id} vanished after its reservation`);
  const wallet = await provision(deps, record, leaseToken);
  deps.logger.info(
    { walletId: wallet.id, externalId: wallet.external_id, interlaceWalletId: wallet.wallet_id, createdBy },
    'wallet created',
  );
  return { created: true, wallet };
}

/** The creation's calls: look up an earlier create, else send one, and look it up if its answer is lost. */
async function provision(
  deps: WalletCommandDeps,
  record: WalletRecord,
  leaseToken: string,
): Promise<WalletDetail> {
  const log = deps.logger.child({ walletId: record.id, referenceId: record.reference_id });
  try {
    // An earlier request sent a create: it may have made the wallet, even after that request gave up.
    if (record.create_sent) {
      const found = await lookUpSettled(deps, record, record.create_sent_at);
      if (found !== undefined) return await finish(deps, record, found);
    }
    const sentAt = clock(deps);
    const marked = await deps.wallets.markCreateSent(record.id, {
      leaseToken,
      now: sentAt,
      callBudgetMs: interlaceCallBudgetMs(deps.config.interlace.timeoutMs),
    });
    if (marked !== 'ok') {
      // Another request took the creation over (this one outran its lease), or finished it: sending
      // now could run beside its create.
      throw new Error(`the creation lease is no longer this request's (${marked})`);
    }
    try {
      const created = await deps.client.createCryptoConnectWallet({
        referenceId: record.reference_id,
        accountId: record.account_id,
        nickname: record.name,
      });
      if (created.referenceId !== undefined && created.referenceId !== record.reference_id) {
        throw new Error('Interlace answered a wallet with another referenceId');
      }
      return await finish(deps, record, created);
    } catch (error) {
      log.warn({ err: error }, 'wallet create call failed');
      const failure: CreateFailure = error instanceof InterlaceError ? error : { category: 'unknown' };
      const next = afterCreateFailure(failure);
      if (next === 'stop') throw error;
      // Never a second create from this request: only a look-up, once a late commit would show.
      // A failed look-up is why the request cannot tell: its error is the answer's.
      const found = await lookUpSettled(deps, record, next === 'look-up-now' ? 0 : sentAt);
      if (found !== undefined) return await finish(deps, record, found);
      throw error;
    }
  } catch (error) {
    try {
      await deps.wallets.releaseLease(record.id, leaseToken);
    } catch (releaseError) {
      // The lease runs out by itself; the answer below matters more.
      log.warn({ err: releaseError }, 'could not release the creation lease');
    }
    throw creationFailed(record, error);
  }
}

/**
 * The wallet a create sent at `sentAt` made, looked up once that create has settled (sentAt +
 * WALLET_CREATE_SETTLE_MS): waits until then. Undefined when a complete list does not show it.
 */
async function lookUpSettled(
  deps: WalletCommandDeps,
  record: WalletRecord,
  sentAt: number,
): Promise<CryptoConnectWallet | undefined> {
  const wait = sentAt + deps.config.merchantApi.createSettleMs - clock(deps);
  if (sentAt > 0 && wait > 0) await (deps.sleep ?? sleep)(wait);
  // A look-up that outruns the lease stops reading and proves nothing (the create is then not sent:
  // markCreateSent checks the lease again).
  const found = await findByReference(deps, record, record.lease_until);
  if (found === 'unknown') throw new Error('the look-up could not see every wallet of the account');
  return found;
}

/** The answer of a creation that did not finish: 503 (send it again), or server_error for a refusal. */
function creationFailed(record: WalletRecord, error: unknown): ApiError {
  const details = {
    id: record.id,
    external_id: record.external_id,
    retry: 'send the same request again: it resumes this creation and never makes a second wallet',
  };
  if (error instanceof InterlaceError && error.category === 'permanent') {
    return new ApiError(
      'server_error',
      'Interlace refused to create the wallet',
      { ...details, upstream: error.reason, interlace_code: error.code ?? null },
      { cause: error },
    );
  }
  return unavailable(error, 'the wallet could not be created at Interlace now', details);
}

/**
 * The account's wallet carrying the record's referenceId; 'unknown' if the answers may not hold every
 * wallet. With WALLET_LOOKUP_PAGE_SIZE the list is walked page by page (`page`/`limit`, ASSUMED) until
 * the wallet is found or every wallet `total` counts has been seen.
 */
async function findByReference(
  deps: WalletCommandDeps,
  record: WalletRecord,
  leaseUntil: number,
): Promise<CryptoConnectWallet | undefined | 'unknown'> {
  const pageSize = deps.config.merchantApi.lookupPageSize;
  let seen = 0;
  for (let page = 1; ; page += 1) {
    const { list, total } = await deps.client.listCryptoConnectWalletsPage(
      record.account_id,
      pageSize > 0 ? { page, limit: pageSize } : {},
    );
    const found = list.find((wallet) => wallet.referenceId === record.reference_id);
    if (found !== undefined) return found;
    seen += list.length;
    // Pagination of this list is undocumented (API-NOTES §9): an answer that proves nothing (fewer
    // wallets than `total`, and no way to ask for the rest) fails the request rather than create
    // again, which could make a second wallet.
    if (total === undefined || seen >= total) return undefined;
    if (pageSize === 0 || list.length === 0 || page >= MAX_LOOKUP_PAGES) return 'unknown';
    // Past the lease another request may take the creation over: stop reading, prove nothing.
    if (clock(deps) >= leaseUntil) return 'unknown';
  }
}

/** The most pages one look-up reads (at 500 a page, a million wallets). */
const MAX_LOOKUP_PAGES = 2_000;

async function finish(
  deps: WalletCommandDeps,
  record: WalletRecord,
  wallet: CryptoConnectWallet,
): Promise<WalletDetail> {
  const now = clock(deps);
  const outcome = await deps.wallets.activate(record.id, wallet.id, now);
  if (outcome !== 'ok') throw new Error(`wallet ${record.id} could not be activated: ${outcome}`);
  const active: WalletRecord = { ...record, wallet_id: wallet.id, state: 'active', updated: now };
  return withInterlace(active, wallet);
}

/** GET /wallets/{id}: the record, with balances and addresses from Interlace when it is active. */
export async function showWallet(deps: WalletCommandDeps, id: string): Promise<WalletDetail> {
  const record = await requireWallet(deps, id);
  if (record.state !== 'active') return { ...publicWallet(record), balances: [], addresses: [] };
  let wallet: CryptoConnectWallet;
  try {
    wallet = await deps.client.getCryptoConnectWallet(record.wallet_id);
  } catch (error) {
    throw asUpstreamError(error, 'the wallet could not be read from Interlace now');
  }
  return withInterlace(record, wallet);
}

/**
 * GET /wallets: one wallet by external_id, or a page of every wallet (oldest first; `next_cursor` until
 * the last page). In gateway mode the first page first adopts the account's master wallets.
 */
export async function listWallets(
  deps: WalletCommandDeps,
  query: { external_id?: string; limit?: number; cursor?: string },
): Promise<{ data: PublicWallet[]; next_cursor: string | null }> {
  if (query.external_id !== undefined) {
    const record = await deps.wallets.findByExternalId(query.external_id);
    return { data: record ? [publicWallet(record)] : [], next_cursor: null };
  }
  if (deps.config.merchantApi.mode === 'gateway' && query.cursor === undefined)
    await adoptMasterWallets(deps);
  const page = await deps.wallets.list({
    limit: query.limit ?? deps.config.merchantApi.defaultListLimit,
    ...(query.cursor === undefined ? {} : { cursor: query.cursor }),
  });
  return { data: page.wallets.map(publicWallet), next_cursor: page.nextCursor ?? null };
}

/**
 * Gateway mode: the account's master wallets (seed 000, `?master=true`) become wallet records with the
 * owner index, under a stable id and `external_id` `master-<CURRENCY>`, so their deposits are known to
 * be the merchant's own. Adopting again changes nothing.
 */
export async function adoptMasterWallets(deps: WalletCommandDeps): Promise<number> {
  let list: CryptoConnectWallet[];
  try {
    ({ list } = await deps.client.listCryptoConnectWalletsPage(deps.config.merchantApi.accountId, {
      master: true,
    }));
  } catch (error) {
    throw asUpstreamError(error, "the account's master wallets could not be listed at Interlace now");
  }
  let adopted = 0;
  for (const wallet of list.filter((w) => w.master !== false)) {
    const currencies = (wallet.balances ?? []).map((b) => b.currency);
    const label = currencies.length === 1 ? currencies[0]! : wallet.id;
    const outcome = await deps.wallets.adopt({
      id: nameBasedUuid(`interlace-sweep:master-wallet:${wallet.id}`),
      externalId: `master-${label}`,
      name: wallet.nickname || `Master Wallet ${label}`,
      walletId: wallet.id,
      accountId: deps.config.merchantApi.accountId,
      mode: 'gateway',
      now: clock(deps),
    });
    if (outcome === 'created') adopted += 1;
  }
  return adopted;
}

/** POST /wallets/{id}/addresses: a new deposit address of the wallet at Interlace. */
export async function createAddress(
  deps: WalletCommandDeps,
  id: string,
  body: unknown,
): Promise<WalletAddress & { wallet: string }> {
  const fields = asObject(body);
  const currency = typeof fields.currency === 'string' ? fields.currency.trim().toUpperCase() : undefined;
  const chain = typeof fields.chain === 'string' ? fields.chain.trim().toUpperCase() : undefined;
  if (currency === undefined || !CURRENCY.test(currency))
    throw invalid('currency', 'currency must be a currency code such as USDC');
  if (chain === undefined || !CHAIN.test(chain))
    throw invalid('chain', 'chain must be a chain code such as ETH');
  const unknown = Object.keys(fields).filter((key) => key !== 'currency' && key !== 'chain');
  if (unknown.length > 0) throw invalid(unknown[0]!, `unknown field ${unknown[0]}`);
  const record = await requireWallet(deps, id);
  if (record.state !== 'active') {
    throw new ApiError(
      'invalid_request',
      'the wallet is still being created: send its POST /wallets again to finish it',
      { reason: 'wallet-creating', id: record.id },
    );
  }
  try {
    const address = await deps.client.createWalletAddress(record.wallet_id, { currency, chain });
    return { wallet: record.id, ...address, selected: address.selected ?? true };
  } catch (error) {
    // Interlace refusing the pair (an unsupported currency or chain, a master wallet's other currency)
    // is the request's fault; its own message is not repeated, only its code (docs/wallets.md).
    if (error instanceof InterlaceError && error.reason === 'business-error') {
      throw new ApiError('invalid_request', `Interlace refused an address for ${currency} on ${chain}`, {
        reason: 'interlace-refused',
        interlace_code: error.code ?? null,
      });
    }
    throw asUpstreamError(error, 'the address could not be created at Interlace now');
  }
}

/** GET /wallets/{id}/deposits: the deposits into the wallet, newest first, paginated by cursor. */
export async function listWalletDeposits(
  deps: WalletCommandDeps,
  id: string,
  query: { limit?: number; cursor?: string },
): Promise<{ data: PublicDeposit[]; next_cursor: string | null }> {
  const record = await requireWallet(deps, id);
  const limit = query.limit ?? deps.config.merchantApi.defaultListLimit;
  if (record.wallet_id === '') return { data: [], next_cursor: null };
  const after = query.cursor === undefined ? undefined : decodeDepositCursor(query.cursor);
  if (query.cursor !== undefined && after === undefined)
    throw invalid('cursor', 'cursor is not one this API gave');
  // The index orders deposits by first-seen time, equal times by id (reverse): skip up to the cursor.
  const skipSameTime = 100;
  const found = await deps.deposits.list({
    walletId: record.wallet_id,
    limit: limit + 1 + (after ? skipSameTime : 0),
    ...(after ? { until: after.at } : {}),
  });
  const rows = found.filter((d) => !after || Number(d.firstSeenAt) < after.at || d.depositId < after.id);
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map((deposit) => publicDeposit(deposit, record)),
    next_cursor:
      rows.length > limit && last ? encodeDepositCursor(Number(last.firstSeenAt), last.depositId) : null,
  };
}

/** The record of a wallet id the API gave, or not_found (also for a string that is no wallet id). */
export async function requireWallet(deps: WalletCommandDeps, id: string): Promise<WalletRecord> {
  const record = UUID.test(id) ? await deps.wallets.get(id) : undefined;
  if (record === undefined) throw new ApiError('not_found', 'no wallet has this id', { id });
  return record;
}

export function publicWallet(record: WalletRecord): PublicWallet {
  return {
    id: record.id,
    name: record.name,
    external_id: record.external_id,
    wallet_id: record.wallet_id === '' ? null : record.wallet_id,
    state: record.state,
    mode: record.mode,
    created: new Date(record.created).toISOString(),
    updated: new Date(record.updated).toISOString(),
  };
}

function withInterlace(record: WalletRecord, wallet: CryptoConnectWallet): WalletDetail {
  return {
    ...publicWallet(record),
    balances: (wallet.balances ?? []).map((b) => ({
      currency: b.currency,
      available: String(b.available),
      frozen: String(b.frozen ?? '0'),
    })),
    addresses: (wallet.addresses ?? []).map((a) => ({
      currency: a.currency,
      chain: a.chain,
      address: a.address,
      selected: a.selected ?? false,
    })),
  };
}

export function publicDeposit(deposit: DepositRecord, wallet: WalletRecord): PublicDeposit {
  const iso = (ms: string | undefined) =>
    ms === undefined || ms === '' ? null : new Date(Number(ms)).toISOString();
  return {
    id: deposit.depositId,
    wallet_id: wallet.id,
    external_id: wallet.external_id,
    state: deposit.state,
    upstream_status: deposit.upstreamStatus,
    currency: deposit.currency,
    amount: deposit.amount,
    chain: deposit.chain || null,
    tx_hash: deposit.txHash || null,
    address: deposit.address || null,
    fee: deposit.feeTotal || null,
    fee_currency: deposit.feeCurrency || null,
    net_usd: deposit.netAmount && (deposit.netCurrency ?? 'USD') === 'USD' ? deposit.netAmount : null,
    transfer_id: deposit.transferId || null,
    reason: merchantReason(deposit.state, deposit.reason),
    created: iso(deposit.firstSeenAt) ?? new Date(0).toISOString(),
    updated: iso(deposit.updatedAt) ?? iso(deposit.firstSeenAt) ?? new Date(0).toISOString(),
    swept_at: iso(deposit.sweptAt),
  };
}

function checkCreateBody(body: unknown): { name: string; externalId: string } {
  const fields = asObject(body);
  const unknown = Object.keys(fields).filter((key) => key !== 'name' && key !== 'external_id');
  if (typeof fields.name !== 'string' || fields.name.trim() === '')
    throw invalid('name', 'name is required: a non-empty string');
  const name = fields.name.trim();
  if (name.length > NAME_MAX || /[\p{Cc}]/u.test(name))
    throw invalid('name', `name must be at most ${NAME_MAX} characters, without control characters`);
  if (typeof fields.external_id !== 'string' || fields.external_id === '')
    throw invalid('external_id', 'external_id is required: a non-empty string');
  if (!EXTERNAL_ID.test(fields.external_id))
    throw invalid('external_id', 'external_id must be 1-128 printable ASCII characters without spaces');
  if (unknown.length > 0) throw invalid(unknown[0]!, `unknown field ${unknown[0]}`);
  return { name, externalId: fields.external_id };
}

function asObject(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new ApiError('invalid_request', 'the body must be a JSON object (Content-Type: application/json)');
  }
  return body as Record<string, unknown>;
}

function invalid(field: string, message: string): ApiError {
  return new ApiError('invalid_request', message, { field });
}

/** Interlace (or Redis) unreachable: 503, saying nothing of the upstream's own answer. */
function unavailable(cause: unknown, message: string, details: Record<string, unknown> = {}): ApiError {
  const extra =
    cause instanceof InterlaceError
      ? {
          upstream: cause.reason,
          ...(cause.retryAfterMs ? { retry_after_s: Math.ceil(cause.retryAfterMs / 1000) } : {}),
        }
      : {};
  return new ApiError('service_unavailable', message, { ...details, ...extra }, { cause });
}

function asUpstreamError(error: unknown, message: string): Error {
  if (error instanceof ApiError) return error;
  if (error instanceof InterlaceError && error.category !== 'permanent') return unavailable(error, message);
  // A permanent refusal or a malformed answer: a server_error, logged by the error handler.
  return error instanceof Error ? error : new Error(String(error));
}

/** How long a request may hold a creation (the policy's creationLeaseMs under this configuration). */
export function creationLeaseMs(config: Config): number {
  return leaseFor({ timeoutMs: config.interlace.timeoutMs, settleMs: config.merchantApi.createSettleMs });
}

function clock(deps: WalletCommandDeps): number {
  return deps.now?.() ?? Date.now();
}

function encodeDepositCursor(at: number, id: string): string {
  return Buffer.from(JSON.stringify([at, id]), 'utf8').toString('base64url');
}

function decodeDepositCursor(cursor: string): { at: number; id: string } | undefined {
  try {
    const value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown;
    if (Array.isArray(value) && Number.isSafeInteger(value[0]) && typeof value[1] === 'string')
      return { at: value[0] as number, id: value[1] };
  } catch {
    // Not ours: undefined below.
  }
  return undefined;
}
