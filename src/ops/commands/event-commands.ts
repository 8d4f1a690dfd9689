import { Command } from 'commander';
import type { CliRuntime } from '../cli-runtime.js';
import { replayEvents, type EventReplayReport } from '../events-replay.js';
import { usageError } from '../ops-error.js';
import { parseCount, parseTime } from '../parse-time.js';

type ReplayOptions = { since?: number; until?: number; dryRun?: boolean; limit?: number };

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
    .action((options: ReplayOptions, command: Command) => {
      const since = options.since;
      if (since === undefined) throw usageError('events replay: --since is required');
      return cli.run(command, async (deps, { progress }) => {
        const report = await replayEvents(deps, {
          since,
          ...(options.until === undefined ? {} : { until: options.until }),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
          dryRun: options.dryRun === true,
          onProgress: progress,
        });
        return { json: report, text: reportText(report) };
      });
    });
  return group;
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
