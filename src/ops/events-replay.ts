import type { OpsDeps } from './ops-context.js';
import { usageError } from './ops-error.js';
import { appendAudit } from './audit-log.js';
import { readEvents } from './event-log.js';
import { storedSignatureIsValid } from '../interlace/stored-notification.js';
import {
  feedNotification,
  parseStoredBody,
  predictNotification,
  type FeedOutcome,
  type FeedPrediction,
} from './notification-replay.js';

const UNSIGNED =
  'the stored notification has no valid signature (INTERLACE_WEBHOOK_SECRET must be set for the CLI to ' +
  'check it): not fed; --allow-unsigned feeds it anyway, audited';

export type EventReplayLine = {
  streamId: string;
  notificationId: string;
  eventType: string;
  result:
    | FeedOutcome
    | FeedPrediction
    | { outcome: 'unreadable'; reason: string }
    | { outcome: 'unsigned'; reason: string };
};

export type EventReplayReport = {
  dryRun: boolean;
  since: string;
  until: string | null;
  events: EventReplayLine[];
  summary: Record<string, number>;
  /** With --limit: the stream id of the first notification of the window left for a next run. */
  next?: string;
};

/**
 * Feeds the notifications logged in a time window through the live receiving path again, e.g. after a
 * fix, or to rebuild records lost from the ledger. Idempotent by construction: the ledger ignores what
 * it already knows and a swept deposit never moves again.
 */
export async function replayEvents(
  deps: OpsDeps,
  input: {
    since: number;
    until?: number;
    dryRun: boolean;
    /** At most this many notifications, oldest first; `next` then says where to go on. */
    limit?: number;
    /** Feed entries whose stored signature does not verify too (audited). */
    allowUnsigned?: boolean;
    onProgress?: (done: number) => void;
  },
): Promise<EventReplayReport> {
  if (input.until !== undefined && input.until < input.since)
    throw usageError('events replay: --until is before --since');
  const events: EventReplayLine[] = [];
  let next: string | undefined;
  for await (const event of readEvents(deps, input)) {
    if (input.limit !== undefined && events.length >= input.limit) {
      next = event.streamId;
      break;
    }
    // The log is data in Redis like a dead letter: only an entry whose stored signature still verifies
    // is fed, unless the operator says otherwise (audited). The ingest consumer dead-letters the others.
    const signed = storedSignatureIsValid(event.body, deps.config.interlace.webhookSecret);
    const parsed = parseStoredBody(event.body);
    const result =
      !signed && input.allowUnsigned !== true
        ? { outcome: 'unsigned' as const, reason: UNSIGNED }
        : !parsed.ok
          ? { outcome: 'unreadable' as const, reason: parsed.reason }
          : input.dryRun
            ? await predictNotification(deps, parsed.envelope)
            : await feedNotification(deps, parsed.envelope, event.body);
    events.push({ streamId: event.streamId, notificationId: event.id, eventType: event.eventType, result });
    input.onProgress?.(events.length);
  }
  const summary: Record<string, number> = {};
  for (const { result } of events) {
    const key =
      result.outcome === 'deposit'
        ? 'wouldSweep' in result
          ? result.wouldSweep
            ? 'would-sweep'
            : `deposit-${result.state}`
          : result.sweep === 'enqueued'
            ? 'sweep-enqueued'
            : `deposit-${result.state}`
        : result.outcome;
    summary[key] = (summary[key] ?? 0) + 1;
  }
  const report = {
    dryRun: input.dryRun,
    since: new Date(input.since).toISOString(),
    until: input.until === undefined ? null : new Date(input.until).toISOString(),
    events,
    summary,
    ...(next === undefined ? {} : { next }),
  };
  if (!input.dryRun) {
    await appendAudit(deps, {
      command: 'events replay',
      targets: [
        `${report.since}..${report.until ?? 'now'}`,
        ...(input.allowUnsigned ? ['--allow-unsigned'] : []),
      ],
      result: { notifications: events.length, summary, ...(next === undefined ? {} : { next }) },
    });
  }
  return report;
}
