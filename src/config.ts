import { z } from 'zod';
import { Decimal } from './sweep/decimal.js';
import { parseRedisUrl } from './redis-url.js';
import { parseApiKeys, type ApiKeyEntry } from './merchant-api/api-keys.js';

/** Event types that default to "crypto deposit" (API-NOTES §6, ASSUMED: confirm in the sandbox). */
export const DEFAULT_DEPOSIT_EVENT_TYPES = [
  'CRYPTO_CONNECT_TRANSFER.CREATED',
  'CRYPTO_CONNECT_TRANSFER.UPDATED',
];

const list = (fallback: string) =>
  z
    .string()
    .default(fallback)
    .transform((value) =>
      value
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item.length > 0),
    )
    .refine((items) => items.length > 0, 'must list at least one value');

/** A comma list that may be empty (an unset allow-list, no extra accounts). */
const optionalList = z
  .string()
  .default('')
  .transform((value) =>
    value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  );

const int = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const bool = (fallback: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'])
    .default(fallback ? 'true' : 'false')
    .transform((value) => value === 'true' || value === '1' || value === 'yes');

const decimalString = z
  .string()
  .regex(/^\d+(\.\d+)?$/, 'must be a non-negative decimal such as "1" or "0.50"')
  .transform((value) => new Decimal(value).toFixed());

const redisUrl = z
  .string()
  .default('redis://127.0.0.1:6379')
  .superRefine((value, ctx) => {
    try {
      parseRedisUrl(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: (error as Error).message });
    }
  });

// Egress proxies are read where connections are made (src/http-client.ts, through proxy-from-env, in
// either case as curl does); they are checked here so that a malformed one fails boot by name. A value
// without a scheme would be taken as a TLS proxy for HTTPS targets: refused rather than guessed.
const proxyUrl = z
  .string()
  .optional()
  .refine(
    (value) => value === undefined || /^https?:\/\/[^/\s]+/i.test(value),
    'must be a proxy URL such as http://proxy.example:3128',
  );

const optionalSecret = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value === '' ? undefined : value));

