import { EventEmitter, once } from 'node:events';
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { createRedis, closeRedis } from '../redis.js';
import { compareStreamIds, replyRecord } from '../redis-reply.js';
import type { WebhookEnvelope } from '../interlace/types.js';
import { writeDeadLetter } from '../queues/dead-letter.js';
import { sendAlert } from '../alerts/alerts.js';
import { acceptNotification, type AcceptResult, type ReceiverDeps } from './accept-notification.js';
import { capDeadLetterBody } from './storage-caps.js';
import {
  ensureIngestGroup,
  FORGET_CONSUMERS,
  ingestBacklog,
  INGEST_GROUP,
  trimEventLog,
} from './ingest-log.js';
import { parsedSignatureIsValid } from '../interlace/stored-notification.js';

export type IngestOptions = {
  /** Entries read (and acknowledged together) at a time; stored in groups of YIELD_EVERY per turn. */
  batchSize: number;
  /** How long another consumer's entry stays unfinished before this one takes it over (a crashed receiver). */
  reclaimIdleMs: number;
  /** Times an entry may fail with an answer from Redis (not a lost connection) before it is dead-lettered. */
  maxFailures: number;
  /** The event log's count cap (EVENT_LOG_MAX_LEN), applied by trimEventLog after consumed batches. */
  eventLogMaxLen: number;
  /**
   * After a read returns less than a full batch, how long to let more entries gather before storing
   * them (INGEST_BATCH_WAIT_MS). The answer to Interlace never waits for it; each batch costs a few
   * socket writes on both sides, so fuller batches cost the process and Redis less per notification.
   */
  batchWaitMs: number;
  /** Longest wait of one blocking read; also bounds how late a close is noticed. */
  blockMs?: number;
};

export type IngestConsumer = {
  readonly name: string;
  /** Resolves once every entry in the event log when it was called has been processed (or dead-lettered). */
  caughtUp(timeoutMs?: number): Promise<void>;
  /**
   * Lets the consumer finish what the log holds for up to `drainMs` (a receiver going away, e.g. in a
   * deploy), then stops reading and closes its connection. What is left stays with the group.
   */
  close(drainMs?: number): Promise<void>;
};

type StreamEntry = [id: string, fields: string[] | null];

const MAX_BACKOFF_MS = 5_000;
/** A consumer with nothing pending that has not read for this long is gone (a restarted receiver). */
const FORGET_CONSUMER_MS = 3_600_000;
/**
 * Entries of a batch started between two turns given to the HTTP side (see processBatch). 5 rather than
 * 10: the webhook's p99 under load fell by about a sixth in ten alternating bench pairs, throughput and
 * CPU per request unchanged; 2 cost a third more CPU per request (a pipeline and an addBulk per chunk).
 */
const YIELD_EVERY = 5;
/** Entries consumed between two count-cap trims: one trim reads its boundary, so not on every batch. */
const TRIM_EVERY = 1_000;

/**
 * The second half of ingest: a member of the consumer group `ingest` on the event log. The receiver has
 * answered Interlace once a notification was appended; this reads entries in batches, stores each one
 * (ledger record, counters, dead letter or payout move: acceptNotification) and adds the batch's sweep
 * jobs together, and only then acknowledges the entries. An entry whose processing failed stays pending
 * and is read again; one another consumer left unfinished for `reclaimIdleMs` is taken over (XAUTOCLAIM),
 * so a receiver that crashed mid-batch loses nothing. Processing twice is harmless: the ledger's scripts
 * deduplicate on the signed resource and the job id is the deposit's.
 */
