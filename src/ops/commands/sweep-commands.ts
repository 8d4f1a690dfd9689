import { Command } from 'commander';
import type { CliRuntime, Output } from '../cli-runtime.js';
import { formatFields } from '../format-table.js';
import { resolveDepositRef } from '../resolve-ref.js';
import { pauseSweeps, resumeSweeps, sweepStatus, type SweepStatus } from '../sweep-control.js';
import { enqueueDeposit } from '../sweep-enqueue.js';

/** `sweep pause|resume|status|enqueue`: the sweep queue, for every worker at once. */
export function sweepCommands(cli: CliRuntime): Command {
  const group = new Command('sweep').description('the sweep queue: pause, resume, status, send one deposit');

  group
    .command('pause')
    .description('stops every worker from starting new sweeps (in-flight ones finish)')
    .action((_options: unknown, command: Command) =>
      cli.run(command, async (deps) => statusOutput(await pauseSweeps(deps))),
    );
  group
    .command('resume')
    .description('lets the workers sweep again')
    .action((_options: unknown, command: Command) =>
      cli.run(command, async (deps) => statusOutput(await resumeSweeps(deps))),
    );
  group
    .command('status')
    .description('paused or running, job counts, dead letters')
    .action((_options: unknown, command: Command) =>
      cli.run(command, async (deps) => statusOutput(await sweepStatus(deps))),
    );
  group
    .command('enqueue')
    .description('sends one deposit kept out of the sweep (dead, held, dust…) to it, on your decision')
    .argument('<depositId>', 'deposit id, or a unique prefix of one')
    .option('--dry-run', 'say what would happen (same refusals); change nothing')
    .action((ref: string, options: { dryRun?: boolean }, command: Command) =>
      cli.run(command, async (deps) => {
        const depositId = await resolveDepositRef(deps, ref);
        const result = await enqueueDeposit(deps, { depositId, dryRun: options.dryRun === true });
        return {
          json: result,
          text: formatFields(result, ['depositId', 'outcome', 'previousState', 'state']),
        };
      }),
    );
  return group;
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