const schema = z
  .object({
    NODE_ENV: z.string().default('production'),
    PORT: int(3000, 0, 65535),
    HOST: z.string().default('0.0.0.0'),
    ADMIN_PORT: int(0, 0, 65535),
    ADMIN_HOST: z.string().default('127.0.0.1'),
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: z
      .string()
      .default('isweep')
      .refine((value) => /^[A-Za-z0-9_{}.-]{1,64}$/.test(value), 'letters, digits, _ . - { } only'),
    INTERLACE_BASE_URL: z.url().default('https://api-sandbox.interlace.money'),
    INTERLACE_CLIENT_ID: z.string().min(1, 'is required'),
    INTERLACE_CLIENT_SECRET: z.string().min(1, 'is required'),
    INTERLACE_WEBHOOK_SECRET: optionalSecret,
    INTERLACE_DEPOSIT_EVENT_TYPES: list(DEFAULT_DEPOSIT_EVENT_TYPES.join(',')),
    INTERLACE_TIMEOUT_MS: int(10_000, 100, 120_000),
    INTERLACE_TOKEN_RENEW_BEFORE_S: int(300, 0, 86_400),
    INTERLACE_WALLET_TYPE_PARAM: z.enum(['walletType', 'objectType']).default('walletType'),
    INTERLACE_TOKEN_SEND_SECRET: bool(false),
    SWEEP_CURRENCIES: list('USD,USDC,USDT,WUSD').transform((items) =>
      items.map((item) => item.toUpperCase()),
    ),
    SWEEP_MIN_AMOUNT: decimalString.default('1'),
    // A sanity bound: a deposit above it is held for an operator instead of swept ("none" = no bound).
    SWEEP_MAX_AMOUNT: z
      .string()
      .default('1000000')
      .refine(
        (value) => value === 'none' || /^\d+(\.\d+)?$/.test(value),
        'must be a decimal such as "1000000", or "none"',
      )
      .transform((value) => (value === 'none' ? undefined : new Decimal(value).toFixed())),
    // Transfer statuses that count as swept, compared case-insensitively (API-NOTES §4: CLOSED seen).
    SWEEP_TRANSFER_SUCCESS_STATUSES: list('CLOSED').transform((items) =>
      items.map((item) => item.toUpperCase()),
    ),
    SWEEP_TRANSFER_LOOKUPS: int(5, 0, 100),
    // Interlace keeps idempotency records 90 days (API-NOTES §9): never resend a transfer first sent
    // longer ago than this. At most 89, so the margin can never be zero.
    SWEEP_IDEMPOTENCY_WINDOW_DAYS: int(85, 1, 89),
    SWEEP_ATTEMPTS: int(10, 1, 100),
    // Finished sweep jobs kept for the dashboard; the ledger, not the job, is the record (docs/capacity.md).
    SWEEP_KEEP_COMPLETED_JOBS: int(1_000, 0, 1_000_000),
    SWEEP_BACKOFF_MS: int(2_000, 1, 3_600_000),
    SWEEP_BACKOFF_MAX_MS: int(600_000, 1, 86_400_000),
    SWEEP_INSUFFICIENT_BALANCE_RETRIES: int(3, 0, 50),
    WORKER_CONCURRENCY: int(10, 1, 500),
    SWEEP_LOCK_MS: int(15_000, 1_000, 600_000),
    SWEEP_STALLED_INTERVAL_MS: int(5_000, 500, 600_000),
    SWEEP_RATE_LIMIT_PER_S: int(1_000, 1, 1_000_000),
    SHUTDOWN_TIMEOUT_MS: int(25_000, 0, 600_000),
    WALLET_CACHE_TTL_S: int(3_600, 0, 604_800),
    EVENT_LOG_MAX_LEN: int(100_000, 100, 100_000_000),
    EVENT_LOG_MAX_BYTES: int(256 * 1024 * 1024, 1024 * 1024, 64 * 1024 * 1024 * 1024),
    DEAD_LETTER_MAX_BODY_BYTES: int(64 * 1024, 1024, 1024 * 1024),
    LEDGER_RETENTION_DAYS: int(90, 1, 3_650),
    WEBHOOK_TIMEOUT_MS: int(3_000, 100, 4_500),
    INGEST_BATCH_SIZE: int(50, 1, 10_000),
    INGEST_BATCH_WAIT_MS: int(5, 0, 1_000),
    INGEST_RECLAIM_IDLE_MS: int(30_000, 500, 3_600_000),
    INGEST_MAX_FAILURES: int(5, 1, 1_000),
    DASHBOARD_READ_ONLY: bool(true),
    DASHBOARD_ENVIRONMENT: z.string().max(40).optional(),
    ALERT_WEBHOOK_URL: z.url().optional(),
    // A deposit into a wallet this service did not create (no owner record; a master wallet in MoR
    // mode): held for an operator unless the merchant says such deposits are theirs to sweep (issue #10).
    UNKNOWN_WALLET_DEPOSITS: z.enum(['sweep', 'hold']).default('hold'),
    // Outgoing deposit events to the merchant's backend (docs/merchant-events.md); off without a URL.
    MERCHANT_WEBHOOK_URL: z.url().optional(),
    MERCHANT_WEBHOOK_SECRET: z
      .string()
      .optional()
      .refine(
        (value) => value === undefined || isWebhookSecret(value),
        'must be whsec_ followed by the base64 of 24 to 64 random bytes (Standard Webhooks)',
      ),
    MERCHANT_WEBHOOK_ATTEMPTS: int(12, 1, 100),
    MERCHANT_WEBHOOK_BACKOFF_MS: int(5_000, 1, 3_600_000),
    MERCHANT_WEBHOOK_TIMEOUT_MS: int(10_000, 100, 60_000),
    OPS_COMMAND_HINT: z.string().max(200).default('interlace-sweep-ops'),
    METRICS_PORT: int(0, 0, 65535),
    RECONCILE_ENABLED: bool(true),
    RECONCILE_INTERVAL_MS: int(15 * 60_000, 10_000, 7 * 86_400_000),
    RECONCILE_ACCOUNT_IDS: optionalList,
    HTTPS_PROXY: proxyUrl,
    https_proxy: proxyUrl,
    HTTP_PROXY: proxyUrl,
    http_proxy: proxyUrl,
    ALL_PROXY: proxyUrl,
    all_proxy: proxyUrl,
    NO_PROXY: z.string().optional(),
    no_proxy: z.string().optional(),
    // Payouts (issue #11; docs/payouts.md). Off until an account and a CryptoConnect wallet are named.
    PAYOUT_ACCOUNT_ID: z.string().optional(),
    PAYOUT_WALLET_ID: z.string().optional(),
    PAYOUT_MAX_AMOUNT: decimalString.default('1000'),
    PAYOUT_DAILY_LIMIT: decimalString.default('10000'),
    PAYOUT_ALLOWED_ADDRESSES: optionalList,
    PAYOUT_REQUIRE_APPROVAL: bool(false),
    PAYOUT_CURRENCIES: list('USDC,USDT,WUSD').transform((items) => items.map((item) => item.toUpperCase())),
    PAYOUT_CHAINS: list('ETH,ARB,BSC,POLYGON,BASE,OP,TRON,SOL').transform((items) =>
      items.map((item) => item.toUpperCase()),
    ),
    PAYOUT_ATTEMPTS: int(8, 1, 100),
    PAYOUT_CONFIRM_TIMEOUT_MS: int(2 * 3_600_000, 1_000, 7 * 86_400_000),
    // Safely inside Interlace's 90 days, as the sweep's window (a day's clock skew or a late retry can
    // never make a resend land on a forgotten idempotency value).
    PAYOUT_IDEMPOTENCY_WINDOW_DAYS: int(85, 1, 89),
    PAYOUT_EVENT_TYPES: list(DEFAULT_DEPOSIT_EVENT_TYPES.join(',')),
    // Where the docs disagree or are silent (API-NOTES §8/§9): the documented example is the default.
    PAYOUT_FUNDING_TO: z.enum(['account', 'wallet']).default('account'),
    PAYOUT_FEE_SOURCE_TYPE: z.string().min(1).default('WALLET'),
    PAYOUT_FEE_DESTINATION_TYPE: z.string().min(1).default('BLOCKCHAIN'),
    PAYOUT_TRANSFER_SOURCE_TYPE: z.string().min(1).default('cryptoconnect_wallet'),
    PAYOUT_TRANSFER_DESTINATION_TYPE: z.string().min(1).default('blockchain'),
    PAYOUT_GAS_MODE: z.enum(['deducted', 'on-top']).default('deducted'),
    PAYOUT_STATUS_PENDING: list('Pending'),
    PAYOUT_STATUS_CLOSED: list('Closed'),
    PAYOUT_STATUS_ON_HOLD: list('ON_HOLD'),
    PAYOUT_STATUS_FAILED: list('Failed,Fail'),
    // What new payout ids (and so their step idempotency values) derive under, besides external_id:
    // unset means the payout account id (attack review round 2, item 7).
    PAYOUT_ID_NAMESPACE: z.string().min(1).max(200).optional(),
    // Step 1 and the refund (internal transfers) and the trade: only a listed success status is done,
    // only a listed failure status is a refusal (nothing moved); anything else holds the payout with
    // the step in doubt (attack review round 2, item 4).
    PAYOUT_TRANSFER_SUCCESS_STATUSES: list('CLOSED'),
    PAYOUT_TRANSFER_FAILED_STATUSES: list('FAIL,FAILED,REJECTED'),
    PAYOUT_TRADE_SUCCESS_STATUSES: list('COMPLETE'),
    PAYOUT_TRADE_FAILED_STATUSES: list('FAIL,FAILED,REJECTED'),
    // The merchant API (issue #10; docs/wallets.md): off until at least one key is configured.
    MERCHANT_API_KEYS: z
      .string()
      .default('')
      .transform((value, ctx) => {
        try {
          return parseApiKeys(value);
        } catch (error) {
          ctx.addIssue({ code: 'custom', message: (error as Error).message });
          return z.NEVER;
        }
      }),
    INTERLACE_MODE: z.enum(['mor', 'gateway']).default('mor'),
    INTERLACE_ACCOUNT_ID: z.string().optional(),
    // Unset: twice INTERLACE_TIMEOUT_MS (the loader derives it). Never below the client's deadline.
    WALLET_CREATE_SETTLE_MS: z.coerce.number().int().min(100).max(600_000).optional(),
    WALLET_LIST_DEFAULT_LIMIT: int(50, 1, 200),
    WALLET_LOOKUP_PAGE_SIZE: int(0, 0, 500),
    WALLET_ADOPT_INTERVAL_MS: int(600_000, 1_000, 86_400_000),
    DASHBOARD_USER: optionalSecret,
    DASHBOARD_PASSWORD: optionalSecret,
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    LOG_FORMAT: z.enum(['json', 'pretty']).default('json'),
    BUILD_COMMIT: z
      .string()
      .regex(/^[0-9a-f]{7,40}$/i, 'must be a git commit hash')
      .optional(),
  })
  .superRefine((env, ctx) => {
    // On a Cluster every key of the service must live in one hash slot, or its scripts and BullMQ's fail.
    if (env.REDIS_URL.includes('+cluster://') && !/\{[^{}]+\}/.test(env.QUEUE_PREFIX)) {
      ctx.addIssue({
        code: 'custom',
        path: ['QUEUE_PREFIX'],
        message: 'must contain a hash tag such as {isweep} when REDIS_URL is a redis+cluster:// URL',
      });
    }
    if ((env.PAYOUT_ACCOUNT_ID === undefined) !== (env.PAYOUT_WALLET_ID === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.PAYOUT_ACCOUNT_ID === undefined ? 'PAYOUT_ACCOUNT_ID' : 'PAYOUT_WALLET_ID'],
        message: 'PAYOUT_ACCOUNT_ID and PAYOUT_WALLET_ID go together: set both or neither',
      });
    }
    if (env.INTERLACE_MODE === 'gateway' && env.INTERLACE_ACCOUNT_ID === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['INTERLACE_ACCOUNT_ID'],
        message: 'is required when INTERLACE_MODE is gateway (the account whose master wallets are adopted)',
      });
    } else if (env.MERCHANT_API_KEYS.length > 0 && env.INTERLACE_ACCOUNT_ID === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['INTERLACE_ACCOUNT_ID'],
        message: 'is required when MERCHANT_API_KEYS is set (the account whose wallets the API manages)',
      });
    }
    if (env.WALLET_CREATE_SETTLE_MS !== undefined && env.WALLET_CREATE_SETTLE_MS < env.INTERLACE_TIMEOUT_MS) {
      ctx.addIssue({
        code: 'custom',
        path: ['WALLET_CREATE_SETTLE_MS'],
        message:
          'must be at least INTERLACE_TIMEOUT_MS: a create call Interlace commits after the client gave up must be found by the look-up',
      });
    }
    if (env.MERCHANT_WEBHOOK_URL !== undefined && env.MERCHANT_WEBHOOK_SECRET === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['MERCHANT_WEBHOOK_SECRET'],
        message: 'is required when MERCHANT_WEBHOOK_URL is set (events are always signed)',
      });
    }
    if ((env.DASHBOARD_USER === undefined) !== (env.DASHBOARD_PASSWORD === undefined)) {
      ctx.addIssue({
        code: 'custom',
        path: [env.DASHBOARD_USER === undefined ? 'DASHBOARD_USER' : 'DASHBOARD_PASSWORD'],
        message: 'DASHBOARD_USER and DASHBOARD_PASSWORD go together: set both or neither',
      });
    }
  });

