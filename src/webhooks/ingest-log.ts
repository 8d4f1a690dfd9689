import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { microBatch } from '../micro-batch.js';
import { replyRecord } from '../redis-reply.js';
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
 * Creates the ingest group if it is not there, reading from the start of the log: every entry in it
 * was appended by a receiver that answered before storing (receivers that stored inline wrote another
 * key, keys.legacyEvents). A group lost while its stream was kept (a restore, an XGROUP DESTROY) thus
 * loses nothing; what it reads again is stored again harmlessly (the ledger deduplicates). The group's
 * read counter starts at the entries already trimmed away, so Redis can tell later how many unread
 * entries went missing (the consumer's gap check). Answers whether it created the group.
 */
export const CREATE_INGEST_GROUP = defineScript({
  name: 'createIngestGroup',
  keys: ['events'],
  args: ['group'],
  lua: `
local gone = 0
if redis.call('EXISTS', K.events) == 1 then
  local info = redis.call('XINFO', 'STREAM', K.events)
  local added, length = 0, 0
  for i = 1, #info, 2 do
    if info[i] == 'entries-added' then added = info[i + 1] elseif info[i] == 'length' then length = info[i + 1] end
  end
  gone = added - length
end
local created = redis.pcall('XGROUP', 'CREATE', K.events, A.group, '0', 'MKSTREAM', 'ENTRIESREAD', gone)
if type(created) == 'table' and created.err then
  if string.find(created.err, 'BUSYGROUP', 1, true) then return 0 end
  return redis.error_reply(created.err)
end
return 1
`,
});

export async function ensureIngestGroup(redis: Redis, keys: Keys): Promise<boolean> {
  const created = await CREATE_INGEST_GROUP<number>(redis, {
    keys: { events: keys.events },
    args: { group: INGEST_GROUP },
  });
  return created === 1;
}

/**
 * Trims the event log to `maxLen` entries (oldest first), but never an entry some consumer group has
 * not finished: nothing from the oldest pending entry of a group, nothing from its last delivered one.
 * Reads at most `maxScan` entries to find the boundary, so a long backlog is trimmed over several calls.
 * Trims nothing while the ingest group is missing.
 * Answers {removed, length}.
 */
export const TRIM_EVENT_LOG = defineScript({
  name: 'trimEventLog',
  keys: ['events'],
  args: ['maxLen', 'maxScan', 'group'],
  lua: `
local len = redis.call('XLEN', K.events)
local cap = tonumber(A.maxLen)
if len <= cap then return {0, len} end
-- Without the ingest group (lost, not yet recreated) nothing tells what is unread: nothing goes.
local groups = redis.call('XINFO', 'GROUPS', K.events)
local ours = false
for _, g in ipairs(groups) do
  for i = 1, #g, 2 do if g[i] == 'name' and g[i + 1] == A.group then ours = true end end
end
if not ours then return {0, len} end
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
for _, g in ipairs(groups) do
  local info = {}
  for i = 1, #g, 2 do info[g[i]] = g[i + 1] end
  if tonumber(info['pending']) > 0 then
    local oldest = redis.call('XPENDING', K.events, info['name'])[2]
    if oldest and less(oldest, keepFrom) then keepFrom = oldest end
  end
  -- Entries after the last delivered one have not been read by the group yet; the last delivered one
  -- itself is kept too, so that a first entry past it shows entries removed by something else.
  local last = info['last-delivered-id']
  if less(last, keepFrom) then keepFrom = last end
end
local removed = redis.call('XTRIM', K.events, 'MINID', keepFrom)
return {removed, len - removed}
`,
});

/**
 * Forgets consumers of the group that have nothing pending and have not read for `idleMs` (receivers
 * that restarted under new names), other than `self`. In one script: an entry delivered to a consumer
 * between a check and a delete would be dropped with it.
 */
export const FORGET_CONSUMERS = defineScript({
  name: 'forgetIngestConsumers',
  keys: ['events'],
  args: ['group', 'self', 'idleMs'],
  lua: `
local forgotten = 0
for _, c in ipairs(redis.call('XINFO', 'CONSUMERS', K.events, A.group)) do
  local info = {}
  for i = 1, #c, 2 do info[c[i]] = c[i + 1] end
  if info['name'] ~= A.self and tonumber(info['pending']) == 0 and tonumber(info['idle']) > tonumber(A.idleMs) then
    redis.call('XGROUP', 'DELCONSUMER', K.events, A.group, info['name'])
    forgotten = forgotten + 1
  end
end
return forgotten
`,
});

/**
 * How far the ingest group is behind: entries not yet delivered plus delivered and not finished
 * (pending). Redis's own lag is not used where it can be avoided: it counts from a read counter that
 * drifts (seen after restarts and takeovers), so up to `exactUpTo` undelivered entries are counted, and
 * only past that is the lag taken as an estimate.
 */
export async function ingestBacklog(
  redis: Redis,
  key: string,
  exactUpTo = 1_000,
): Promise<{ backlog: number; pending: number; lastDelivered: string } | undefined> {
  if ((await redis.exists(key)) === 0) return undefined;
  const groups = (await redis.call('XINFO', 'GROUPS', key)) as unknown[][];
  for (const group of groups) {
    const info: Record<string, unknown> = replyRecord(group);
    if (info.name !== INGEST_GROUP) continue;
    const pending = Number(info.pending ?? 0);
    const lastDelivered = String(info['last-delivered-id'] ?? '0-0');
    const unread = await redis.xrange(key, `(${lastDelivered}`, '+', 'COUNT', exactUpTo + 1);
    const lag = info.lag === null || info.lag === undefined ? 0 : Number(info.lag);
    const undelivered = unread.length > exactUpTo ? Math.max(lag, unread.length) : unread.length;
    return { backlog: undelivered + pending, pending, lastDelivered };
  }
  return undefined;
}

/** trimEventLog: answers how many entries it removed and how many remain. */
export async function trimEventLog(
  redis: Redis,
  keys: Keys,
  maxLen: number,
  // The boundary is found by reading entries (bodies too); the consumer trims every 1,000 entries.
  maxScan = 2_000,
): Promise<{ removed: number; length: number }> {
  const [removed, length] = await TRIM_EVENT_LOG<[number, number]>(redis, {
    keys: { events: keys.events },
    args: { maxLen, maxScan, group: INGEST_GROUP },
  });
  return { removed, length };
}
