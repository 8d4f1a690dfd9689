/** BullMQ queue of the periodic backfill run, under QUEUE_PREFIX. */
export const BACKFILL_QUEUE = 'backfill';
/** The job scheduler id (and job name) on that queue. */
export const BACKFILL_SCHEDULER_ID = 'backfill';
/** Approximate cap of the findings stream. */
export const FINDINGS_MAX_LEN = 10_000;
/** Every backfill deposit id starts with this. */
export const BACKFILL_ID_PREFIX = 'backfill-';

export type BackfillKeys = ReturnType<typeof createBackfillKeys>;

/** Redis keys of the backfill, all under QUEUE_PREFIX (src/keys.ts holds the ledger's own). */
export function createBackfillKeys(prefix: string) {
  return {
    /** Per wallet+currency counter `n` of `backfill-<walletId>-<currency>-<n>`; never expires. */
    seq: (walletId: string, currency: string) => `${prefix}:backfill:seq:${walletId}:${currency}`,
    /** The backfill deposit id of a wallet+currency whose sweep is not finished yet (reused by retries). */
    current: (walletId: string, currency: string) => `${prefix}:backfill:current:${walletId}:${currency}`,
    /** Capped stream of every finding, in both modes. */
    findings: `${prefix}:backfill:findings`,
  };
}

export function backfillDepositId(walletId: string, currency: string, n: number | string): string {
  return `${BACKFILL_ID_PREFIX}${walletId}-${currency}-${n}`;
}

export function isBackfillDepositId(depositId: string): boolean {
  return depositId.startsWith(BACKFILL_ID_PREFIX);
}
