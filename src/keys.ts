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
    /** Minor units a backfill sweep moved from a wallet that no deposit has claimed yet (README: backfill rule). */
    backfillCredit: (walletId: string, currency: string) =>
      `${prefix}:backfill-credit:${walletId}:${currency}`,
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

function shortHash(value: string): string {
  return createHash('sha256').update(value).digest('hex').slice(0, 16);
}
