import { Job } from 'bullmq';
import type { DepositRecord } from '../deposits/deposit-state.js';
import type { AttemptRecord, DeadLetterData } from '../queues/names.js';
import type { OpsDeps } from './ops-context.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import { OpsError } from './ops-error.js';
import { sweepJobInfo, type SweepJobInfo } from './sweep-job.js';

export type DepositDetails = {
  deposit: DepositRecord;
  /** Digests (`sha256:…`) of the distinct signed resources received for the deposit, not envelope ids. */
  notificationIds: string[];
  attempts: AttemptRecord[];
  sweepJob: SweepJobInfo | null;
  deadLetter: (DeadLetterData & { id: string }) | null;
};

/** One deposit by id, or every deposit of an on-chain transaction hash, with everything known about it. */
export async function showDeposit(
  deps: Pick<OpsDeps, 'deposits' | 'queues'>,
  input: { ref: string },
): Promise<DepositDetails[]> {
  const direct = await deps.deposits.get(input.ref);
  const ids = direct ? [input.ref] : await deps.deposits.findByTx(input.ref);
  const details: DepositDetails[] = [];
  for (const id of ids.sort()) {
    const deposit = direct && id === input.ref ? direct : await deps.deposits.get(id);
    if (!deposit) continue;
    details.push(await describe(deps, deposit));
  }
  if (details.length === 0)
    throw new OpsError(`unknown deposit: no deposit or tx hash "${input.ref}" in the ledger`);
  return details;
}

async function describe(deps: Pick<OpsDeps, 'deposits' | 'queues'>, deposit: DepositRecord) {
  const id = deposit.depositId;
  const [notificationIds, attempts, sweepJob, letter] = await Promise.all([
    deps.deposits.notificationIds(id),
    deps.deposits.attempts(id),
    sweepJobInfo(deps.queues, id),
    Job.fromId<DeadLetterData>(deps.queues.dead, `deposit-${id}`),
  ]);
  return {
    // A swept record drops its derivable clientTransactionId (docs/capacity.md): show it all the same.
    deposit: { ...deposit, clientTransactionId: deposit.clientTransactionId ?? sweepTransactionId(id) },
    notificationIds: notificationIds.sort(),
    attempts,
    sweepJob: sweepJob ?? null,
    deadLetter: letter ? { id: letter.id ?? `deposit-${id}`, ...letter.data } : null,
  };
}
