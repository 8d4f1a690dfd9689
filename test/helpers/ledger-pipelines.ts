import { Redis } from 'ioredis';
import { vi } from 'vitest';

/**
 * Calls `onExec` with the number of ledger commands (those naming a `<prefix>:deposit:` key) in every
 * pipeline this process sends from now on, until `vi.restoreAllMocks()`. The receiver's ledger scripts of
 * one event-loop turn go out as one pipeline (deposit-store's micro-batch), so the counts show how much
 * of an ingest batch ran in one turn. Pipelines without a ledger command (other tests' receivers still
 * closing in this process, BullMQ) are not reported.
 */
export function watchLedgerPipelines(prefix: string, onExec: (ledgerCommands: number) => void): void {
  const original = Redis.prototype.pipeline;
  vi.spyOn(Redis.prototype, 'pipeline').mockImplementation(function (this: Redis, ...args) {
    const pipeline = original.apply(this, args);
    const exec = pipeline.exec.bind(pipeline);
    pipeline.exec = (...execArgs: Parameters<typeof exec>) => {
      const queued = (pipeline as unknown as { _queue: { args: unknown[] }[] })._queue;
      const ledger = queued.filter((command) =>
        command.args.some((arg) => String(arg).startsWith(`${prefix}:deposit:`)),
      ).length;
      if (ledger > 0) onExec(ledger);
      return exec(...execArgs);
    };
    return pipeline;
  });
}
