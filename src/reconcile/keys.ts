/** BullMQ queue of the periodic reconciliation run, under QUEUE_PREFIX. */
export const RECONCILE_QUEUE = 'reconcile';
/** The job scheduler id (and job name) on that queue. */
export const RECONCILE_SCHEDULER_ID = 'reconcile';
/**
 * The removed backfill's queue and scheduler: a worker that starts removes that scheduler, so a
 * deployment upgraded from a sweeping backfill keeps no schedule of it.
 */
export const LEGACY_BACKFILL_QUEUE = 'backfill';
/** Approximate cap of the discrepancy stream. */
export const DISCREPANCIES_MAX_LEN = 10_000;

export type ReconcileKeys = ReturnType<typeof createReconcileKeys>;

/** Redis keys of the reconciliation, all under QUEUE_PREFIX (src/keys.ts holds the ledger's own). */
export function createReconcileKeys(prefix: string) {
  return {
    /** The latest run's report (JSON): what `ops reconcile` lists and `reconcile sweep` checks against. */
    report: `${prefix}:reconcile:report`,
    /** Capped stream of every discrepancy found, run after run. */
    discrepancies: `${prefix}:reconcile:discrepancies`,
  };
}
