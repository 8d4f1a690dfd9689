import type { OpsDeps } from './ops-context.js';
import { allDeadLetters, reasonMatches, type DeadLetter } from './dead-letters.js';

/** Dead letters, oldest first, optionally only those whose reason matches. */
export async function listDeadLetters(
  deps: Pick<OpsDeps, 'queues'>,
  input: { reason?: string },
): Promise<DeadLetter[]> {
  const letters = await allDeadLetters(deps.queues);
  return input.reason === undefined
    ? letters
    : letters.filter((letter) => reasonMatches(letter, input.reason!));
}