export type Config = Readonly<{
  env: string;
  port: number;
  host: string;
  /**
   * The admin server (/metrics, /readyz, /admin/queues) on its own port, so the public port serves only
   * the webhook and /healthz; 0 = everything on PORT.
   */
  admin: Readonly<{ port: number; host: string }> | undefined;
  redisUrl: string;
  queuePrefix: string;
  interlace: Readonly<{
    baseUrl: string;
    clientId: string;
    clientSecret: string;
    webhookSecret: string;
    depositEventTypes: readonly string[];
    timeoutMs: number;
    tokenRenewBeforeMs: number;
    walletTypeParam: 'walletType' | 'objectType';
    tokenSendSecret: boolean;
  }>;
  sweep: Readonly<{
    currencies: readonly string[];
    minAmount: string;
    /** Above this a deposit is held for an operator; undefined = no upper bound. */
    maxAmount: string | undefined;
    /** Transfer statuses that count as swept (upper case; compared case-insensitively). */
    transferSuccessStatuses: readonly string[];
    /** Look-ups of a transfer answered PENDING/PROCESSING before it is dead-lettered. */
    transferLookups: number;
    /** A deposit's transfer is never called again this long after its first call (SWEEP_IDEMPOTENCY_WINDOW_DAYS). */
    idempotencyWindowMs: number;
    attempts: number;
    /** Completed sweep jobs kept (newest first) for the dashboard. */
    keepCompletedJobs: number;
    backoffMs: number;
    backoffMaxMs: number;
    insufficientBalanceRetries: number;
    concurrency: number;
    lockMs: number;
    stalledIntervalMs: number;
    rateLimitPerSecond: number;
    walletCacheTtlMs: number;
  }>;
  shutdownTimeoutMs: number;
  eventLogMaxLen: number;
  /** Bytes the event log stream may take in Redis (MEMORY USAGE); the oldest entries go past it. */
  eventLogMaxBytes: number;
  /**
   * The ingest consumer (src/webhooks/ingest-consumer.ts): entries per batch, how long to let a batch
   * gather, how long another consumer's
   * unfinished entry waits before it is taken over, and how many failures with an answer from Redis
   * dead-letter an entry.
   */
  ingest: { batchSize: number; batchWaitMs: number; reclaimIdleMs: number; maxFailures: number };
  /** Bytes of a notification body a dead letter keeps; a longer one is replaced by its size and hash. */
  deadLetterMaxBodyBytes: number;
  ledgerRetentionMs: number;
  webhookTimeoutMs: number;
  dashboard: Readonly<{ user: string; password: string }> | undefined;
  dashboardReadOnly: boolean;
  /** Label of the environment badge on the dashboard (e.g. "production"); defaults to NODE_ENV. */
  environmentLabel: string;
  alertWebhookUrl: string | undefined;
  /** What a deposit into a wallet the service did not create does: sweep, or hold for an operator. */
  unknownWalletDeposits: 'sweep' | 'hold';
  /** Outgoing merchant events (MERCHANT_WEBHOOK_URL); undefined = off, nothing is written for them. */
  merchantWebhook: MerchantWebhookConfig | undefined;
  /** How alerts and the dashboard tell the operator to run the CLI, e.g. `docker compose exec worker interlace-sweep-ops`. */
  opsCommandHint: string;
  /** Port of the worker process's own /metrics server; 0 = none (the receiver serves /metrics). */
  metricsPort: number;
  /** The report-only reconciliation of balances against the ledger (docs/reconciliation.md). */
  reconcile: Readonly<{
    enabled: boolean;
    intervalMs: number;
    accountIds: readonly string[];
  }>;
  /** Payouts (docs/payouts.md); `enabled` once PAYOUT_ACCOUNT_ID and PAYOUT_WALLET_ID are set. */
  payout: PayoutConfig;
  /** The merchant API (docs/wallets.md); `enabled` once MERCHANT_API_KEYS names at least one key. */
  merchantApi: MerchantApiConfig;
  logLevel: string;
  logFormat: 'json' | 'pretty';
  /** The commit the image was built from (BUILD_COMMIT), for the build_info metric. */
  buildCommit: string | undefined;
}>;

