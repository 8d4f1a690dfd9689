import type { DepositRecord } from '../deposits/deposit-state.js';
import type { OpsDeps } from './ops-context.js';

export type DepositListInput = {
  state?: string;
  walletId?: string;
  /** The merchant's customer id (the wallet's external_id). */
  externalId?: string;
  since?: number;
  until?: number;
  limit: number;
};

/** Deposits newest first, as the ledger indexes them. */
export async function listDeposits(
  deps: Pick<OpsDeps, 'deposits'>,
  input: DepositListInput,
): Promise<DepositRecord[]> {
  return deps.deposits.list({
    limit: input.limit,
    ...(input.state ? { state: input.state } : {}),
    ...(input.walletId ? { walletId: input.walletId } : {}),
    ...(input.externalId !== undefined ? { externalId: input.externalId } : {}),
    ...(input.since !== undefined ? { since: input.since } : {}),
    ...(input.until !== undefined ? { until: input.until } : {}),
  });
}
