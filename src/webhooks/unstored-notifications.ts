import { Job, type Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type { DeadLetterData } from '../queues/names.js';
import { ingestBacklog, INGEST_GROUP } from './ingest-log.js';

/** Notifications naming one wallet that Interlace was told were received and that are not stored. */
export type UnstoredNotifications = {
  /** Event-log entries the ingest group has not finished (undelivered or pending) that name the wallet. */
  inLog: number;
  /** `ingest-failed` dead letters naming the wallet (given up on: stored only by a replay). */
  letters: string[];
  /** More unfinished entries than were read: the wallet cannot be ruled out. */
  unknown: boolean;
};

/**
 * What may explain money in a wallet that the ledger does not show yet: notifications acknowledged and
 * not stored. Read by `ops reconcile sweep` and by the worker right before an operator sweep's transfer:
 * money such a notification explains must never be swept as unexplained (it would move twice once the
 * notification is stored). Reads at most `limit` unfinished entries.
 */
export async function unstoredForWallet(
  redis: Redis,
  keys: Keys,
  dead: Queue<DeadLetterData>,
  walletId: string,
  limit = 1_000,
): Promise<UnstoredNotifications> {
  // Without the group (lost, not yet recreated) every entry counts as unfinished.
  const group = await ingestBacklog(redis, keys.events, 0);
  const undelivered = await redis.xrange(
    keys.events,
    `(${group?.lastDelivered ?? '0-0'}`,
    '+',
    'COUNT',
    limit + 1,
  );
  const pending =
    group === undefined || group.pending === 0
      ? []
      : ((await redis.xpending(keys.events, INGEST_GROUP, '-', '+', limit + 1)) as [string, ...unknown[]][]);
  let inLog = 0;
  for (const [, fields] of undelivered) if (namesWallet(fields, walletId)) inLog += 1;
  if (pending.length > 0) {
    const read = redis.pipeline();
    for (const [id] of pending) read.xrange(keys.events, id, id);
    for (const [, reply] of (await read.exec()) ?? []) {
      const [entry] = (reply ?? []) as [string, string[]][];
      if (entry !== undefined && namesWallet(entry[1], walletId)) inLog += 1;
    }
  }
  return {
    inLog,
    letters: await ingestFailedLetters(redis, keys, dead, walletId),
    unknown: undelivered.length > limit || pending.length > limit,
  };
}

/** The `ingest-failed` letters naming the wallet; ids of letters that no longer exist are forgotten. */
async function ingestFailedLetters(
  redis: Redis,
  keys: Keys,
  dead: Queue<DeadLetterData>,
  walletId: string,
): Promise<string[]> {
  const found: string[] = [];
  for (const id of await redis.smembers(keys.ingestFailed)) {
    const letter = await Job.fromId<DeadLetterData>(dead, id);
    if (letter === undefined || letter.data.kind !== 'ingest-failed') {
      await redis.srem(keys.ingestFailed, id);
      continue;
    }
    const body = letter.data.notification?.body;
    // A body that cannot be read (cut to its size and hash) may name any wallet.
    if (body === undefined || bodyNamesWallet(body, walletId) !== false) found.push(id);
  }
  return found;
}

function namesWallet(fields: readonly string[], walletId: string): boolean {
  const at = fields.indexOf('body');
  const body = at >= 0 ? fields[at + 1] : undefined;
  // An entry that cannot be read may name any wallet.
  return body === undefined || bodyNamesWallet(body, walletId) !== false;
}

/** Whether a stored body's resource names the wallet; undefined when it cannot be read. */
function bodyNamesWallet(body: string, walletId: string): boolean | undefined {
  try {
    const { resource } = JSON.parse(body) as { resource?: unknown };
    if (typeof resource !== 'string') return undefined;
    const parsed = JSON.parse(resource) as { walletId?: unknown };
    return parsed.walletId === undefined ? undefined : parsed.walletId === walletId;
  } catch {
    return undefined;
  }
}