export type MerchantWebhookConfig = Readonly<{
  url: string;
  /** `whsec_<base64>`: the HMAC key is the decoded base64 (Standard Webhooks). */
  secret: string;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
}>;

/** Standard Webhooks' secret form: `whsec_` and the base64 of 24 to 64 bytes. */
function isWebhookSecret(value: string): boolean {
  const match = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value);
  if (!match) return false;
  const bytes = Buffer.from(match[1]!, 'base64').length;
  return bytes >= 24 && bytes <= 64;
}

export type PayoutConfig = Readonly<{
  enabled: boolean;
  accountId: string;
  walletId: string;
  maxAmount: string;
  dailyLimit: string;
  allowedAddresses: readonly string[];
  requireApproval: boolean;
  currencies: readonly string[];
  chains: readonly string[];
  attempts: number;
  confirmTimeoutMs: number;
  idempotencyWindowMs: number;
  eventTypes: readonly string[];
  fundingTo: 'account' | 'wallet';
  feeSourceType: string;
  feeDestinationType: string;
  transferSourceType: string;
  transferDestinationType: string;
  gasMode: 'deducted' | 'on-top';
  statuses: Readonly<{
    pending: readonly string[];
    closed: readonly string[];
    onHold: readonly string[];
    failed: readonly string[];
  }>;
  /** What new payout ids derive under besides external_id (PAYOUT_ID_NAMESPACE, else the account id). */
  idNamespace: string;
  /** Step 1 and refund answers (internal transfers), and trade answers: allow-lists (judgeStepStatus). */
  stepStatuses: Readonly<{
    transfer: Readonly<{ success: readonly string[]; failed: readonly string[] }>;
    trade: Readonly<{ success: readonly string[]; failed: readonly string[] }>;
  }>;
}>;

