import type { DepositStatus, Envelope, InternalTransfer } from '../src/interlace/types.js';

export type AuthFailureMode = 'http-401' | 'code-401003';

export type SimulatorOptions = {
  clientId: string;
  clientSecret: string;
  /** Key of the webhook signatures; defaults to clientSecret (API-NOTES §5). */
  webhookSecret?: string;
  /** `expiresIn` of issued tokens, and when they stop working. Default 86400. */
  tokenTtlSeconds?: number;
  /** Issuing a token revokes the older ones of that clientId (API-NOTES §2, SEEN). Default true. */
  invalidatePreviousTokens?: boolean;
  /** How a bad token is answered: HTTP 401 + code 401003 (default), or HTTP 200 + code 401003. */
  authFailure?: AuthFailureMode;
  /** Fee rate of an internal transfer, as a decimal string. Default "0.005" (seed 001: 10 USDC -> 0.05). */
  feeRate?: string;
  /** Seed of the PRNG behind ids and probabilistic faults. Default 1. */
  seed?: number;
  /** Fixed latency added to every Open API call (not to control calls). Default 0. */
  latencyMs?: number;
  /** eventType of deposit notifications. Default CRYPTO_CONNECT_TRANSFER.UPDATED. */
  depositEventType?: string;
  /** HTTP status of business errors (insufficient balance, 010021, idempotency conflict...). Default 200. */
  businessErrorHttpStatus?: number;
  /** How long an authorization code stays usable. Default 300. */
  authCodeTtlSeconds?: number;
  /** Timeout of webhook deliveries; Interlace itself gives the receiver 5 s (API-NOTES §5). Default 5000. */
  deliveryTimeoutMs?: number;
  /** Fee rate of a conversion trade, in the quote currency. Default "0.005" (seed 001: 10 USD -> 0.05 fee). */
  convertFeeRate?: string;
  /** GAS fee of a blockchain transfer, in its currency. Default "0.2" (seed 001). */
  withdrawGas?: string;
  /** Whether GAS comes out of a withdrawal's amount (default, as seed 001's example implies) or on top. */
  withdrawGasMode?: 'deducted' | 'on-top';
  /** Delay from a withdrawal's Pending to its Closed (or the fault's status). Default 0. */
  withdrawConfirmMs?: number;
  /** eventType of withdrawal status notifications. Default CRYPTO_CONNECT_TRANSFER.UPDATED (ASSUMED). */
  withdrawalEventType?: string;
  /** The receiver's callback URL for withdrawal status notifications; none are sent while unset. */
  webhookUrl?: string;
  /**
   * What `POST /cryptoconnect/wallets` does with a referenceId it has seen (Interlace's docs are silent,
   * API-NOTES §9): answer the existing wallet (default), refuse with a business error, or (the worst
   * case a client must survive) create another wallet.
   */
  duplicateWalletReference?: 'existing' | 'error' | 'create';
  /** The clock, in ms since the epoch; tests move it forward to expire tokens without waiting. */
  now?: () => number;
};

export type ResolvedOptions = Required<Omit<SimulatorOptions, 'now' | 'webhookUrl'>> & {
  now: () => number;
  webhookUrl: string | undefined;
};

/** A crypto deposit the simulator knows about (the resource of its notifications). */
export type SimDeposit = {
  id: string;
  accountId: string;
  walletId: string;
  currency: string;
  amount: string;
  chain: string;
  txHash: string;
  address: string;
  status: DepositStatus;
  /** True once the amount has been added to the wallet (exactly once, on the first CLOSED). */
  credited: boolean;
  createTime: string;
  updateTime: string;
};

export type CreditDepositInput = {
  walletId: string;
  currency: string;
  amount: string;
  status?: DepositStatus;
  chain?: string;
  txHash?: string;
  address?: string;
  depositId?: string;
};

/** One committed internal transfer, as the ledger keeps it. */
export type SimTransfer = {
  id: string;
  clientTransactionId: string;
  accountId: string;
  /** The parsed request body exactly as received. */
  request: unknown;
  /** The request body's bytes as received. */
  rawBody: string;
  idempotencyKey: string | null;
  response: Envelope<InternalTransfer>;
  currency: string;
  amount: string;
  fee: string;
  net: string;
  time: string;
  /** How many later calls with the same clientTransactionId and body got this transfer back. */
  replays: number;
  /** The status its answers carry now (CLOSED unless a transfer-status fault said otherwise). */
  status: string;
  /** A non-final status turns into `settleTo` once it has been repeated this many times. */
  settlesAfter?: number;
  settleTo?: string;
};

/** The transfer calls one clientTransactionId received: what tells a retry from a double send. */
export type TransferCalls = {
  clientTransactionId: string;
  /** Every call received, answered or not (faults, timeouts and resets included). */
  calls: number;
  /** Calls answered with a success envelope whose transfer status was CLOSED: the client knew. */
  confirmed: number;
  /** When the first CLOSED answer was sent (ms), or null. */
  firstConfirmedAt: number | null;
  /** When the latest call arrived (ms). */
  lastCallAt: number;
  /** Times (ms) of calls that arrived after a CLOSED answer had been delivered: re-sends. */
  resentAfterConfirmed: number[];
};

export type TokenState = 'active' | 'expired' | 'revoked';

/** An issued access token, described without its value. */
export type TokenInfo = {
  fingerprint: string;
  clientId: string;
  issuedAt: number;
  expiresAt: number;
  state: TokenState;
  revokedAt: number | null;
};

/** One Open API call, as logged. Never holds the token itself, only its fingerprint. */
export type RequestLogEntry = {
  seq: number;
  time: number;
  endpoint: string;
  method: string;
  path: string;
  query: Record<string, unknown>;
  body: unknown;
  /** HTTP status sent; null while pending, or when the socket was dropped instead. */
  status: number | null;
  /** Business code of the reply (also when a fault dropped it after the commit). */
  code: string | null;
  fault: string | null;
  outcome: 'pending' | 'answered' | 'reset' | 'timeout' | 'aborted';
  idempotencyKey: string | null;
  tokenFingerprint: string | null;
  durationMs: number | null;
};

export type CurrencySummary = {
  /** Sum of credited (CLOSED) deposits. */
  deposited: string;
  /** Sum of transfer amounts taken out of CryptoConnect wallets. */
  transferredOut: string;
  /** Fees kept by Interlace on those transfers. */
  fees: string;
  /** USD credited to Infinity wallets by those transfers: transferredOut = usdCredited + fees. */
  usdCredited: string;
  /** What is left in the CryptoConnect wallets. */
  walletAvailable: string;
};

export type SimSummary = {
  currencies: Record<string, CurrencySummary>;
  usdCreditedTotal: string;
  deposits: number;
  transfers: number;
  replays: number;
  requests: number;
};

export type DeliveryResult = { status: number; body: unknown };

export type SentNotification = {
  time: number;
  url: string;
  notificationId: string;
  eventType: string;
  depositId: string | null;
  resourceStatus: string | null;
  status: number | null;
  error: string | null;
};
