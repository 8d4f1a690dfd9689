import { userInfo } from 'node:os';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig } from '../config.js';
import type { DepositRecord } from '../deposits/deposit-state.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import { listAudit } from './audit-log.js';
import type { DeadLetter } from './dead-letters.js';
import { showDeposit } from './deposit-show.js';
import { listDeposits } from './deposit-list.js';
import { listDeadLetters } from './dlq-list.js';
import { purgeDeadLetters } from './dlq-purge.js';
import { replayDeadLetters, type ReplayOutcome } from './dlq-replay.js';
import { showDeadLetter } from './dlq-show.js';
import { replayEvents } from './events-replay.js';
import { formatFields, formatTable, isoTime } from './format-table.js';
import { openOps, type OpsDeps } from './ops-context.js';
import { OpsError, usageError } from './ops-error.js';
import { parseCount, parseTime } from './parse-time.js';
import { pauseSweeps, resumeSweeps, sweepStatus, type SweepStatus } from './sweep-control.js';
import { enqueueDeposit } from './sweep-enqueue.js';

export type Writer = { write(text: string): unknown };
export type CliIo = { env: Record<string, string | undefined>; stdout: Writer; stderr: Writer };

type Options = NonNullable<ParseArgsConfig['options']>;
type Values = Record<string, string | boolean | undefined>;
type Output = { json: unknown; text: string; exitCode?: number };
type Command = {
  usage: string;
  options?: Options;
  /** Validates the command line before anything connects, so a typo never touches Redis. */
  parse(values: Values, positionals: string[], now: number): unknown;
  run(deps: OpsDeps, input: never): Promise<Output>;
};

const STATES = ['pending', 'queued', 'sweeping', 'swept', 'held', 'failed', 'dead', 'dust', 'unsupported'];
const str = (values: Values, key: string) => values[key] as string | undefined;
const time = (values: Values, key: string, now: number) => {
  const value = str(values, key);
  return value === undefined ? undefined : parseTime(value, `--${key}`, now);
};
const none = (name: string) => (_values: Values, positionals: string[]) => {
  if (positionals.length > 0) throw usageError(`${name}: unexpected argument "${positionals[0]}"`);
  return {};
};
const one = (name: string, what: string) => (_values: Values, positionals: string[]) => {
  if (positionals.length !== 1) throw usageError(`${name}: expected exactly one ${what}`);
  return { ref: positionals[0]! };
};

