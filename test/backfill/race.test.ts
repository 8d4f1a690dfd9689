import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { runBackfill } from '../../src/backfill/run-backfill.js';
import { backfillDeps, freshWallet } from './helpers.js';

let stack: Stack;
let backfill: ReturnType<typeof backfillDeps>;

beforeAll(async () => {
  stack = await startStack('backfill-race', {
    env: { BACKFILL_ENABLED: 'false', SWEEP_INSUFFICIENT_BALANCE_RETRIES: '2', INTERLACE_TIMEOUT_MS: '800' },
  });
  backfill = backfillDeps(stack, () => {});
});
afterAll(async () => {
  await backfill?.close();
  await stack?.close();
});

describe('a webhook that arrives while a backfill sweep of its money is in flight', () => {
  it('is never recorded as swept by the backfill: one transfer, and the deposit dead-lettered for an operator', async () => {
    const wallet = freshWallet(stack, backfill.accountIds);
    const depositId = wallet.credit('30');
    // The backfill's transfer commits, but its answer is held past the client timeout: in flight.
    stack.sim.faults.enqueue('transfer', { kind: 'timeout-after-commit', delayMs: 1_500 }, 1);
    const held = stack.sim.waitFor('held', () => true, 20_000);
    const result = await runBackfill(backfill.deps, { mode: 'sweep' });
    const backfillId = result.findings.find((f) => f.walletId === wallet.walletId)?.depositId;
    expect(backfillId).toMatch(/^backfill-/);
    await held;

    // The deposit's own webhook: its sweep finds the wallet empty until the backfill is recorded.
    expect((await stack.notify(depositId)).status).toBe(200);

    expect(await stack.settled(backfillId!)).toMatchObject({ status: 'completed' });
    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
    expect(await stack.record(depositId)).toMatchObject({ state: 'dead' });
    expect(wallet.transfers()).toHaveLength(1);
    expect(await stack.deadQueue.getJob(`deposit-${depositId}`)).toBeDefined();
  });
});
