import type { Command } from 'commander';
import type { OpsDeps } from './ops-context.js';

export type Writer = { write(text: string): unknown; isTTY?: boolean };
export type CliIo = {
  env: Record<string, string | undefined>;
  stdout: Writer;
  stderr: Writer;
  /** Where a command reads piped input (a key to hash); process.stdin when absent. */
  stdin?: AsyncIterable<Buffer | string>;
};

/** What a command answers: the `--json` document, the text for a human, and exit 1 when it failed. */
export type Output = { json: unknown; text: string; exitCode?: 0 | 1 };

/** Reports how far a long command got; `total` when it is known up front. */
export type Progress = (done: number, total?: number) => void;

/**
 * What a command group needs from the CLI: the time the command line was read (relative times such as
 * `24h` count from it) and `run`, which connects, runs the action and prints its answer.
 */
export type CliRuntime = {
  now: number;
  run(
    command: Command,
    action: (deps: OpsDeps, tools: { progress: Progress }) => Promise<Output>,
  ): Promise<void>;
  /** Like `run`, for a command that needs neither Redis nor the configuration (e.g. making an API key). */
  runOffline(command: Command, action: () => Promise<Output>): Promise<void>;
  /** Everything piped to the CLI's stdin. */
  readStdin(): Promise<string>;
};

/** The options every command accepts (declared once, on the program). */
export type GlobalOptions = { json?: boolean; operator?: string };

/** Cuts a long text for a table cell, marking the cut. */
export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