const COMMANDS: Record<string, Command> = {
  'deposits show': {
    usage: 'deposits show <depositId|txHash>',
    parse: one('deposits show', 'deposit id or tx hash'),
    run: async (deps, input: { ref: string }) => {
      const details = await showDeposit(deps, input);
      return {
        json: details.length === 1 ? details[0] : details,
        text: details.map(depositText).join('\n\n'),
      };
    },
  },
  'deposits list': {
    usage: 'deposits list [--state S] [--wallet W] [--since T] [--until T] [--limit N]',
    options: {
      state: { type: 'string' },
      wallet: { type: 'string' },
      since: { type: 'string' },
      until: { type: 'string' },
      limit: { type: 'string' },
    },
    parse: (values, positionals, now) => {
      none('deposits list')(values, positionals);
      const state = str(values, 'state');
      if (state !== undefined && !STATES.includes(state))
        throw usageError(`--state: "${state}" is not one of ${STATES.join(', ')}`);
      const limit = str(values, 'limit');
      return {
        state,
        walletId: str(values, 'wallet'),
        since: time(values, 'since', now),
        until: time(values, 'until', now),
        limit: limit === undefined ? 50 : parseCount(limit, '--limit'),
      };
    },
    run: async (deps, input: Parameters<typeof listDeposits>[1]) => {
      const deposits = await listDeposits(deps, input);
      return { json: deposits, text: deposits.length === 0 ? 'no deposits' : depositTable(deposits) };
    },
  },
  'dlq list': {
    usage: 'dlq list [--reason R]',
    options: { reason: { type: 'string' } },
    parse: (values, positionals) => ({
      ...none('dlq list')(values, positionals),
      reason: str(values, 'reason'),
    }),
    run: async (deps, input: { reason?: string }) => {
      const letters = await listDeadLetters(deps, input);
      return { json: letters, text: letters.length === 0 ? 'no dead letters' : letterTable(letters) };
    },
  },
  'dlq show': {
    usage: 'dlq show <deadLetterId|depositId>',
    parse: one('dlq show', 'dead-letter id or deposit id'),
    run: async (deps, input: { ref: string }) => {
      const letter = await showDeadLetter(deps, input);
      return { json: letter, text: letterText(letter) };
    },
  },
  'dlq replay': {
    usage: 'dlq replay <id…> | --all | --reason R [--dry-run]',
    options: { all: { type: 'boolean' }, reason: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    parse: (values, positionals) => ({
      refs: positionals,
      all: values.all === true,
      reason: str(values, 'reason'),
      dryRun: values['dry-run'] === true,
    }),
    run: async (deps, input: Parameters<typeof replayDeadLetters>[1]) => {
      const outcomes = await replayDeadLetters(deps, input);
      const failed = outcomes.some((o) =>
        ['refused', 'not-found', input.dryRun ? '' : 'still-invalid'].includes(o.outcome),
      );
      return {
        json: { dryRun: input.dryRun, outcomes },
        text: outcomes.length === 0 ? 'no dead letters matched' : replayText(outcomes, input.dryRun),
        exitCode: failed ? 1 : 0,
      };
    },
  },
  'dlq purge': {
    usage: 'dlq purge <id…> --yes',
    options: { yes: { type: 'boolean' } },
    parse: (values, positionals) => {
      if (positionals.length === 0) throw usageError('dlq purge: name at least one dead-letter id');
      if (values.yes !== true)
        throw usageError('dlq purge deletes dead letters for good: add --yes to confirm');
      return { refs: positionals, confirmed: true };
    },
    run: async (deps, input: Parameters<typeof purgeDeadLetters>[1]) => {
      const outcomes = await purgeDeadLetters(deps, input);
      return {
        json: outcomes,
        text: outcomes.map((o) => `${o.outcome.padEnd(9)}  ${o.id ?? o.ref}`).join('\n'),
        exitCode: outcomes.some((o) => o.outcome === 'not-found') ? 1 : 0,
      };
    },
  },
  'events replay': {
    usage: 'events replay --since T [--until T] [--dry-run]',
    options: { since: { type: 'string' }, until: { type: 'string' }, 'dry-run': { type: 'boolean' } },
    parse: (values, positionals, now) => {
      none('events replay')(values, positionals);
      const since = time(values, 'since', now);
      if (since === undefined) throw usageError('events replay: --since is required');
      return { since, until: time(values, 'until', now), dryRun: values['dry-run'] === true };
    },
    run: async (deps, input: Parameters<typeof replayEvents>[1]) => {
      const report = await replayEvents(deps, input);
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
      return { json: report, text: [...lines, `${head}${summary ? `: ${summary}` : ''}`].join('\n') };
    },
  },
  'sweep pause': {
    usage: 'sweep pause',
    parse: none('sweep pause'),
    run: async (deps) => statusOutput(await pauseSweeps(deps)),
  },
  'sweep resume': {
    usage: 'sweep resume',
    parse: none('sweep resume'),
    run: async (deps) => statusOutput(await resumeSweeps(deps)),
  },
  'sweep status': {
    usage: 'sweep status',
    parse: none('sweep status'),
    run: async (deps) => statusOutput(await sweepStatus(deps)),
  },
  'sweep enqueue': {
    usage: 'sweep enqueue <depositId> [--dry-run]',
    options: { 'dry-run': { type: 'boolean' } },
    parse: (values, positionals) => ({
      depositId: one('sweep enqueue', 'deposit id')(values, positionals).ref,
      dryRun: values['dry-run'] === true,
    }),
    run: async (deps, input: { depositId: string; dryRun: boolean }) => {
      const result = await enqueueDeposit(deps, input);
      return { json: result, text: formatFields(result, ['depositId', 'outcome', 'previousState', 'state']) };
    },
  },
  'audit list': {
    usage: 'audit list [--since T] [--limit N]',
    options: { since: { type: 'string' }, limit: { type: 'string' } },
    parse: (values, positionals, now) => {
      none('audit list')(values, positionals);
      const limit = str(values, 'limit');
      return {
        since: time(values, 'since', now),
        limit: limit === undefined ? 50 : parseCount(limit, '--limit'),
      };
    },
    run: async (deps, input: Parameters<typeof listAudit>[1]) => {
      const entries = await listAudit(deps, input);
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
    },
  },
};

const GLOBAL_OPTIONS: Options = {
  json: { type: 'boolean' },
  operator: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
};

/**
 * The operator CLI, callable in-process: parses argv, runs one command against the service's Redis,
 * writes its answer, and resolves to the exit code. Never throws and never prints a stack trace.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const args = [...argv];
  const lead: string[] = [];
  // Global flags may come first (`--json deposits list`); the command words come next.
  while (args[0] === '--json' || args[0] === '--help' || args[0] === '-h') lead.push(args.shift()!);
  const [group, action] = args;
  if (
    group === undefined ||
    group === 'help' ||
    (lead.includes('--help') && !COMMANDS[`${group} ${action}`])
  ) {
    io.stdout.write(usageText());
    return group === undefined && !lead.includes('--help') ? 2 : 0;
  }
  const name = `${group} ${action ?? ''}`.trim();
  const command = COMMANDS[name];
  if (!command) return fail(io, usageError(`unknown command "${name}" (run with --help for the list)`));

  let values: Values;
  let input: unknown;
  const now = Date.now();
  try {
    const parsed = parseArgs({
      args: [...lead, ...args.slice(2)],
      options: { ...GLOBAL_OPTIONS, ...command.options },
      allowPositionals: true,
      strict: true,
    });
    values = parsed.values as Values;
    if (values.help === true) {
      io.stdout.write(`usage: interlace-sweep-ops ${command.usage} [--json] [--operator NAME]\n`);
      return 0;
    }
    input = command.parse(values, parsed.positionals, now);
  } catch (error) {
    // parseArgs appends a hint about '--' that only confuses here.
    const message = (error as Error).message.replace(/\. To specify a positional.*$/s, '');
    return fail(io, error instanceof OpsError ? error : usageError(`${name}: ${message}`));
  }

  let config;
  try {
    config = loadConfig(io.env, { role: 'ops' });
  } catch (error) {
    if (error instanceof ConfigError)
      return fail(io, new OpsError(`invalid configuration: ${error.problems.join('; ')}`));
    return fail(io, error);
  }
  const operator = str(values, 'operator') ?? currentUser(io.env);
  let context;
  try {
    context = await openOps(config, { operator, stderr: io.stderr });
  } catch (error) {
    return fail(io, error);
  }
  try {
    const output = await command.run(context, input as never);
    io.stdout.write(`${values.json === true ? JSON.stringify(output.json, null, 2) : output.text}\n`);
    return output.exitCode ?? 0;
  } catch (error) {
    return fail(io, error);
  } finally {
    await context.close();
  }
}

function fail(io: CliIo, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`interlace-sweep-ops: ${message.split('\n').join(' ')}\n`);
  return error instanceof OpsError ? error.exitCode : 1;
}

function currentUser(env: Record<string, string | undefined>): string {
  try {
    return userInfo().username;
  } catch {
    // Containers running as an unnamed uid have no passwd entry.
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}

export function usageText(): string {
  const lines = Object.values(COMMANDS).map((command) => `  ${command.usage}`);
  return [
    'usage: interlace-sweep-ops <command> [--json] [--operator NAME]',
    '',
    'commands:',
    ...lines,
    '',
    'T: ISO date, ms since epoch, or a duration ago (30m, 24h, 7d). Connection: REDIS_URL, QUEUE_PREFIX.',
    '',
  ].join('\n');
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function depositTable(deposits: DepositRecord[]): string {
  return formatTable(
    ['depositId', 'state', 'currency', 'amount', 'wallet', 'firstSeen', 'detail'],
    deposits.map((d) => [
      d.depositId,
      d.state,
      d.currency,
      d.amount,
      d.walletId,
      isoTime(d.firstSeenAt),
      d.state === 'swept'
        ? `transfer ${d.transferId ?? d.sweptBy ?? ''} net ${d.netAmount ?? ''}`
        : (d.reason ?? ''),
    ]),
  );
}

const DEPOSIT_ORDER = [
  'depositId',
  'state',
  'upstreamStatus',
  'currency',
  'amount',
  'accountId',
  'walletId',
  'chain',
  'txHash',
  'address',
  'clientTransactionId',
  'transferId',
  'transferStatus',
  'feeTotal',
  'feeCurrency',
  'netAmount',
  'netCurrency',
  'reason',
  'conflict',
];

function depositText(details: Awaited<ReturnType<typeof showDeposit>>[number]): string {
  const record: Record<string, unknown> = { ...details.deposit };
  for (const key of Object.keys(record)) if (key.endsWith('At')) record[key] = isoTime(String(record[key]));
  record.clientTransactionId ??= sweepTransactionId(details.deposit.depositId);
  const job = details.sweepJob;
  return [
    formatFields(record, DEPOSIT_ORDER),
    `notifications  ${details.notificationIds.join(', ') || '(none)'}`,
    `sweep job      ${job ? `${job.id} ${job.state} (attempts ${job.attemptsMade})${job.failedReason ? `: ${job.failedReason}` : ''}` : '(none)'}`,
    `dead letter    ${details.deadLetter ? `${details.deadLetter.id}: ${details.deadLetter.reason}` : '(none)'}`,
    `attempts       ${details.attempts.length === 0 ? '(none)' : ''}`,
    ...details.attempts.map((a) => `  #${a.attempt} ${a.at} ${a.category}/${a.reason}: ${a.message}`),
  ].join('\n');
}

function letterTable(letters: DeadLetter[]): string {
  return formatTable(
    ['id', 'kind', 'depositId', 'deadAt', 'reason'],
    letters.map((l) => [l.id, l.kind, l.depositId ?? '', l.deadAt, truncate(l.reason, 100)]),
  );
}

function letterText(letter: DeadLetter): string {
  const { attempts, deposit, notification, ...rest } = letter;
  return [
    formatFields(rest, ['id', 'kind', 'depositId', 'reason', 'lastError', 'deadAt']),
    ...(deposit
      ? [`deposit        ${deposit.currency ?? ''} ${deposit.amount ?? ''} state ${deposit.state ?? ''}`]
      : []),
    ...(notification
      ? [`notification   ${notification.id ?? ''} ${notification.eventType ?? ''}`, notification.body]
      : []),
    `attempts       ${attempts.length === 0 ? '(none)' : ''}`,
    ...attempts.map((a) => `  #${a.attempt} ${a.at} ${a.category}/${a.reason}: ${a.message}`),
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

function statusOutput(status: SweepStatus): Output {
  const counts = Object.entries(status.sweep)
    .map(([state, count]) => `${state}=${count}`)
    .join(' ');
  return {
    json: status,
    text: `sweep queue ${status.paused ? 'PAUSED' : 'running'}\njobs         ${counts}\ndead letters ${status.deadLetters}`,
  };
}