export async function startIngestConsumer(
  deps: ReceiverDeps,
  options: IngestOptions,
): Promise<IngestConsumer> {
  const { redis, keys, logger } = deps;
  // The receiver's logger (component=receiver): the consumer is part of the receiver process.
  const log = logger;
  const name = `${hostname()}-${process.pid}-${randomUUID().slice(0, 8)}`;
  // A blocking read holds its connection: it gets its own, which waits out an outage.
  const reader = createRedis(deps.config.redisUrl, 'worker', 'interlace-sweep:ingest');
  reader.on('error', (error: Error) => log.warn({ err: error }, 'Redis connection error (ingest reader)'));
  const blockMs = options.blockMs ?? 1_000;
  const progress = new EventEmitter();
  progress.setMaxListeners(0);
  const failures = new Map<string, number>();
  let closing = false;
  let sinceTrim = 0;
  let nextReclaim = 0;

  await ensureIngestGroup(redis, keys);

  /** One XREADGROUP: own pending entries ('0') or new ones ('>', blocking up to waitMs unless 0). */
  async function read(id: '0' | '>', waitMs = blockMs, count = options.batchSize): Promise<StreamEntry[]> {
    const block = id === '>' && waitMs > 0 ? ['BLOCK', waitMs] : [];
    const reply = (await reader.call(
      'XREADGROUP',
      'GROUP',
      INGEST_GROUP,
      name,
      'COUNT',
      count,
      ...block,
      'STREAMS',
      keys.events,
      id,
    )) as [string, StreamEntry[]][] | null;
    return reply?.[0]?.[1] ?? [];
  }

  /** Stores each entry; answers how many are left pending (failed, to be read again). */
  async function processBatch(entries: StreamEntry[]): Promise<number> {
    // Entries of different resources are stored together (the scripts started in one turn share a
    // pipeline, YIELD_EVERY at most); entries of one resource (a payout's Processing then Closed) one
    // after the other, in the log's order: a payout notification reads its record, then moves it, and
    // two interleaved would both read the old state. A failed entry does not hold up the next one of its
    // resource (it is retried later, as a redelivery would be).
    const chains = new Map<string, Promise<unknown>>();
    const outcomes: Promise<PromiseSettledResult<unknown>>[] = [];
    for (let index = 0; index < entries.length; index += 1) {
      // The receiver's HTTP side shares this event loop: every YIELD_EVERY entries it gets the turn
      // (setImmediate runs after pending I/O), so an answer to Interlace never waits behind a whole
      // batch's parsing, checks and script arguments. The batch still shares its reads and its ack.
      if (index > 0 && index % YIELD_EVERY === 0) await new Promise((resolve) => setImmediate(resolve));
      const [id, fields] = entries[index]!;
      const decoded = decodeEntry(fields);
      const key = decoded.ok ? (resourceKey(decoded.envelope.resource) ?? id) : id;
      const previous = chains.get(key);
      const run = previous
        ? previous.then(
            () => processEntry(id, decoded),
            () => processEntry(id, decoded),
          )
        : processEntry(id, decoded);
      chains.set(key, run);
      // Settled at once: a failure must not be an unhandled rejection while the loop yields.
      outcomes.push(
        run.then(
          (value) => ({ status: 'fulfilled', value }) as const,
          (reason: unknown) => ({ status: 'rejected', reason }) as const,
        ),
      );
    }
    const settled = await Promise.all(outcomes);
    const done: string[] = [];
    let left = 0;
    for (let index = 0; index < entries.length; index += 1) {
      const [id, fields] = entries[index]!;
      const result = settled[index]!;
      if (result.status === 'fulfilled') {
        done.push(id);
        failures.delete(id);
        continue;
      }
      if (await giveUp(id, fields, result.reason)) done.push(id);
      else left += 1;
    }
    if (done.length > 0) await redis.xack(keys.events, INGEST_GROUP, ...done);
    sinceTrim += done.length;
    if (sinceTrim >= TRIM_EVERY) {
      sinceTrim = 0;
      // Counted (isweep_storage_dropped_total) by the receiver's cap check, from the stream's own totals.
      await trimEventLog(redis, keys, options.eventLogMaxLen);
    }
    progress.emit('batch');
    return left;
  }

  async function processEntry(streamId: string, decoded: DecodedEntry): Promise<void> {
    if (!decoded.ok) {
      if (decoded.deleted) {
        // Only an XDEL or a trim outside trimEventLog removes an entry the group has not finished.
        const reason = `event-log entry ${streamId} was deleted before it was stored`;
        log.error({ streamId }, 'an unprocessed notification was deleted from the event log');
        deps.metrics?.ingestProcessed.inc({ outcome: 'lost' });
        void sendAlert(deps, { kind: 'ingest-failed', notificationId: `stream id ${streamId}`, reason });
        return;
      }
      throw decoded.error;
    }
    const { entry, envelope, parsed } = decoded;
    // The receiver verified it before appending; anything else able to write the stream did not. The
    // log is input like a dead letter's body: only a valid signature makes it a notification.
    if (!parsedSignatureIsValid(parsed, deps.config.interlace.webhookSecret))
      throw new UnverifiedEntryError();
    const stopTimer = deps.metrics?.webhookStoreSeconds.startTimer();
    const result = await acceptNotification(deps, envelope, entry.body!, { source: 'ingest' });
    stopTimer?.();
    const receivedAt = Number(entry.receivedAt);
    if (Number.isFinite(receivedAt))
      deps.metrics?.ingestDelaySeconds.observe(Math.max(0, Date.now() - receivedAt) / 1000);
    report(envelope, result);
  }

  function report(envelope: WebhookEnvelope, result: AcceptResult) {
    const ids = { reqId: envelope.id, notificationId: envelope.id, eventType: envelope.eventType };
    if (result.outcome === 'dead-lettered') {
      log.warn({ ...ids, reason: result.reason }, 'invalid deposit notification dead-lettered');
      deps.metrics?.ingestProcessed.inc({ outcome: 'dead_lettered' });
    } else if (result.outcome === 'payout') {
      log.info({ ...ids, ...result }, 'payout transfer notification accepted');
      deps.metrics?.ingestProcessed.inc({ outcome: 'accepted' });
    } else if (result.outcome === 'ignored') {
      log.debug({ ...ids, ...result }, 'notification acknowledged');
      deps.metrics?.ingestProcessed.inc({ outcome: 'ignored' });
    } else {
      if (log.isLevelEnabled('info')) log.info({ ...ids, ...result }, 'deposit notification accepted');
      deps.metrics?.ingestProcessed.inc({
        outcome: result.freshNotification === false ? 'duplicate' : 'accepted',
      });
    }
  }

  /**
   * Whether a failed entry is given up on: dead-lettered (with its body, for a replay) once it has failed
   * `maxFailures` times with an answer from Redis or a body that cannot be read. A lost connection is
   * never counted: the entry waits for Redis however long that takes.
   */
  async function giveUp(streamId: string, fields: string[] | null, error: unknown): Promise<boolean> {
    const permanent = !isConnectionError(error);
    const count =
      error instanceof UnverifiedEntryError
        ? options.maxFailures
        : (failures.get(streamId) ?? 0) + (permanent ? 1 : 0);
    failures.set(streamId, count);
    log.warn(
      { streamId, err: briefError(error), failures: count },
      'storing a notification failed; it stays pending',
    );
    if (!permanent || count < options.maxFailures) return false;
    const entry = replyRecord(fields ?? []);
    const reason =
      error instanceof UnverifiedEntryError
        ? error.message
        : `not stored after ${count} attempts: ${messageOf(error)}`;
    try {
      const letterId = await writeDeadLetter(deps.queues.dead, {
        kind: 'ingest-failed',
        reason,
        attempts: [],
        notification: {
          ...(entry.id !== undefined ? { id: entry.id } : {}),
          ...(entry.eventType !== undefined ? { eventType: entry.eventType } : {}),
          body: await capDeadLetterBody(deps, entry.body ?? '', deps.config.deadLetterMaxBodyBytes, {
            id: entry.id ?? streamId,
            eventType: entry.eventType ?? '',
          }),
        },
        deadAt: new Date().toISOString(),
      });
      // Found by reconcile sweep: money this notification explains is not unexplained.
      await redis.sadd(keys.ingestFailed, letterId);
    } catch (writeError) {
      log.error(
        { streamId, err: briefError(writeError) },
        'could not dead-letter a notification; it stays pending',
      );
      return false;
    }
    failures.delete(streamId);
    deps.metrics?.ingestProcessed.inc({ outcome: 'failed' });
    log.error(
      { streamId, notificationId: entry.id, reason },
      'notification dead-lettered: it could not be stored',
    );
    void sendAlert(deps, { kind: 'ingest-failed', notificationId: entry.id ?? streamId, reason });
    return true;
  }

  /** Takes over entries other consumers left unfinished, and forgets consumers long gone. */
  async function reclaim(): Promise<void> {
    let cursor = '0-0';
    do {
      const [next, entries, deleted] = (await redis.call(
        'XAUTOCLAIM',
        keys.events,
        INGEST_GROUP,
        name,
        options.reclaimIdleMs,
        cursor,
        'COUNT',
        options.batchSize,
      )) as [string, StreamEntry[], string[]?];
      if ((deleted?.length ?? 0) > 0) {
        log.error({ streamIds: deleted }, 'unprocessed notifications were deleted from the event log');
        deps.metrics?.ingestProcessed.inc({ outcome: 'lost' }, deleted!.length);
        void sendAlert(deps, {
          kind: 'ingest-failed',
          notificationId: `stream ids ${deleted!.slice(0, 5).join(', ')}`,
          reason: `${deleted!.length} event-log entries were deleted before they were stored`,
        });
      }
      if (entries.length > 0) {
        log.warn({ entries: entries.length }, 'taking over notifications another receiver left unfinished');
        await processBatch(entries);
      }
      cursor = next;
    } while (cursor !== '0-0' && !closing);
    await FORGET_CONSUMERS(redis, {
      keys: { events: keys.events },
      args: { group: INGEST_GROUP, self: name, idleMs: FORGET_CONSUMER_MS },
    });
    await checkForGap();
  }

  /**
   * Entries removed before the group read them leave no pending entry behind. Two traces show them:
   * the log's first entry is past the group's last delivered one (trimEventLog always keeps that one:
   * only an XTRIM or a writer's MAXLEN goes past it), or max-deleted-entry-id is (an XDEL). How many
   * went is not known. Reported once per new trace.
   */
  let reportedGap = '';
  async function checkForGap(): Promise<void> {
    const stream = replyRecord((await redis.call('XINFO', 'STREAM', keys.events)) as unknown[]);
    const group = await ingestBacklog(redis, keys.events, 0);
    if (group === undefined || group.lastDelivered === '0-0') return;
    const first = stream['recorded-first-entry-id'] ?? '0-0';
    const deletedId = stream['max-deleted-entry-id'] ?? '0-0';
    const trimmed = Number(stream.length) > 0 && compareStreamIds(first, group.lastDelivered) > 0;
    const deleted = compareStreamIds(deletedId, group.lastDelivered) > 0;
    const trace = `${first}|${deletedId}`;
    if ((!trimmed && !deleted) || trace === reportedGap) return;
    reportedGap = trace;
    const reason =
      `event-log entries after ${group.lastDelivered} were deleted before the ingest group read them: ` +
      'notifications acknowledged to Interlace may never be stored (look them up at Interlace)';
    log.error({ firstEntryId: first, maxDeletedId: deletedId, lastDelivered: group.lastDelivered }, reason);
    deps.metrics?.ingestProcessed.inc({ outcome: 'lost' });
    void sendAlert(deps, {
      kind: 'ingest-failed',
      notificationId: `after stream id ${group.lastDelivered}`,
      reason,
    });
  }

  async function run(): Promise<void> {
    // When to read this consumer's own pending entries again (those that failed): first thing at start
    // (a restart under the same name), then after each failed round with a growing delay. New entries
    // are read in between, so an entry that keeps failing never holds up the others.
    let retryAt: number | undefined = 0;
    let retryDelay = 0;
    let readBackoff = 0;
    const scheduleRetry = () => {
      retryDelay = Math.min(MAX_BACKOFF_MS, Math.max(100, retryDelay * 2));
      retryAt = Date.now() + retryDelay;
    };
    while (!closing) {
      try {
        if (Date.now() >= nextReclaim) {
          nextReclaim = Date.now() + Math.max(1_000, options.reclaimIdleMs / 2);
          await reclaim();
        }
        if (retryAt !== undefined && Date.now() >= retryAt) {
          const entries = await read('0');
          const left = entries.length === 0 ? 0 : await processBatch(entries);
          if (left > 0) scheduleRetry();
          else if (entries.length < options.batchSize) [retryAt, retryDelay] = [undefined, 0];
          // else: a full batch went through; more of them may be pending, read them next.
          readBackoff = 0;
          continue;
        }
        const wait = retryAt === undefined ? blockMs : Math.max(1, Math.min(blockMs, retryAt - Date.now()));
        let entries = await read('>', wait);
        readBackoff = 0;
        if (entries.length === 0) continue;
        if (entries.length < options.batchSize && options.batchWaitMs > 0 && !closing) {
          await pause(options.batchWaitMs);
          entries = entries.concat(await read('>', 0, options.batchSize - entries.length));
        }
        const left = await processBatch(entries);
        if (left > 0 && retryAt === undefined) scheduleRetry();
      } catch (error) {
        if (closing) break;
        if (String((error as Error).message).startsWith('NOGROUP')) {
          // The stream (and its group) went away: whatever it holds now is new.
          log.warn('the event log has no ingest group: creating it');
          await ensureIngestGroup(redis, keys).catch(() => undefined);
        } else {
          log.error({ err: briefError(error) }, 'ingest read failed; retrying');
        }
        retryAt ??= Date.now();
        readBackoff = Math.min(MAX_BACKOFF_MS, Math.max(100, readBackoff * 2));
        await pause(readBackoff);
      }
    }
  }

  const wake = new EventEmitter();
  const pause = async (ms: number) => {
    const timer = new AbortController();
    const timeout = setTimeout(() => timer.abort(), ms);
    try {
      await once(wake, 'close', { signal: timer.signal });
    } catch {
      // the pause ran out
    } finally {
      clearTimeout(timeout);
    }
  };

  const running = run();

  const consumer: IngestConsumer = {
    name,
    async caughtUp(timeoutMs = 10_000): Promise<void> {
      const deadline = Date.now() + timeoutMs;
      const last = await redis.xrevrange(keys.events, '+', '-', 'COUNT', 1);
      const target = last[0]?.[0];
      if (target === undefined) return;
      for (;;) {
        if (await finishedThrough(redis, keys.events, target)) return;
        if (Date.now() > deadline)
          throw new Error(`ingest did not catch up with ${target} in ${timeoutMs} ms`);
        // Woken by a batch of this consumer, or after a moment when another one did the work.
        await Promise.race([once(progress, 'batch'), new Promise((resolve) => setTimeout(resolve, 25))]);
      }
    },
    async close(drainMs = 0): Promise<void> {
      if (closing) return running;
      if (drainMs > 0)
        await consumer
          .caughtUp(drainMs)
          .catch((error: unknown) =>
            log.warn({ err: briefError(error) }, 'ingest: closing with notifications still to store'),
          );
      closing = true;
      wake.emit('close');
      // A blocked read is cut, not waited for: its entries stay with the group and are reclaimed.
      reader.disconnect();
      await running;
      await closeRedis(reader).catch(() => undefined);
    },
  };
  return consumer;
}

