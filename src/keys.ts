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
    /** Sorted sets of deposit ids by first-seen time: all, and per CryptoConnect wallet. */
    depositsByTime: `${prefix}:deposits:by-time`,
    depositsByWallet: (walletId: string) => `${prefix}:deposits:by-wallet:${walletId}`,
    /** Set of deposit ids per on-chain transaction hash. */
    depositsByTx: (txHash: string) => `${prefix}:deposits:by-tx:${txHash}`,
    /**
     * The long-lived record of swept deposits: a hash per bucket, depositId -> transferId, never
     * expiring. Checked before every transfer call, so a replay after the ledger record expired (and
     * after Interlace forgot the clientTransactionId, 90 days) never moves the money again. Buckets
     * keep each hash small enough for Redis's compact encoding (docs/money-safety.md: bytes per deposit).
     */
    sweptIds: (depositId: string) => `${prefix}:swept-ids:${sweptBucket(depositId)}`,
    /** Sorted set of held deposit ids by the time they were held; never trimmed, never expires. */
    depositsHeld: `${prefix}:deposits:held`,
    /** Capped stream of every verified notification, raw, for audit and replay. */
    events: `${prefix}:events`,
    /** Stream of every mutating operator command: who, when, what, on which targets, with what result. */
    audit: `${prefix}:audit`,
    /** Set of account ids seen in deposits: the accounts backfill inspects. */
    accounts: `${prefix}:accounts`,
    /** Hash: notifications received per event type and outcome. */
    eventCounts: `${prefix}:stats:events`,
    // The token key names a hash of the client id, not the id itself, so keys listings leak nothing.
    token: (clientId: string) => `${prefix}:interlace:token:${shortHash(clientId)}`,
    tokenLock: (clientId: string) => `${prefix}:interlace:token-lock:${shortHash(clientId)}`,
    infinityWallet: (accountId: string) => `${prefix}:interlace:infinity-wallet:${accountId}`,
  };
}

/** 4,096 buckets: the first three hex digits of the id's SHA-1. Never change it (ids would be lost). */
export function sweptBucket(depositId: string): string {
  return createHash('sha1').update(depositId).digest('hex').slice(0, 3);
}

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}
