import { Job } from 'bullmq';
import type { DeadLetterData } from '../queues/names.js';
import { allDeadLetters } from './dead-letters.js';
import type { OpsDeps } from './ops-context.js';
import { usageError } from './ops-error.js';

const SHOWN_CANDIDATES = 5;

/**
 * A deposit id as the operator typed it: the full id, or a unique prefix of one (the demo and the tables
 * print the first 8 characters). An ambiguous prefix is a usage error naming the candidates; a ref that
 * matches nothing comes back unchanged, so a tx hash or an id known only to the event log still works.
 */
export async function resolveDepositRef(deps: Pick<OpsDeps, 'redis' | 'keys'>, ref: string): Promise<string> {
  if ((await deps.redis.exists(deps.keys.deposit(ref))) === 1) return ref;
  const matches: string[] = [];
  let cursor = '0';
  // The by-time index holds every deposit id the ledger keeps; ZSCAN's MATCH filters on the server.
  do {
    const [next, page] = await deps.redis.zscan(
      deps.keys.depositsByTime,
      cursor,
      'MATCH',
      `${escapeGlob(ref)}*`,
      'COUNT',
      1_000,
    );
    cursor = next;
    for (let i = 0; i < page.length; i += 2) matches.push(page[i]!);
  } while (cursor !== '0');
  return pick(ref, [...new Set(matches)], 'deposits') ?? ref;
}

/**
 * A dead letter as the operator typed it: its job id, the id of its deposit, or a unique prefix of either.
 * Unmatched refs come back unchanged (the command then answers "not found").
 */
export async function resolveDeadLetterRef(deps: Pick<OpsDeps, 'queues'>, ref: string): Promise<string> {
  for (const id of [ref, `deposit-${ref}`]) {
    if (await Job.fromId<DeadLetterData>(deps.queues.dead, id)) return ref;
  }
  const letters = await allDeadLetters(deps.queues);
  const matches = letters
    .filter((letter) => letter.id.startsWith(ref) || (letter.depositId?.startsWith(ref) ?? false))
    .map((letter) => letter.id);
  return pick(ref, matches, 'dead letters') ?? ref;
}

function pick(ref: string, matches: string[], what: string): string | undefined {
  if (matches.length <= 1) return matches[0];
  const sorted = matches.sort();
  const shown = sorted.slice(0, SHOWN_CANDIDATES).join(', ');
  const more = sorted.length > SHOWN_CANDIDATES ? ` and ${sorted.length - SHOWN_CANDIDATES} more` : '';
  throw usageError(`"${ref}" matches ${sorted.length} ${what}: ${shown}${more}; give more characters`);
}

/** Redis glob patterns treat `* ? [ ] \` specially; an id is matched literally. */
function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&');
}