/**
 * Whether the group has finished every entry the event log holds now (true for a log with none). Two
 * cheap reads however long the backlog is, unlike an exact count of it (ingestBacklog).
 */
export async function ingestFinished(redis: Redis, key: string): Promise<boolean> {
  const last = await redis.xrevrange(key, '+', '-', 'COUNT', 1);
  const target = last[0]?.[0];
  return target === undefined || finishedThrough(redis, key, target);
}

/** Whether the ingest group has read every entry up to `target` and has none of them pending. */
async function finishedThrough(redis: Redis, key: string, target: string): Promise<boolean> {
  const groups = (await redis.call('XINFO', 'GROUPS', key)) as string[][];
  const group = groups.map((fields) => replyRecord(fields)).find((info) => info.name === INGEST_GROUP);
  if (group === undefined) return false;
  if (compareStreamIds(group['last-delivered-id'] ?? '0-0', target) < 0) return false;
  const pending = (await redis.call('XPENDING', key, INGEST_GROUP, '-', target, 1)) as unknown[];
  return pending.length === 0;
}

type DecodedEntry =
  | {
      ok: true;
      entry: Record<string, string | undefined>;
      /** The stored body, parsed once: its signature is checked from it. */
      parsed: unknown;
      envelope: WebhookEnvelope;
    }
  | { ok: false; deleted: true }
  | { ok: false; deleted: false; error: Error };

