import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { microBatch } from '../micro-batch.js';
import { defineScript } from '../redis-script.js';

/** The consumer group that turns event-log entries into ledger records and sweep jobs. */
export const INGEST_GROUP = 'ingest';

/** A verified notification as the receiver appends it to the event log (the fields every reader knows). */
export type IngestEntry = { id: string; eventType: string; body: string };

/**
 * The receiver's one write per notification: XADD to the event log, which is also the ingest stream
 * (the consumer group `ingest` reads it). No MAXLEN here: a count cap applied by the writer could drop an
 * entry no consumer has read yet, after Interlace was told it was received. trimEventLog trims instead,
 * never past what the group still needs. Appends of one turn share one pipeline (one socket write).
 */
export function createIngestLog(redis: Redis, keys: Keys, options: { batchSize?: number } = {}) {
  const append = microBatch<IngestEntry & { now: number }, string>(
    async (entries) => {
      const pipeline = redis.pipeline();
      for (const entry of entries) {
        pipeline.xadd(
          keys.events,
          '*',
          'id',
          entry.id,
          'eventType',
          entry.eventType,
          'receivedAt',
          String(entry.now),
          'body',
          entry.body,
        );
      }
      const replies = (await pipeline.exec()) ?? [];
      return entries.map((_, index) => {
        const [error, id] = replies[index] ?? [new Error('no reply from the pipeline'), undefined];
        return error || typeof id !== 'string'
          ? { ok: false, error: error ?? new Error('XADD answered no id') }
          : { ok: true, value: id };
      });
    },
    { maxSize: options.batchSize ?? 64 },
  );
  return {
    /** Appends one verified notification; resolves with its stream id once Redis has it. */
    append(entry: IngestEntry, now = Date.now()): Promise<string> {
      return append({ ...entry, now });
    },
  };
}

export type IngestLog = ReturnType<typeof createIngestLog>;

/**
 * Creates the ingest group if it is not there. At boot (`from: '$'`) a log that predates the group holds
 * notifications the receiver already stored inline: only what is appended from now on is the group's.
 * A group lost with its stream (`from: '0'`, NOGROUP while reading) takes every entry there is.
 */
export async function ensureIngestGroup(redis: Redis, keys: Keys, from: '$' | '0'): Promise<boolean> {
  try {
    await redis.xgroup('CREATE', keys.events, INGEST_GROUP, from, 'MKSTREAM');
    return true;
  } catch (error) {
    if (String((error as Error).message).startsWith('BUSYGROUP')) return false;
    throw error;
  }
}

/**
 * Trims the event log to `maxLen` entries (oldest first), but never an entry some consumer group has
 * not finished: nothing from the oldest pending entry of a group, nothing after its last delivered one.
 * Reads at most `maxScan` entries to find the boundary, so a long backlog is trimmed over several calls.
 * Answers {removed, length}.
 */
export const TRIM_EVENT_LOG = defineScript({
  name: 'trimEventLog',
  keys: ['events'],
  args: ['maxLen', 'maxScan'],
  lua: `
local len = redis.call('XLEN', K.events)
local cap = tonumber(A.maxLen)
if len <= cap then return {0, len} end
local function parse(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function less(a, b)
  local am, as = parse(a)
  local bm, bs = parse(b)
  return am < bm or (am == bm and as < bs)
end
local excess = math.min(len - cap, tonumber(A.maxScan))
local head = redis.call('XRANGE', K.events, '-', '+', 'COUNT', excess + 1)
-- The first entry to keep: the one after the excess (MINID drops every id below it).
local keepFrom = head[#head][1]
for _, g in ipairs(redis.call('XINFO', 'GROUPS', K.events)) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  if tonumber(info['pending']) > 0 then
    local oldest = redis.call('XPENDING', K.events, info['name'])[2]
    if oldest and less(oldest, keepFrom) then keepFrom = oldest end
  end
  -- Entries after the last delivered one have not been read by the group yet.
  local ms, seq = parse(info['last-delivered-id'])
  local next = string.format('%d-%d', ms, seq + 1)
  if less(next, keepFrom) then keepFrom = next end
end
local removed = redis.call('XTRIM', K.events, 'MINID', keepFrom)
return {removed, len - removed}
`,
});

/** trimEventLog: answers how many entries it removed and how many remain. */
export async function trimEventLog(
  redis: Redis,
  keys: Keys,
  maxLen: number,
  maxScan = 10_000,
): Promise<{ removed: number; length: number }> {
  const [removed, length] = await TRIM_EVENT_LOG<[number, number]>(redis, {
    keys: { events: keys.events },
    args: { maxLen, maxScan },
  });
  return { removed, length };
}
