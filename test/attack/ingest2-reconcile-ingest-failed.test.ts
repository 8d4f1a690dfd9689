import { afterEach, expect, it, vi } from 'vitest';
import { runReconcile } from '../../src/reconcile/run-reconcile.js';
import { ingestBacklog } from '../../src/webhooks/ingest-log.js';
import { cli } from '../ops/cli-harness.js';
import { freshWallet, reconcileDeps } from '../reconcile/helpers.js';
import { startStack, type Stack } from '../helpers/stack.js';

// Attack round 2 (ingest stream): `ops reconcile sweep` refuses while the ingest backlog is not empty,
// because "a notification received and not stored yet explains money the ledger does not know of yet:
// sweeping it now, then again when its deposit is stored, would move it twice". An entry the consumer
// gave up on (INGEST_MAX_FAILURES answers from Redis, here a WRONGTYPE on its ledger key) is
// acknowledged in the group and dead-lettered as `ingest-failed`: it is no longer in the backlog, and it
// is still a notification received (answered 200 to Interlace) and not stored. The command counts it as
// nothing, the report lists its money as unexplained, the operator sweeps it; when the letter is then
// replayed (what the `ingest-failed` alert asks for), the deposit is swept again, with whatever else the
// wallet holds: a later deposit's money, which then fails for want of balance.

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

it('an ingest-failed letter (acknowledged, not stored) still stops a reconcile sweep of its money', async () => {
  const s = await startStack('attack2-reconcile-ingest-failed', {
    env: { RECONCILE_ENABLED: 'false', INGEST_MAX_FAILURES: '2', SWEEP_ATTEMPTS: '2' },
  });
  stack = s;
  s.sim.afterDelivery = undefined;
  const reconcile = reconcileDeps(s);
  const ops = (...argv: string[]) => cli({ ...s.env }, '--operator', 'mallory', '--json', ...argv);
  try {
    const wallet = freshWallet(s, reconcile.accountIds);
    const d = wallet.credit('100');

    // D's ledger key is unusable (WRONGTYPE): its accept script fails, answered by Redis, every time.
    await s.redis.set(s.keys.deposit(d), 'corrupt');
    const answer = await wallet.notify(d);
    expect(answer.status).toBe(200);
    const letter = await vi.waitFor(
      async () => {
        const letters = await s.deadQueue.getJobs(['waiting', 'completed', 'failed', 'delayed', 'paused']);
        const found = letters.find((job) => job.data.kind === 'ingest-failed');
        if (!found) throw new Error('no ingest-failed letter yet');
        return found;
      },
      { timeout: 15_000, interval: 50 },
    );
    // The operator repairs the key (the letter is still to be replayed).
    await s.redis.del(s.keys.deposit(d));
    expect((await ingestBacklog(s.redis, s.keys.events))?.backlog).toBe(0);

    // Reconciliation lists D's money as unexplained: its notification is in a dead letter, not the ledger.
    const report = await runReconcile(reconcile.deps);
    expect(report.discrepancies.filter((x) => x.walletId === wallet.walletId)).toEqual([
      expect.objectContaining({ unexplained: '100' }),
    ]);

    const sweep = await ops('reconcile', 'sweep', wallet.walletId, 'USDC', '100');
    if (sweep.code === 0) {
      const operatorDeposit = sweep.json<{ depositId: string }>().depositId;
      await s.settled(operatorDeposit);
    }

    // Another deposit, E, lands in the wallet; its notification comes a moment later.
    const e = wallet.credit('100');
    // The operator follows the ingest-failed alert: replays D's letter.
    const replay = await ops('dlq', 'replay', String(letter.id));
    expect(replay.code).toBe(0);
    await vi.waitFor(async () => expect((await s.record(d)).state).toMatch(/swept|dead|held/), {
      timeout: 15_000,
      interval: 50,
    });
    await wallet.notify(e);
    await vi.waitFor(async () => expect((await s.record(e)).state).toMatch(/swept|dead|held/), {
      timeout: 20_000,
      interval: 50,
    });

    // 200 came in (D, E), 200 may leave, each deposit once: D's 100 must not leave twice (once as
    // "unexplained", once as D) and E's sweep must find E's money.
    const moved = wallet.transfers();
    expect(await s.record(d)).toMatchObject({ state: 'swept' });
    expect(await s.record(e), 'E: its money went out as D').toMatchObject({ state: 'swept' });
    expect(moved).toHaveLength(2);
    expect(sweep.code, `reconcile sweep was not refused: ${sweep.out}`).toBe(1);
  } finally {
    await reconcile.close();
  }
}, 60_000);
