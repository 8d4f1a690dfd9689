import { Command } from 'commander';
import { truncate, type CliRuntime } from '../cli-runtime.js';
import type { DeadLetter } from '../dead-letters.js';
import { listDeadLetters } from '../dlq-list.js';
import { purgeDeadLetters } from '../dlq-purge.js';
import { replayDeadLetters, type ReplayOutcome } from '../dlq-replay.js';
import { showDeadLetter } from '../dlq-show.js';
import { formatFields, formatTable, isoTime, withIsoTimes } from '../format-table.js';
import type { OpsDeps } from '../ops-context.js';
import { usageError } from '../ops-error.js';
import { parseCount } from '../parse-time.js';
import { resolveDeadLetterRef } from '../resolve-ref.js';

type ReplayOptions = {
  all?: boolean;
  reason?: string;
  dryRun?: boolean;
  limit?: number;
  allowUnsigned?: boolean;
};

/** `dlq list|show|replay|purge`: the dead letters an operator must decide on. */
export function dlqCommands(cli: CliRuntime): Command {
  const group = new Command('dlq').description(
    'dead letters: sweeps that gave up, notifications that were invalid',
  );

  group
    .command('list')
    .description('dead letters, oldest first')
    .option('--reason <R>', 'only letters whose reason contains R (case-insensitive)')
    .action((options: { reason?: string }, command: Command) =>
      cli.run(command, async (deps) => {
        const letters = await listDeadLetters(deps, options);
        return { json: letters, text: letters.length === 0 ? 'no dead letters' : letterTable(letters) };
      }),
    );

  group
    .command('show')
    .description('one dead letter: reason, deposit, attempts, the notification as received')
    .argument('<ref>', 'dead-letter id or deposit id, or a unique prefix of either')
    .action((ref: string, _options: unknown, command: Command) =>
      cli.run(command, async (deps) => {
        const letter = await showDeadLetter(deps, { ref: await resolveDeadLetterRef(deps, ref) });
        return { json: letter, text: letterText(letter) };
      }),
    );

  group
    .command('replay')
    .description('sends dead letters back through the sweep or the receiver (never moves money twice)')
    .argument('[refs...]', 'dead-letter ids or deposit ids, or unique prefixes of either')
    .option('--all', 'every dead letter')
    .option('--reason <R>', 'the letters whose reason contains R')
    .option('--limit <N>', 'with --all or --reason: at most N letters, oldest first', (value) =>
      parseCount(value, '--limit'),
    )
    .option('--dry-run', 'say what would happen; change nothing')
    .option(
      '--allow-unsigned',
      'also replay notifications whose stored signature is missing or invalid (named in the audit trail)',
    )
    .action((refs: string[], options: ReplayOptions, command: Command) =>
      cli.run(command, async (deps, { progress }) => {
        const dryRun = options.dryRun === true;
        const outcomes = await replayDeadLetters(deps, {
          refs: await resolveAll(deps, refs),
          all: options.all === true,
          ...(options.reason === undefined ? {} : { reason: options.reason }),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
          dryRun,
          allowUnsigned: options.allowUnsigned === true,
          onProgress: progress,
        });
        const failed = outcomes.some((o) =>
          ['refused', 'not-found', dryRun ? '' : 'still-invalid'].includes(o.outcome),
        );
        const limited =
          options.limit !== undefined && outcomes.length === options.limit
            ? `\n--limit ${options.limit} reached: run it again for the next ones`
            : '';
        return {
          json: { dryRun, outcomes },
          text:
            outcomes.length === 0 ? 'no dead letters matched' : `${replayText(outcomes, dryRun)}${limited}`,
          exitCode: failed ? 1 : 0,
        };
      }),
    );

  group
    .command('purge')
    .description('deletes dead letters for good (the deposit records stay)')
    .argument('<refs...>', 'dead-letter ids or deposit ids, or unique prefixes of either')
    .option('--yes', 'confirm: this cannot be undone')
    .action((refs: string[], options: { yes?: boolean }, command: Command) => {
      if (options.yes !== true)
        throw usageError('dlq purge deletes dead letters for good: add --yes to confirm');
      return cli.run(command, async (deps) => {
        const outcomes = await purgeDeadLetters(deps, {
          refs: await resolveAll(deps, refs),
          confirmed: true,
        });
        return {
          json: outcomes,
          text: outcomes.map((o) => `${o.outcome.padEnd(9)}  ${o.id ?? o.ref}`).join('\n'),
          exitCode: outcomes.some((o) => o.outcome === 'not-found') ? 1 : 0,
        };
      });
    });
  return group;
}

async function resolveAll(deps: OpsDeps, refs: readonly string[]): Promise<string[]> {
  const resolved: string[] = [];
  for (const ref of refs) resolved.push(await resolveDeadLetterRef(deps, ref));
  return resolved;
}

function letterTable(letters: DeadLetter[]): string {
  return formatTable(
    ['id', 'kind', 'depositId', 'deadAt', 'reason'],
    letters.map((l) => [l.id, l.kind, l.depositId ?? '', isoTime(l.deadAt), truncate(l.reason, 100)]),
  );
}

function letterText(letter: DeadLetter): string {
  const { attempts, deposit, notification, ...rest } = letter;
  return [
    formatFields(withIsoTimes(rest), ['id', 'kind', 'depositId', 'reason', 'lastError', 'deadAt']),
    ...(deposit
      ? [`deposit        ${deposit.currency ?? ''} ${deposit.amount ?? ''} state ${deposit.state ?? ''}`]
      : []),
    ...(notification
      ? [`notification   ${notification.id ?? ''} ${notification.eventType ?? ''}`, notification.body]
      : []),
    `attempts       ${attempts.length === 0 ? '(none)' : ''}`,
    ...attempts.map((a) => `  #${a.attempt} ${isoTime(a.at)} ${a.category}/${a.reason}: ${a.message}`),
  ].join('\n');
}

function replayText(outcomes: ReplayOutcome[], dryRun: boolean): string {
  const rows = outcomes.map((o) => [
    o.outcome,
    o.letterId ?? o.ref,
    o.depositId ?? '',
    o.currency ?? '',
    o.amount ?? '',
    o.clientTransactionId ?? '',
    o.message,
  ]);
  const table = formatTable(
    ['outcome', 'letter', 'deposit', 'currency', 'amount', 'clientTransactionId', 'message'],
    rows,
  );
  return dryRun ? `dry run: nothing was changed\n${table}` : table;
}
