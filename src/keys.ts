import { createHash } from 'node:crypto';

/**
 * Every Redis key the service writes outside BullMQ, all under QUEUE_PREFIX. On a Redis Cluster the
 * prefix must carry a hash tag (e.g. `{isweep}`) so that a deposit's keys and the queues share a slot.
 */
export type Keys = ReturnType<typeof createKeys>;

export function createKeys(prefix: string) {
  return {
    prefix,
    deposit: (depositId: string) => `${prefix}:deposit:${depositId}`,
    depositNotifications: (depositId: string) => `${prefix}:deposit:${depositId}:notifications`,
    depositAttempts: (depositId: string) => `${prefix}:deposit:${depositId}:attempts`,
    /** The service's policy (currencies, minimum, maximum, mode) as published at boot, for the CLI. */
    policy: `${prefix}:policy`,
    /** Sorted sets of deposit ids by first-seen time: all, and per CryptoConnect wallet. */
    depositsByTime: `${prefix}:deposits:by-time`,
    depositsByWallet: (walletId: string) => `${prefix}:deposits:by-wallet:${walletId}`,
    /**
     * Sorted set of deposit ids by first-seen time per merchant customer (the wallet's external_id).
     * The accept script derives it from `depositsByExternalIdPrefix` and the owner record it reads.
     */
    depositsByExternalId: (externalId: string) => `${prefix}:deposits:by-external-id:${externalId}`,
    depositsByExternalIdPrefix: `${prefix}:deposits:by-external-id:`,
    /**
     * The merchant-event outbox: a stream written by the same script that changes a deposit's state, so
     * an event exists exactly when its state change does; the relay moves entries to the delivery queue.
     */
    merchantOutbox: `${prefix}:merchant-events:outbox`,
    /** Set of deposit ids per on-chain transaction hash. */
    depositsByTx: (txHash: string) => `${prefix}:deposits:by-tx:${txHash}`,
    /**
     * The long-lived record of swept deposits: a hash per bucket, depositId -> transferId, never
     * expiring. Checked before every transfer call, so a replay after the ledger record expired (and
     * after Interlace forgot the clientTransactionId, 90 days) never moves the money again. Buckets
     * keep each hash small enough for Redis's compact encoding (docs/money-safety.md: bytes per deposit).
     */
    sweptIds: (depositId: string) => `${prefix}:swept-ids:${sweptBucket(depositId)}`,
    /**
     * When each deposit's transfer was first called: a hash per bucket (as swept-ids), depositId -> ms,
     * never expiring, the entry dropped once the deposit is in swept-ids. The claim refuses a transfer
     * call past SWEEP_IDEMPOTENCY_WINDOW_DAYS after it, whatever happened to the ledger record since.
     */
    transferFirstAttempts: (depositId: string) => `${prefix}:transfer-first:${sweptBucket(depositId)}`,
    /** Sorted set of held deposit ids by the time they were held; never trimmed, never expires. */
    depositsHeld: `${prefix}:deposits:held`,
    /**
     * Capped stream of every verified notification, raw, for audit and replay; also the ingest stream
     * (the receiver appends, the consumer group `ingest` stores). A key of its own since the ingest stream:
     * an earlier receiver, which trims `legacyEvents` with MAXLEN on every write, must never reach
     * entries acknowledged to Interlace and not yet stored (docs/decisions/008-ingest-stream.md).
     */
    events: `${prefix}:event-log`,
    /**
     * Set of the ids of `ingest-failed` dead letters: notifications acknowledged and never stored, which
     * may explain money in a wallet (reconcile sweep refuses while one names the wallet).
     */
    ingestFailed: `${prefix}:ingest-failed`,
    /** The event log as receivers before the ingest stream wrote it: read by replays, never written. */
    legacyEvents: `${prefix}:events`,
    /** Stream of every mutating operator command: who, when, what, on which targets, with what result. */
    audit: `${prefix}:audit`,
    /** Set of account ids seen in deposits: the accounts reconciliation inspects. */
    accounts: `${prefix}:accounts`,
    /** Hash: notifications received per event type and outcome. */
    eventCounts: `${prefix}:stats:events`,
    // The token key names a hash of the client id, not the id itself, so keys listings leak nothing.
    token: (clientId: string) => `${prefix}:interlace:token:${shortHash(clientId)}`,
    tokenLock: (clientId: string) => `${prefix}:interlace:token-lock:${shortHash(clientId)}`,
    infinityWallet: (accountId: string) => `${prefix}:interlace:infinity-wallet:${accountId}`,
    /**
     * A merchant wallet's record (hash, src/wallets/wallet-store.ts), keyed by this service's wallet id
     * (a UUID), and the indexes that find it: by the merchant's external_id (string → id, what makes the
     * external_id unique) and by creation time (sorted set, the paginated list).
     */
    wallet: (id: string) => `${prefix}:wallet:${id}`,
    walletByExternalId: (externalId: string) => `${prefix}:wallet:by-external:${externalId}`,
    walletsByTime: `${prefix}:wallets:by-time`,
    /**
     * Hash {id, external_id, name} per Interlace CryptoConnect wallet id that this service created (or,
     * in gateway mode, adopted): which deposits belong to which merchant customer. Read inside Lua by the
     * notification's accept script (attribution), hence a plain hash under the same prefix (hash tag).
     */
    walletOwner: (interlaceWalletId: string) => `${prefix}:wallet-owner:${interlaceWalletId}`,
    /** A payout's record (hash) and its history of state changes (list of JSON entries). */
    payout: (payoutId: string) => `${prefix}:payout:${payoutId}`,
    payoutHistory: (payoutId: string) => `${prefix}:payout:${payoutId}:history`,
    /** external_id → payout id: what makes POST /payouts idempotent. */
    payoutByExternalId: (externalId: string) => `${prefix}:payout:by-external:${externalId}`,
    /** A blockchain transfer's idempotencyKey → payout id: how its status notifications find the payout. */
    payoutByWithdrawKey: (idempotencyKey: string) => `${prefix}:payout:by-withdraw-key:${idempotencyKey}`,
    /**
     * Hash: Interlace transfer id of a payout's step 1 or refund → payout id (never expires): a deposit
     * notification naming one of them is the payout's money, never a deposit to sweep.
     */
    payoutTransferIds: `${prefix}:payouts:transfer-ids`,
    /** Sorted set of payout ids by creation time. */
    payoutsByTime: `${prefix}:payouts:by-time`,
    /** The rolling daily limit's window: payout ids by time, and their USD amounts in cents. */
    payoutDailyWindow: `${prefix}:payouts:daily-window`,
    payoutDailyAmounts: `${prefix}:payouts:daily-amounts`,
    /** Hash: payouts per state (for metrics). */
    payoutStates: `${prefix}:payouts:states`,
    /** Capped stream of every payout state change. */
    payoutEvents: `${prefix}:payouts:events`,
    /**
     * Hash per CryptoConnect wallet and currency: payout id → the amount the payout keeps there (the
     * reservation record of the money-safety issue). Reconciliation counts these as explained and an
     * operator's `reconcile sweep` never moves them (issue #11).
     */
    reserved: (walletId: string, currency: string) => `${prefix}:reserved:${walletId}:${currency}`,
    /** Set of the wallets that ever held a payout's reservation (the money-in-flight metric reads them). */
    payoutWallets: `${prefix}:payouts:wallets`,
  };
}

/** 4,096 buckets: the first three hex digits of the id's SHA-1. Never change it (ids would be lost). */
export function sweptBucket(depositId: string): string {
  return createHash('sha1').update(depositId).digest('hex').slice(0, 3);
}

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}
