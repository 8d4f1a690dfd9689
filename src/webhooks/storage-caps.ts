import { createHash } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics/metrics.js';
import { sendAlert, type Alerts } from '../alerts/alerts.js';
import { trimEventLog } from './ingest-log.js';

/** How often the receiver checks the event log's size against EVENT_LOG_MAX_BYTES. */
export const EVENT_LOG_CHECK_MS = 10_000;
/** At most one storage-capped alert per store in this time (a full log drops on every write). */
const ALERT_EVERY_MS = 3_600_000;

export type CapDeps = {
  redis: Redis;
  keys: Keys;
  logger: Logger;
  metrics?: Metrics | undefined;
  alerts?: Alerts | undefined;
};

export type EventLogCheck = {
  length: number;
  /** MEMORY USAGE of the stream before the check trimmed it. */
  bytes: number;
  /** Entries this check removed to stay under the byte cap. */
  droppedForBytes: number;
  /** Entries removed since the stream was created, by either cap (XINFO entries-added − length). */
  droppedEver: number | undefined;
};

/**
 * Keeps the event log under `maxBytes` (its count cap is the ingest consumer's): measures the stream
 * (MEMORY USAGE, sampled) and trims its oldest entries to about 90 % of the cap when it is over.
 */
export async function enforceEventLogBytes(
  redis: Redis,
  keys: Keys,
  maxBytes: number,
): Promise<EventLogCheck> {
  const bytes = Number((await redis.call('MEMORY', 'USAGE', keys.events, 'SAMPLES', '5')) ?? 0);
  let length = await redis.xlen(keys.events);
  let droppedForBytes = 0;
  if (bytes > maxBytes && length > 0) {
    const keep = Math.floor(length * (maxBytes / bytes) * 0.9);
    // Never past what the ingest group has not finished (trimEventLog): a backlog stays whole.
    droppedForBytes = (await trimEventLog(redis, keys, keep)).removed;
    length -= droppedForBytes;
  }
  return { length, bytes, droppedForBytes, droppedEver: await droppedEver(redis, keys.events) };
}

async function droppedEver(redis: Redis, key: string): Promise<number | undefined> {
  if ((await redis.exists(key)) === 0) return undefined;
  const info = (await redis.call('XINFO', 'STREAM', key)) as unknown[];
  const field = (name: string) => {
    const index = info.indexOf(name);
    return index >= 0 ? Number(info[index + 1]) : undefined;
  };
  const added = field('entries-added');
  const length = field('length');
  // entries-added exists from Redis 7.0 on.
  return added === undefined || length === undefined ? undefined : added - length;
}

/**
 * The receiver's periodic check: enforces the byte cap, counts every entry either cap dropped
 * (isweep_storage_dropped_total) and alerts, at most once an hour, when a cap dropped data.
 */
export function watchEventLog(deps: CapDeps, maxBytes: number, intervalMs = EVENT_LOG_CHECK_MS) {
  let lastDropped: number | undefined;
  const check = async () => {
    const result = await enforceEventLogBytes(deps.redis, deps.keys, maxBytes);
    deps.metrics?.eventLogBytes.set(result.bytes);
    if (result.droppedForBytes > 0)
      deps.metrics?.storageDropped.inc({ store: 'event-log', cap: 'bytes' }, result.droppedForBytes);
    const byCount =
      result.droppedEver !== undefined && lastDropped !== undefined
        ? Math.max(0, result.droppedEver - lastDropped - result.droppedForBytes)
        : 0;
    if (byCount > 0) deps.metrics?.storageDropped.inc({ store: 'event-log', cap: 'count' }, byCount);
    if (result.droppedEver !== undefined) lastDropped = result.droppedEver;
    if (result.droppedForBytes > 0)
      await alertOnce(deps, {
        store: 'event-log',
        cap: 'bytes',
        dropped: `${result.droppedForBytes} entries`,
      });
    else if (byCount > 0)
      await alertOnce(deps, { store: 'event-log', cap: 'count', dropped: `${byCount} entries` });
    return result;
  };
  const timer = setInterval(() => {
    check().catch((error: unknown) => deps.logger.warn({ err: error }, 'event log cap check failed'));
  }, intervalMs);
  timer.unref();
  return {
    check,
    stop() {
      clearInterval(timer);
    },
  };
}

/**
 * A dead letter's notification body, at most `maxBytes`: a longer one is replaced by its size and
 * SHA-256 (data dropped: counted and alerted). Answers the body to keep and whether it was cut.
 */
export async function capDeadLetterBody(
  deps: CapDeps,
  body: string,
  maxBytes: number,
  ids: { id?: string; eventType?: string },
): Promise<string> {
  const bytes = Buffer.byteLength(body);
  if (bytes <= maxBytes) return body;
  deps.metrics?.storageDropped.inc({ store: 'dead-letter', cap: 'bytes' });
  deps.logger.warn(
    { ...ids, bytes, maxBytes },
    'dead letter body over DEAD_LETTER_MAX_BODY_BYTES: kept its hash only',
  );
  await alertOnce(deps, {
    store: 'dead-letter',
    cap: 'bytes',
    dropped: `a body of ${bytes} bytes (${ids.id ?? '?'})`,
  });
  return JSON.stringify({
    ...ids,
    truncated: true,
    bytes,
    sha256: createHash('sha256').update(body).digest('hex'),
  });
}

async function alertOnce(
  deps: CapDeps,
  alert: { store: 'event-log' | 'dead-letter'; cap: 'count' | 'bytes'; dropped: string },
): Promise<void> {
  deps.logger.warn(alert, 'a storage cap dropped data');
  if (!deps.alerts) return;
  const key = `${deps.keys.prefix}:alerts:storage-capped:${alert.store}`;
  if ((await deps.redis.set(key, String(Date.now()), 'PX', ALERT_EVERY_MS, 'NX')) === null) return;
  await sendAlert(deps, { kind: 'storage-capped', ...alert });
}
