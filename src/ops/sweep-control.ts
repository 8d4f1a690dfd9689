import type { OpsDeps } from './ops-context.js';
import { appendAudit } from './audit-log.js';

export type SweepStatus = { paused: boolean; sweep: Record<string, number>; deadLetters: number };

/** Stops every worker from starting new sweeps (in-flight ones finish); survives worker restarts. */
export async function pauseSweeps(deps: OpsDeps): Promise<SweepStatus> {
  await deps.queues.sweep.pause();
  await appendAudit(deps, { command: 'sweep pause', targets: ['sweep'], result: 'paused' });
  return sweepStatus(deps);
}

export async function resumeSweeps(deps: OpsDeps): Promise<SweepStatus> {
  await deps.queues.sweep.resume();
  await appendAudit(deps, { command: 'sweep resume', targets: ['sweep'], result: 'resumed' });
  return sweepStatus(deps);
}

export async function sweepStatus(deps: Pick<OpsDeps, 'queues'>): Promise<SweepStatus> {
  const [paused, sweep, dead] = await Promise.all([
    deps.queues.sweep.isPaused(),
    deps.queues.sweep.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'paused',
      'completed',
      'failed',
    ),
    deps.queues.dead.getJobCounts('waiting', 'paused', 'prioritized', 'delayed'),
  ]);
  return { paused, sweep, deadLetters: Object.values(dead).reduce((sum, count) => sum + count, 0) };
}
