import type { OpsDeps } from './ops-context.js';
import { toRecord } from './audit-log.js';
import { compareStreamIds } from '../redis-reply.js';

export type StoredEvent = {
  streamId: string;
  id: string;
  eventType: string;
  receivedAt: string;
  body: string;
};

const PAGE = 500;

/**
 * Notifications of the event log received within [since, until], oldest first, page by page: the
 * current log's and those of the log receivers before the ingest stream wrote (keys.legacyEvents).
 */
export async function* readEvents(
  deps: Pick<OpsDeps, 'redis' | 'keys'>,
  range: { since?: number; until?: number },
): AsyncGenerator<StoredEvent> {
  // Merged by stream id (time): during a rolling upgrade both logs were written at once, and a replay
  // cut by --limit goes on from a time, which must cover both.
  const legacy = readStream(deps, deps.keys.legacyEvents, range);
  const current = readStream(deps, deps.keys.events, range);
  let a = await legacy.next();
  let b = await current.next();
  while (!a.done || !b.done) {
    if (b.done || (!a.done && compareStreamIds(a.value.streamId, b.value.streamId) <= 0)) {
      yield a.value as StoredEvent;
      a = await legacy.next();
    } else {
      yield b.value;
      b = await current.next();
    }
  }
}

async function* readStream(
  deps: Pick<OpsDeps, 'redis'>,
  key: string,
  range: { since?: number; until?: number },
): AsyncGenerator<StoredEvent> {
  // Stream ids are `<ms>-<seq>`: a bare ms as the end includes every entry of that millisecond.
  let start = range.since === undefined ? '-' : `${range.since}-0`;
  const end = range.until === undefined ? '+' : String(range.until);
  for (;;) {
    const page = await deps.redis.xrange(key, start, end, 'COUNT', PAGE);
    for (const [streamId, fields] of page) {
      const map = toRecord(fields);
      yield {
        streamId,
        id: map.id ?? '',
        eventType: map.eventType ?? '',
        receivedAt: map.receivedAt ?? '',
        body: map.body ?? '',
      };
    }
    if (page.length < PAGE) return;
    start = `(${page[page.length - 1]![0]}`;
  }
}