/** An entry's fields and its stored body (storedNotificationBody), read once. */
function decodeEntry(fields: readonly string[] | null): DecodedEntry {
  if (fields === null) return { ok: false, deleted: true };
  const entry = replyRecord(fields);
  let parsed: unknown;
  try {
    parsed = JSON.parse(entry.body ?? '');
  } catch {
    parsed = undefined;
  }
  const stored = parsed as Partial<WebhookEnvelope> | null | undefined;
  if (
    stored === null ||
    typeof stored !== 'object' ||
    typeof stored.id !== 'string' ||
    typeof stored.eventType !== 'string' ||
    typeof stored.resource !== 'string'
  )
    return {
      ok: false,
      deleted: false,
      error: new Error('the event-log entry is not a stored notification'),
    };
  return {
    ok: true,
    entry,
    parsed,
    envelope: { id: stored.id, eventType: stored.eventType, resource: stored.resource },
  };
}

/**
 * The id of the resource an entry is about (a deposit's, a blockchain transfer's): its top-level `id`.
 * Entries without one are keyed apart. (Storing a payout's notifications is safe in any order since
 * the attack review; keeping one resource's entries in order keeps the batches easy to reason about.)
 */
function resourceKey(resource: string): string | undefined {
  try {
    const { id } = JSON.parse(resource) as { id?: unknown };
    return typeof id === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/** An event-log entry whose stored signature does not verify: never stored, dead-lettered at once. */
class UnverifiedEntryError extends Error {
  constructor() {
    super('the stored signature is not valid for its resource (INTERLACE_WEBHOOK_SECRET): not stored');
    this.name = 'UnverifiedEntryError';
  }
}

/**
 * A failure that says nothing about the entry: the connection, or a Redis that cannot serve right now
 * (loading, read-only replica, busy script, out of memory, cluster resharding). Never counted.
 */
function isConnectionError(error: unknown): boolean {
  const name = (error as Error)?.name ?? '';
  const message = String((error as Error)?.message ?? '');
  if (/^(READONLY|BUSY|LOADING|MASTERDOWN|CLUSTERDOWN|TRYAGAIN|MOVED|ASK|OOM|NOREPLICAS)\b/.test(message))
    return true;
  if (name === 'ReplyError') return false;
  return /Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|Command timed out|enableOfflineQueue|MaxRetriesPerRequest|Stream isn't writeable|ended|the ledger did not answer/i.test(
    `${name} ${message}`,
  );
}

/**
 * What a log line keeps of an error: its type and message. A Redis reply error carries the whole
 * command (a BullMQ script and its arguments are tens of KB) in its properties.
 */
function briefError(error: unknown): { type: string; message: string } {
  return { type: (error as Error)?.name ?? typeof error, message: messageOf(error) };
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
