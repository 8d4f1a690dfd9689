import type { OpsDeps } from './ops-context.js';
import { toRecord } from './audit-log.js';

export type StoredEvent = {
  streamId: string;
  id: string;
  eventType: string;
  receivedAt: string;
  body: string;
};

const PAGE = 500;

/**
 * Notifications of the event log received within [since, until], oldest first, page by page: first
 * those the log of receivers before the ingest stream holds (keys.legacyEvents, no longer written),
 * then the current log's.
 */
export async function* readEvents(
  deps: Pick<OpsDeps, 'redis' | 'keys'>,
  range: { since?: number; until?: number },
): AsyncGenerator<StoredEvent> {
  for (const key of [deps.keys.legacyEvents, deps.keys.events]) yield* readStream(deps, key, range);
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
