import { describe, expect, it } from 'vitest';
import { runChaos } from '../../scripts/chaos/run.js';

// A short run of the chaos soak (`npm run chaos`): the same stack (own Redis with AOF, receiver and
// workers as child processes, the simulator in-process) with fewer deposits and kills.
describe('chaos soak (short run)', () => {
  it('loses nothing and moves nothing twice through faults, kills and restarts', async () => {
    // A short lock and stalled check keep this run short; `npm run chaos` uses the service defaults.
    const report = await runChaos({
      deposits: 150,
      seed: 7,
      maxSeconds: 60,
      workers: 2,
      kills: 2,
      lockMs: 2_000,
      stalledIntervalMs: 1_000,
    });

    expect(report.violations).toEqual([]);
    expect(report.ok).toBe(true);
    expect(report.figures).toMatchObject({ lost: 0, doubled: 0, undelivered: 0 });
    expect(report.figures.transfers).toBe(report.figures.sweepable);
    // Calls, not only committed transfers: at least one per swept deposit, retries on top.
    expect(report.figures.transferCalls).toBeGreaterThanOrEqual(report.figures.sweepable);
    expect(report.figures.deadLetters).toBe(report.figures.designedToFail);
    expect(report.line).toMatch(/^deposits=150 transfers=\d+ .* lost=0 doubled=0$/);
    // Payouts through the same faults and kills: every step committed once, none lost.
    expect(report.figures.payouts).toBeGreaterThanOrEqual(3);
    expect(report.line).toMatch(
      /fund\(lost=0 doubled=0\) convert\(lost=0 doubled=0\) send\(lost=0 doubled=0\)/,
    );
    for (const step of ['fund', 'convert', 'send'] as const)
      expect(report.figures.payoutSteps[step].committed).toBeGreaterThan(0);

    // The merchant's signed events, relayed and delivered by the workers being killed, through a
    // backend that refuses some: every one arrived (verified), none under two ids.
    expect(report.figures.merchantEvents).toMatchObject({ lost: 0, doubled: 0 });
    expect(report.figures.merchantEvents.delivered).toBeGreaterThanOrEqual(report.figures.deposits);
    expect(report.figures.merchantEvents.refused).toBeGreaterThan(0);
    expect(report.line).toMatch(/merchant_events\(delivered=\d+ lost=0 doubled=0\)/);

    // A soak that injected nothing proves nothing.
    expect(report.figures.faults).toBeGreaterThan(0);
    expect(report.figures.kills).toBeGreaterThanOrEqual(1);
    expect(report.figures.redisRestarts).toBe(1);
    expect(report.figures.receiverRestarts).toBe(1);
    expect(report.figures.deliveryRetries).toBeGreaterThan(0);
    expect(report.figures.duplicateNotifications).toBeGreaterThan(0);
  }, 90_000);
});
