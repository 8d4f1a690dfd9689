// Shapes of the Interlace Open API v3 as the service relies on them (see README "Interlace API contract").

/** `{"code":"000000"|0, "message", "data"}`: success is "000000" or 0, anything else a business error. */
export type Envelope<T> = { code: string | number; message?: string; data?: T };

export type List<T> = { list: T[]; total: string };

export type AuthorizeData = { code: string; timestamp?: number };
export type AccessTokenData = {
  accessToken: string;
  refreshToken?: string;
  expiresIn: number;
  timestamp?: number;
};

/** An Infinity account wallet (`GET /cards/wallets`). */
export type InfinityWallet = {
  id: string;
  accountId: string;
  createTime?: string;
  currency: string;
  walletType?: number;
  objectType?: number;
  available?: string;
};

export type Balance = { id?: string; currency: string; available: string; frozen: string };

/** A CryptoConnect wallet (`/cryptoconnect/wallets`). */
export type CryptoConnectWallet = {
  id: string;
  referenceId?: string;
  accountId: string;
  nickname?: string;
  master: boolean;
  balances: Balance[];
  addresses: { currency: string; chain: string; address: string; selected?: boolean }[];
};

/** `POST /cryptoconnect/wallets` (seed 000, MoR mode): referenceId is the merchant-unique UUID v4 key. */
export type CreateWalletRequest = { referenceId: string; accountId: string; nickname: string };

/** A deposit address of a CryptoConnect wallet (`POST /cryptoconnect/wallets/{id}/addresses`). */
export type WalletAddress = { currency: string; chain: string; address: string; selected?: boolean };

export type BusinessType = 0 | 2;

export type InternalTransferRequest = {
  clientTransactionId: string;
  accountId: string;
  from: { businessType: BusinessType; id: string; currency: string };
  to: { businessType: BusinessType; id: string; currency: string };
  amount: string;
};

export type Fee = { feeType: number; amount: string; currency: string };

export type TransferLeg = {
  id: string;
  transferId: string;
  accountId: string;
  amount: string;
  rate?: number | string;
  currency: string;
  businessType: number;
  fees: Fee[];
};

export type InternalTransfer = {
  clientTransactionId: string;
  id: string;
  status: 'CLOSED' | 'PENDING' | 'FAIL' | string;
  accountTransferType: string;
  from: TransferLeg;
  to: TransferLeg;
};

/** A conversion pair and its minimums (`GET /cryptoconnect/convert/currency-pair`, API-NOTES §9). */
export type CurrencyPair = {
  symbol: string;
  baseCurrency: string;
  baseMin: string;
  quoteCurrency: string;
  quoteMin: string;
};

/** The body of estimate-quote; a trade adds its `referenceId` (seed 001, steps 2-3). */
export type QuoteRequest = {
  accountId: string;
  baseCurrency: string;
  quoteCurrency: string;
  side: 'BUY' | 'SELL';
  rfqCurrency: string;
  rfqAmount: string;
};

export type TradeRequest = QuoteRequest & { referenceId: string };

/** A preview; the trade re-quotes, so its amounts are only indicative. */
export type Quote = {
  id: string;
  baseCurrency: string;
  baseAmount: string;
  quoteCurrency: string;
  quoteAmount: string;
  side: string;
  rate: string;
  fee: string;
  feeCurrency: string;
  ttlMs?: string;
};

/** A conversion trade; `COMPLETE` is the only status the docs show (API-NOTES §9). */
export type Trade = Quote & {
  accountId?: string;
  symbol?: string;
  baseWalletId?: string;
  status: string;
  referenceId: string;
  createTime?: string;
  completeTime?: string;
};

export type TransferEndpoints = {
  source: { type: string; id: string };
  destination: { type: string; chain: string; address: string };
  amount: { amount: string; currency: string };
};

/** `POST /cryptoconnect/transfers/fee-and-quota` body (seed 001, step 4). */
export type FeeQuotaRequest = TransferEndpoints & { accountId: string };

export type FeeQuota = {
  crossChainQuota?: string;
  crossChainFeeRate?: string;
  crossChainAmount?: string;
  fees: { amount: string; currency: string; type: string }[];
};

/** `POST /cryptoconnect/transfers` body: `idempotencyKey` is its only idempotency key (API-NOTES §9). */
export type BlockchainTransferRequest = TransferEndpoints & { idempotencyKey: string };

/** A blockchain transfer out: `Pending` (no hash) then `Closed` with `transactionHash` (seed 001, step 5). */
export type BlockchainTransfer = TransferEndpoints & {
  id: string;
  accountId?: string;
  idempotencyKey: string;
  fees?: { amount: string; currency: string; type: string }[];
  status: string;
  transactionHash?: string | null;
  createTime?: string;
  updateTime?: string;
};

/** The v3 webhook envelope (API-NOTES §5); `resource` is a JSON string, signed as received. */
export type WebhookEnvelope = {
  eventType: string;
  apiVersion?: string;
  code?: string;
  message?: string;
  resource: string;
  createTime?: string;
  id: string;
};

/** Deposit statuses of the ASSUMED CryptoConnect deposit notification (API-NOTES §6). */
export type DepositStatus = 'PENDING' | 'CLOSED' | 'ON_HOLD' | 'FAIL';

/** The ASSUMED `resource` of a CryptoConnect deposit notification (API-NOTES §6). */
export type DepositResource = {
  id: string;
  accountId: string;
  walletId: string;
  direction: 'IN' | 'OUT';
  chain?: string;
  currency: string;
  amount: string;
  txHash?: string;
  address?: string;
  status: DepositStatus;
  createTime?: string;
  updateTime?: string;
};

export const INTERLACE_API_PREFIX = '/open-api/v3';
export const CODE_INSUFFICIENT_BALANCE = '100100001';
export const CODE_BALANCE_NOT_FOUND = '010021';
export const CODE_TOKEN_INVALID = '401003';