export type MerchantApiConfig = Readonly<{
  enabled: boolean;
  /** The keys by name: a SHA-256 of each key (never the key) and its scopes. */
  keys: readonly ApiKeyEntry[];
  /** `mor`: the service creates a CryptoConnect wallet per POST /wallets; `gateway`: master wallets only. */
  mode: 'mor' | 'gateway';
  /** The Interlace account the wallets are created in and listed from; '' when unset. */
  accountId: string;
  /**
   * How long after a create call was sent the account's wallets are listed to learn whether an
   * unanswered create committed (WALLET_CREATE_SETTLE_MS): before that, a late commit may still come.
   */
  createSettleMs: number;
  defaultListLimit: number;
  /** Page size of the look-up of a lost wallet creation (`page`/`limit`, ASSUMED); 0 = one plain call. */
  lookupPageSize: number;
  /** Gateway mode: how often the receiver adopts the account's master wallets (and once at start). */
  adoptIntervalMs: number;
}>;

/** Placeholder the `ops` role puts in place of missing Interlace credentials. */
export const UNSET_CREDENTIAL = '(unset)';

/** Raised at boot when the environment is not a valid configuration; names every bad variable. */
export class ConfigError extends Error {
  readonly code = 'invalid-config';
  constructor(readonly problems: readonly string[]) {
    super(`Invalid configuration:\n  ${problems.join('\n  ')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Reads and validates the configuration once; returns a frozen, typed object or throws ConfigError.
 * The `ops` role (the operator CLI) works on Redis alone, so it does not require Interlace credentials;
 * commands that call Interlace check for them themselves.
 */
export function loadConfig(
  env: NodeJS.ProcessEnv = process.env,
  options: { role?: 'service' | 'ops' } = {},
): Config {
  // Empty strings mean "unset" for every variable, as docker-compose writes `FOO=` for unset ones.
  const input: Record<string, string | undefined> = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );
  if (options.role === 'ops') {
    input.INTERLACE_CLIENT_ID ??= UNSET_CREDENTIAL;
    input.INTERLACE_CLIENT_SECRET ??= UNSET_CREDENTIAL;
  }
  // The backfill swept balances by itself; reconciliation only reports. A deployment that still sets its
  // variables expects behaviour that is gone: say so at boot instead of ignoring them.
  const removed = Object.keys(input).filter((name) => name.startsWith('BACKFILL_'));
  if (removed.length > 0)
    throw new ConfigError(
      removed.map(
        (name) =>
          `${name}: the backfill was replaced by a report-only reconciliation: use RECONCILE_* ` +
          '(docs/reconciliation.md)',
      ),
    );
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        const missing =
          issue.code === 'invalid_type' &&
          issue.path.length === 1 &&
          input[String(issue.path[0])] === undefined;
        // Never echo the value: it may be a secret.
        return `${name}: ${missing ? 'is required but not set' : issue.message}`;
      }),
    );
  }
  const e = parsed.data;
  return deepFreeze({
    env: e.NODE_ENV,
    port: e.PORT,
    host: e.HOST,
    admin: e.ADMIN_PORT > 0 ? { port: e.ADMIN_PORT, host: e.ADMIN_HOST } : undefined,
    redisUrl: e.REDIS_URL,
    queuePrefix: e.QUEUE_PREFIX,
    interlace: {
      baseUrl: e.INTERLACE_BASE_URL.replace(/\/+$/, ''),
      clientId: e.INTERLACE_CLIENT_ID,
      clientSecret: e.INTERLACE_CLIENT_SECRET,
      webhookSecret: e.INTERLACE_WEBHOOK_SECRET ?? e.INTERLACE_CLIENT_SECRET,
      depositEventTypes: e.INTERLACE_DEPOSIT_EVENT_TYPES,
      timeoutMs: e.INTERLACE_TIMEOUT_MS,
      tokenRenewBeforeMs: e.INTERLACE_TOKEN_RENEW_BEFORE_S * 1000,
      walletTypeParam: e.INTERLACE_WALLET_TYPE_PARAM,
      tokenSendSecret: e.INTERLACE_TOKEN_SEND_SECRET,
    },
    sweep: {
      currencies: e.SWEEP_CURRENCIES,
      minAmount: e.SWEEP_MIN_AMOUNT,
      maxAmount: e.SWEEP_MAX_AMOUNT,
      transferSuccessStatuses: e.SWEEP_TRANSFER_SUCCESS_STATUSES,
      transferLookups: e.SWEEP_TRANSFER_LOOKUPS,
      idempotencyWindowMs: e.SWEEP_IDEMPOTENCY_WINDOW_DAYS * 86_400_000,
      attempts: e.SWEEP_ATTEMPTS,
      keepCompletedJobs: e.SWEEP_KEEP_COMPLETED_JOBS,
      backoffMs: e.SWEEP_BACKOFF_MS,
      backoffMaxMs: e.SWEEP_BACKOFF_MAX_MS,
      insufficientBalanceRetries: e.SWEEP_INSUFFICIENT_BALANCE_RETRIES,
      concurrency: e.WORKER_CONCURRENCY,
      lockMs: e.SWEEP_LOCK_MS,
      stalledIntervalMs: e.SWEEP_STALLED_INTERVAL_MS,
      rateLimitPerSecond: e.SWEEP_RATE_LIMIT_PER_S,
      walletCacheTtlMs: e.WALLET_CACHE_TTL_S * 1000,
    },
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    eventLogMaxLen: e.EVENT_LOG_MAX_LEN,
    eventLogMaxBytes: e.EVENT_LOG_MAX_BYTES,
    ingest: {
      batchSize: e.INGEST_BATCH_SIZE,
      batchWaitMs: e.INGEST_BATCH_WAIT_MS,
      reclaimIdleMs: e.INGEST_RECLAIM_IDLE_MS,
      maxFailures: e.INGEST_MAX_FAILURES,
    },
    deadLetterMaxBodyBytes: e.DEAD_LETTER_MAX_BODY_BYTES,
    ledgerRetentionMs: e.LEDGER_RETENTION_DAYS * 86_400_000,
    webhookTimeoutMs: e.WEBHOOK_TIMEOUT_MS,
    dashboard:
      e.DASHBOARD_USER !== undefined && e.DASHBOARD_PASSWORD !== undefined
        ? { user: e.DASHBOARD_USER, password: e.DASHBOARD_PASSWORD }
        : undefined,
    dashboardReadOnly: e.DASHBOARD_READ_ONLY,
    environmentLabel: e.DASHBOARD_ENVIRONMENT ?? e.NODE_ENV,
    alertWebhookUrl: e.ALERT_WEBHOOK_URL,
    unknownWalletDeposits: e.UNKNOWN_WALLET_DEPOSITS,
    merchantWebhook:
      e.MERCHANT_WEBHOOK_URL !== undefined && e.MERCHANT_WEBHOOK_SECRET !== undefined
        ? {
            url: e.MERCHANT_WEBHOOK_URL,
            secret: e.MERCHANT_WEBHOOK_SECRET,
            attempts: e.MERCHANT_WEBHOOK_ATTEMPTS,
            backoffMs: e.MERCHANT_WEBHOOK_BACKOFF_MS,
            timeoutMs: e.MERCHANT_WEBHOOK_TIMEOUT_MS,
          }
        : undefined,
    opsCommandHint: e.OPS_COMMAND_HINT,
    metricsPort: e.METRICS_PORT,
    reconcile: {
      enabled: e.RECONCILE_ENABLED,
      intervalMs: e.RECONCILE_INTERVAL_MS,
      accountIds: e.RECONCILE_ACCOUNT_IDS,
    },
    payout: {
      enabled: e.PAYOUT_ACCOUNT_ID !== undefined && e.PAYOUT_WALLET_ID !== undefined,
      accountId: e.PAYOUT_ACCOUNT_ID ?? '',
      walletId: e.PAYOUT_WALLET_ID ?? '',
      maxAmount: e.PAYOUT_MAX_AMOUNT,
      dailyLimit: e.PAYOUT_DAILY_LIMIT,
      allowedAddresses: e.PAYOUT_ALLOWED_ADDRESSES,
      requireApproval: e.PAYOUT_REQUIRE_APPROVAL,
      currencies: e.PAYOUT_CURRENCIES,
      chains: e.PAYOUT_CHAINS,
      attempts: e.PAYOUT_ATTEMPTS,
      confirmTimeoutMs: e.PAYOUT_CONFIRM_TIMEOUT_MS,
      idempotencyWindowMs: e.PAYOUT_IDEMPOTENCY_WINDOW_DAYS * 86_400_000,
      eventTypes: e.PAYOUT_EVENT_TYPES,
      fundingTo: e.PAYOUT_FUNDING_TO,
      feeSourceType: e.PAYOUT_FEE_SOURCE_TYPE,
      feeDestinationType: e.PAYOUT_FEE_DESTINATION_TYPE,
      transferSourceType: e.PAYOUT_TRANSFER_SOURCE_TYPE,
      transferDestinationType: e.PAYOUT_TRANSFER_DESTINATION_TYPE,
      gasMode: e.PAYOUT_GAS_MODE,
      statuses: {
        pending: e.PAYOUT_STATUS_PENDING,
        closed: e.PAYOUT_STATUS_CLOSED,
        onHold: e.PAYOUT_STATUS_ON_HOLD,
        failed: e.PAYOUT_STATUS_FAILED,
      },
      idNamespace: e.PAYOUT_ID_NAMESPACE ?? e.PAYOUT_ACCOUNT_ID ?? '',
      stepStatuses: {
        transfer: {
          success: e.PAYOUT_TRANSFER_SUCCESS_STATUSES,
          failed: e.PAYOUT_TRANSFER_FAILED_STATUSES,
        },
        trade: { success: e.PAYOUT_TRADE_SUCCESS_STATUSES, failed: e.PAYOUT_TRADE_FAILED_STATUSES },
      },
    },
    merchantApi: {
      enabled: e.MERCHANT_API_KEYS.length > 0,
      keys: e.MERCHANT_API_KEYS,
      mode: e.INTERLACE_MODE,
      accountId: e.INTERLACE_ACCOUNT_ID ?? '',
      createSettleMs: e.WALLET_CREATE_SETTLE_MS ?? 2 * e.INTERLACE_TIMEOUT_MS,
      defaultListLimit: e.WALLET_LIST_DEFAULT_LIMIT,
      lookupPageSize: e.WALLET_LOOKUP_PAGE_SIZE,
      adoptIntervalMs: e.WALLET_ADOPT_INTERVAL_MS,
    },
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    buildCommit: e.BUILD_COMMIT,
  });
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
