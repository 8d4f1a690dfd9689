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
    /** Capped stream of every verified notification, raw, for audit and replay. */
    events: `${prefix}:events`,
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
