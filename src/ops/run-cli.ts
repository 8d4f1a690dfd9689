import { userInfo } from 'node:os';
import { Command, CommanderError } from 'commander';
import { packageVersion } from '../build-info.js';
import { ConfigError, loadConfig } from '../config.js';
import { auditCommands } from './commands/audit-commands.js';
import { depositCommands } from './commands/deposit-commands.js';
import { dlqCommands } from './commands/dlq-commands.js';
import { eventCommands } from './commands/event-commands.js';
import { sweepCommands } from './commands/sweep-commands.js';
import { payoutCommands } from './commands/payout-commands.js';
import { apiKeyCommands } from './commands/api-key-commands.js';
import { walletCommands } from './commands/wallet-commands.js';
import { reconcileCommands } from './commands/reconcile-commands.js';
import type { CliIo, CliRuntime, GlobalOptions, Output, Progress } from './cli-runtime.js';
import { openOps, type OpsDeps } from './ops-context.js';
import { OpsError } from './ops-error.js';

export type { CliIo, Writer } from './cli-runtime.js';

const NAME = 'interlace-sweep-ops';

/** Command groups, one file each under ./commands; a new group is one more entry here. */
const GROUPS = [
  depositCommands,
  dlqCommands,
  eventCommands,
  sweepCommands,
  reconcileCommands,
  payoutCommands,
  walletCommands,
  apiKeyCommands,
  auditCommands,
];

const HELP_FOOTER = `
T is an ISO date, ms since the epoch, or a duration ago (30m, 24h, 7d).
Connects with REDIS_URL and QUEUE_PREFIX and applies the policy the service published there; needs no Interlace credentials.
Exit codes: 0 ok, 1 failed (refused, not found, Redis or configuration), 2 bad command line.`;

/**
 * The operator CLI, callable in-process: parses argv, runs one command against the service's Redis,
 * writes its answer, and resolves to the exit code. Never throws and never prints a stack trace.
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let exitCode = 0;
  const runtime: CliRuntime = {
    now: Date.now(),
    async run(command, action) {
      exitCode = await execute(io, command.optsWithGlobals<GlobalOptions>(), action);
    },
    async readStdin() {
      let text = '';
      for await (const chunk of io.stdin ?? process.stdin) text += chunk.toString();
      return text;
    },
    async runOffline(command, action) {
      const options = command.optsWithGlobals<GlobalOptions>();
      try {
        const output = await action();
        io.stdout.write(`${options.json === true ? JSON.stringify(output.json, null, 2) : output.text}\n`);
        exitCode = output.exitCode ?? 0;
      } catch (error) {
        exitCode = fail(io, error);
      }
    },
  };
  const program = createProgram(runtime, io);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) return commanderExit(error);
    return fail(io, error);
  }
}

function createProgram(runtime: CliRuntime, io: CliIo): Command {
  const program = new Command(NAME)
    .description(
      'inspect and repair interlace-sweep: deposits, dead letters, replays, the sweep queue, reconciliation, payouts, wallets and API keys',
    )
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--json', 'machine-readable output')
    .option('--operator <name>', 'who is named in the audit trail (default: the OS user)')
    .addHelpText('after', HELP_FOOTER);
  for (const group of GROUPS) program.addCommand(group(runtime));
  // addCommand does not pass settings down, so every command gets them here.
  for (const command of [program, ...descendants(program)]) {
    command
      .exitOverride()
      .showSuggestionAfterError()
      .configureHelp({ showGlobalOptions: true, sortSubcommands: false })
      .configureOutput({
        writeOut: (text) => io.stdout.write(text),
        writeErr: (text) => io.stderr.write(text),
        // Commander's own errors (unknown command or option, missing argument) as one line.
        outputError: (text, write) => write(`${NAME}: ${oneLine(text.replace(/^error: /, ''))}`),
      });
  }
  return program;
}

function descendants(command: Command): Command[] {
  return command.commands.flatMap((child) => [child, ...descendants(child)]);
}

/** Help and --version are answers (0); a group without its command shows its help as a usage error (2). */
function commanderExit(error: CommanderError): number {
  if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
  return 2;
}

async function execute(
  io: CliIo,
  options: GlobalOptions,
  action: (deps: OpsDeps, tools: { progress: Progress }) => Promise<Output>,
): Promise<number> {
  let config;
  try {
    config = loadConfig(io.env, { role: 'ops' });
  } catch (error) {
    if (error instanceof ConfigError)
      return fail(io, new OpsError(`invalid configuration: ${error.problems.join('; ')}`));
    return fail(io, error);
  }
  let context;
  try {
    context = await openOps(config, { operator: options.operator ?? currentUser(io.env), stderr: io.stderr });
  } catch (error) {
    return fail(io, error);
  }
  const progress = progressLine(io);
  try {
    const output = await action(context, { progress });
    progress.clear();
    io.stdout.write(`${options.json === true ? JSON.stringify(output.json, null, 2) : output.text}\n`);
    return output.exitCode ?? 0;
  } catch (error) {
    progress.clear();
    return fail(io, error);
  } finally {
    await context.close();
  }
}

/**
 * A progress line on stderr, rewritten in place, only when stderr is a terminal: a pipe or a log file
 * gets the answer alone. At most ten updates a second.
 */
function progressLine(io: CliIo): Progress & { clear(): void } {
  const tty = io.stderr.isTTY === true;
  let shown = false;
  let last = 0;
  const progress = (done: number, total?: number) => {
    const now = Date.now();
    if (!tty || (now - last < 100 && done !== total)) return;
    last = now;
    shown = true;
    io.stderr.write(`\r\x1b[K${done}${total === undefined ? '' : `/${total}`} done…`);
  };
  return Object.assign(progress, {
    clear() {
      if (shown) io.stderr.write('\r\x1b[K');
      shown = false;
    },
  });
}

function fail(io: CliIo, error: unknown): number {
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`${NAME}: ${oneLine(message)}`);
  return error instanceof OpsError ? error.exitCode : 1;
}

function oneLine(text: string): string {
  return `${text.trim().split('\n').join(' ')}\n`;
}

function currentUser(env: Record<string, string | undefined>): string {
  try {
    return userInfo().username;
  } catch {
    // Containers running as an unnamed uid have no passwd entry.
    return env.USER ?? env.LOGNAME ?? 'unknown';
  }
}
