import { Command, Option } from 'commander';
import { truncate, type CliRuntime } from '../cli-runtime.js';
import { replayEvents, type EventReplayReport } from '../events-replay.js';
import { usageError } from '../ops-error.js';
import {
  listMerchantEvents,
  MERCHANT_EVENT_STATES,
  replayMerchantEvent,
  showMerchantEvent,
  type MerchantEventState,
} from '../merchant-events.js';
import { formatTable } from '../format-table.js';
import { parseCount, parseTime } from '../parse-time.js';

type ReplayOptions = {
  since?: number;
  until?: number;
  dryRun?: boolean;
  limit?: number;
  allowUnsigned?: boolean;
};

/** `events replay`: the raw notification log fed through the receiving path again. */
export function eventCommands(cli: CliRuntime): Command {
  const group = new Command('events').description('the log of every verified notification, as received');

  group
    .command('replay')
    .description('feeds the notifications of a time window through the receiving path again (idempotent)')
    .option('--since <T>', 'from T (required)', (value) => parseTime(value, '--since', cli.now))
    .option('--until <T>', 'up to T', (value) => parseTime(value, '--until', cli.now))
    .option('--limit <N>', 'at most N notifications, oldest first', (value) => parseCount(value, '--limit'))
    .option('--dry-run', 'say what each notification would do; change nothing')
    .option('--allow-unsigned', 'also feed entries whose stored signature does not verify (audited)')
    .action((options: ReplayOptions, command: Command) => {
      const since = options.since;
      if (since === undefined) throw usageError('events replay: --since is required');
      return cli.run(command, async (deps, { progress }) => {
        const report = await replayEvents(deps, {
          since,
          ...(options.until === undefined ? {} : { until: options.until }),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
          dryRun: options.dryRun === true,
          allowUnsigned: options.allowUnsigned === true,
          onProgress: progress,
        });
        return { json: report, text: reportText(report) };
      });
    });
  group.addCommand(merchantCommands(cli));
  return group;
}

/** `events merchant list|show|replay`: the signed deposit events sent to MERCHANT_WEBHOOK_URL. */
function merchantCommands(cli: CliRuntime): Command {
  const merchant = new Command('merchant').description(
    "the deposit events sent to the merchant's backend (MERCHANT_WEBHOOK_URL)",
  );
  merchant
    .command('list')
    .description('events newest first, with their delivery state (failed = dead-lettered)')
    .addOption(new Option('--state <S>', 'only events in this delivery state').choices(MERCHANT_EVENT_STATES))
    .option('--limit <N>', 'at most N events', (value) => parseCount(value, '--limit'), 50)
    .action((options: { state?: MerchantEventState; limit: number }, command: Command) =>
      cli.run(command, async (deps) => {
        const events = await listMerchantEvents(deps, {
          limit: options.limit,
          ...(options.state ? { state: options.state } : {}),
        });
        const text =
          events.length === 0
            ? 'no merchant events'
            : formatTable(
                ['eventId', 'type', 'depositId', 'state', 'attempts', 'createdAt', 'lastError'],
                events.map((e) => [
                  e.eventId,
                  e.type,
                  e.depositId,
                  e.state,
                  String(e.attempts),
                  e.createdAt,
                  truncate(e.lastError ?? '', 60),
                ]),
              );
        return { json: events, text };
      }),
    );
  merchant
    .command('show')
    .description('one event: its delivery state and the body as signed and sent')
    .argument('<eventId>', 'the event id (evt_…), as the webhook-id header and the list show it')
    .action((eventId: string, _options: unknown, command: Command) =>
      cli.run(command, async (deps) => {
        const event = await showMerchantEvent(deps, eventId);
        return { json: event, text: JSON.stringify(event, null, 2) };
      }),
    );
  merchant
    .command('replay')
    .description('sends a dead-lettered or delivered event again, same id and body (audited)')
    .argument('<eventId>', 'the event id (evt_…)')
    .option('--dry-run', 'say what would happen; change nothing')
    .action((eventId: string, options: { dryRun?: boolean }, command: Command) =>
      cli.run(command, async (deps) => {
        const result = await replayMerchantEvent(deps, { eventId, dryRun: options.dryRun === true });
        return {
          json: result,
          text: `${result.eventId}: ${result.previousState} → ${result.outcome === 'requeued' ? 'queued for delivery' : 'would be queued for delivery'}`,
        };
      }),
    );
  return merchant;
}

function reportText(report: EventReplayReport): string {
  const lines = report.events.map(({ streamId, notificationId, eventType, result }) => {
    const what =
      result.outcome === 'deposit'
        ? `deposit ${result.depositId}: ${result.before} → ${result.state}` +
          ('wouldSweep' in result ? (result.wouldSweep ? ' (would sweep)' : '') : ` (${result.sweep})`)
        : `${result.outcome}: ${result.reason}`;
    return `${streamId}  ${notificationId}  ${eventType}  ${what}`;
  });
  const summary = Object.entries(report.summary)
    .map(([key, count]) => `${key}=${count}`)
    .join(' ');
  const head = `${report.dryRun ? 'dry run: ' : ''}${report.events.length} notification(s) since ${report.since}`;
  const next = report.next
    ? [
        `stopped at --limit: the next is ${report.next}; continue with --since ${report.next.split('-')[0]}` +
          ' (notifications of that millisecond already fed are recognised and left as they are)',
      ]
    : [];
  return [...lines, `${head}${summary ? `: ${summary}` : ''}`, ...next].join('\n');
}
