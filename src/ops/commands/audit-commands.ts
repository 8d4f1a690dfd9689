import { Command } from 'commander';
import { listAudit } from '../audit-log.js';
import { truncate, type CliRuntime } from '../cli-runtime.js';
import { formatTable } from '../format-table.js';
import { parseCount, parseTime } from '../parse-time.js';

/** `audit list`: who ran which mutating command, when, on what, with what result. */
export function auditCommands(cli: CliRuntime): Command {
  const group = new Command('audit').description('the audit trail of mutating commands');

  group
    .command('list')
    .description('audit entries, newest first')
    .option('--since <T>', 'entries at or after T', (value) => parseTime(value, '--since', cli.now))
    .option('--limit <N>', 'at most N entries', (value) => parseCount(value, '--limit'), 50)
    .action((options: { since?: number; limit: number }, command: Command) =>
      cli.run(command, async (deps) => {
        const entries = await listAudit(deps, {
          limit: options.limit,
          ...(options.since === undefined ? {} : { since: options.since }),
        });
        const rows = entries.map((e) => [
          e.at,
          e.operator,
          e.command,
          e.targets.join(' '),
          e.dryRun ? 'dry-run' : '',
          truncate(JSON.stringify(e.result), 80),
        ]);
        return {
          json: entries,
          text:
            entries.length === 0
              ? 'no audit entries'
              : formatTable(['at', 'operator', 'command', 'targets', '', 'result'], rows),
        };
      }),
    );
  return group;
}
