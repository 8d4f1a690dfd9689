import { afterEach, expect, it, vi } from 'vitest';
import { Job } from 'bullmq';
import { sweepJobId } from '../../src/queues/names.js';
import { runReconcile } from '../../src/reconcile/run-reconcile.js';
import { startApi, type Api } from '../../src/server.js';
import { ingestBacklog } from '../../src/webhooks/ingest-log.js';
import { cli } from '../ops/cli-harness.js';
import { freshWallet, reconcileDeps } from '../reconcile/helpers.js';
import { startStack, type Stack } from '../helpers/stack.js';

// Attack round 2 (ingest stream): `ops reconcile sweep` refuses while the ingest backlog is not empty,
// but only when the command runs. The sweep worker's last check before the transfer
// (recheckOperatorSweep: ledger, reservations, live balance) does not look at the backlog. A deposit's
// notification acknowledged after the command (here: the sweep workers are busy or paused, and the
// ingest consumer is behind) is in Redis, answered 200, and not in the ledger when the worker re-checks:
// the operator sweep moves the deposit's money as "unexplained", then the consumer stores the deposit
// and its own sweep moves the same amount again, out of whatever else the wallet holds (a later
// deposit's money, which then goes dead for want of balance).

let stack: Stack | undefined;
let second: Api | undefined;
afterEach(async () => {
  await second?.close();
  second = undefined;
  await stack?.close();
  stack = undefined;
});

it("the operator sweep's last check waits while a notification for the wallet is acknowledged and not stored", async () => {
  const s = await startStack('attack2-operator-recheck-backlog', {
    workers: false,
    env: { RECONCILE_ENABLED: 'false', SWEEP_ATTEMPTS: '2' },
  });
  stack = s;
  s.sim.afterDelivery = undefined;
  const reconcile = reconcileDeps(s);
  const ops = (...argv: string[]) => cli({ ...s.env }, '--operator', 'mallory', '--json', ...argv);
  try {
    const wallet = freshWallet(s, reconcile.accountIds);
    // D is credited at Interlace; its notification has not come yet: reconciliation reports its money.
    const d = wallet.credit('100');
    const report = await runReconcile(reconcile.deps);
    expect(report.discrepancies.filter((x) => x.walletId === wallet.walletId)).toEqual([
      expect.objectContaining({ unexplained: '100' }),
    ]);
    // The backlog is empty: the command queues the operator sweep (the workers are not taking jobs yet).
    const sweep = await ops('reconcile', 'sweep', wallet.walletId, 'USDC', '100');
    expect(sweep.code).toBe(0);
    const operatorDeposit = sweep.json<{ depositId: string }>().depositId;

    // The ingest consumer falls behind (here: stopped); D's notification is acknowledged meanwhile.
    await s.api.ingest.close();
    expect((await wallet.notify(d)).status).toBe(200);
    expect((await ingestBacklog(s.redis, s.keys.events))?.backlog).toBe(1);

    // The workers take the operator sweep: its re-check reads a ledger that does not have D yet.
    await s.restartWorkers();
    await vi.waitFor(
      async () => {
        // Taken at least once (a fix may defer it while the backlog is not empty, or hold it).
        const job = await Job.fromId(s.sweepQueue, sweepJobId(operatorDeposit));
        const state = (await s.record(operatorDeposit)).state;
        expect(job?.processedOn !== undefined || state !== 'queued').toBe(true);
      },
      { timeout: 15_000, interval: 50 },
    );

    // Another deposit, E, lands; the consumer catches up (another receiver) and stores D, then E.
    const e = wallet.credit('100');
    second = await startApi(s.config, s.logger);
    await second.ingest.caughtUp();
    await vi.waitFor(async () => expect((await s.record(d)).state).toMatch(/swept|dead|held/), {
      timeout: 15_000,
      interval: 50,
    });
    await wallet.notify(e);
    await second.ingest.caughtUp();
    await vi.waitFor(async () => expect((await s.record(e)).state).toMatch(/swept|dead|held/), {
      timeout: 20_000,
      interval: 50,
    });

    // 200 came in (D, E); D's 100 may leave once, E's once.
    expect(await s.record(d)).toMatchObject({ state: 'swept' });
    expect(await s.record(e), "E: its money went out as D's").toMatchObject({ state: 'swept' });
    await vi.waitFor(async () => expect((await s.record(operatorDeposit)).state).toMatch(/swept|held|dead/), {
      timeout: 20_000,
      interval: 50,
    });
    expect((await s.record(operatorDeposit)).state).not.toBe('swept');
    expect(wallet.transfers()).toHaveLength(2);
  } finally {
    await reconcile.close();
  }
}, 60_000);
