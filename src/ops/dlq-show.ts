import type { OpsDeps } from './ops-context.js';
import { OpsError } from './ops-error.js';
import { findDeadLetter, type DeadLetter } from './dead-letters.js';

/** One dead letter, by its job id or its deposit id. */
export async function showDeadLetter(
  deps: Pick<OpsDeps, 'queues'>,
  input: { ref: string },
): Promise<DeadLetter> {
  const job = await findDeadLetter(deps.queues, input.ref);
  if (!job?.id) throw new OpsError(`unknown dead letter: no dead-letter job or deposit "${input.ref}"`);
  return { id: job.id, ...job.data };
}
