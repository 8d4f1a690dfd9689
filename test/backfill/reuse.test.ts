import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { runBackfill } from '../../src/backfill/run-backfill.js';
import { createBackfillKeys } from '../../src/backfill/keys.js';
import { createBackfillLedger, snapshotWallet } from '../../src/backfill/backfill-ledger.js';
import { sweepJobId } from '../../src/queues/names.js';
import { backfillDeps, freshWallet } from './helpers.js';

let stack: Stack;
let backfill: ReturnType<typeof backfillDeps>;

beforeAll(async () => {
  // No sweep worker: backfill sweeps stay queued, as when a run is retried before its sweep finished.
  stack = await startStack('backfill-reuse', { workers: false, env: { BACKFILL_ENABLED: 'false' } });
  backfill = backfillDeps(stack);
});
afterAll(async () => {
  await backfill?.close();
  await stack?.close();
});

describe('a backfill whose sweep is not finished', () => {
  it('is reused by the next run: same id, one job, no second backfill deposit', async () => {
    const wallet = freshWallet(stack, backfill.accountIds);
    wallet.credit('3');
    const keys = createBackfillKeys(stack.prefix);
    const id = `backfill-${wallet.walletId}-USDC-1`;

    const first = await runBackfill(backfill.deps, { mode: 'sweep' });
    expect(first.findings).toEqual([expect.objectContaining({ action: 'queued', depositId: id })]);
    expect(await stack.redis.get(keys.current(wallet.walletId, 'USDC'))).toBe(id);

    // More money arrives unannounced while the first backfill is still queued.
    wallet.credit('4');
    const second = await runBackfill(backfill.deps, { mode: 'sweep' });
    expect(second.findings).toEqual([
      expect.objectContaining({ action: 'in-progress', depositId: id, accounted: '3', unaccounted: '4' }),
    ]);
    expect(await stack.redis.get(keys.seq(wallet.walletId, 'USDC'))).toBe('1');
    expect(await stack.redis.zrange(stack.keys.depositsByWallet(wallet.walletId), 0, -1)).toEqual([id]);
    expect(await stack.sweepQueue.getJob(sweepJobId(id))).toBeDefined();
    expect((await stack.record(id)).amount).toBe('3');
  });

  it('is not created from a ledger read that a webhook made stale', async () => {
    const wallet = freshWallet(stack, backfill.accountIds);
    const ledger = createBackfillLedger(stack.redis, stack.keys, { retentionMs: 60_000 });
    const stale = await snapshotWallet(stack.redis, stack.keys, wallet.walletId);
    const deposit = wallet.credit('6');
    await wallet.notify(deposit);
    expect((await stack.record(deposit)).state).toBe('queued');

    const outcome = await ledger.create({
      accountId: wallet.accountId,
      walletId: wallet.walletId,
      currency: 'USDC',
      amount: '6',
      snapshot: stale,
      fields: {},
      now: Date.now(),
    });

    expect(outcome).toEqual({ kind: 'changed', why: 'index' });
    // Read again, the deposit is accounted for: nothing to find.
    const result = await runBackfill(backfill.deps, { mode: 'sweep' });
    expect(result.findings.filter((f) => f.walletId === wallet.walletId)).toEqual([]);
  });
});
