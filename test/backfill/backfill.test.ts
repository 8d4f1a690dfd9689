import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { runBackfill, type BackfillFinding } from '../../src/backfill/run-backfill.js';
import { createBackfillKeys } from '../../src/backfill/keys.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';
import { backfillDeps, freshWallet } from './helpers.js';

let stack: Stack;
let backfill: ReturnType<typeof backfillDeps>;
const hooked: BackfillFinding[] = [];

beforeAll(async () => {
  // The scheduler is off here: these tests run backfill by hand, and nothing else may run it meanwhile.
  stack = await startStack('backfill', { env: { BACKFILL_ENABLED: 'false', SWEEP_MIN_AMOUNT: '1' } });
  backfill = backfillDeps(stack, (finding) => hooked.push(finding));
});
afterAll(async () => {
  await backfill?.close();
  await stack?.close();
});

const of = (findings: BackfillFinding[], walletId: string) => findings.filter((f) => f.walletId === walletId);

async function deadLettersOf(depositId: string) {
  const jobs = await stack.deadQueue.getJobs(['waiting', 'delayed', 'failed', 'completed', 'paused']);
  return jobs.filter((job) => job.data.depositId === depositId);
}

describe('backfill in sweep mode', () => {
  const w = { wallet: undefined as ReturnType<typeof freshWallet> | undefined, missed: '', backfillId: '' };

  it('finds a deposit whose webhook never came and sweeps it once, for the exact amount', async () => {
    const wallet = freshWallet(stack, backfill.accountIds);
    w.wallet = wallet;
    w.missed = wallet.credit('12.345678');

    const result = await runBackfill(backfill.deps, { mode: 'sweep' });

    const [finding, ...others] = of(result.findings, wallet.walletId);
    expect(others).toHaveLength(0);
    const backfillId = `backfill-${wallet.walletId}-USDC-1`;
    w.backfillId = backfillId;
    expect(finding).toMatchObject({
      accountId: wallet.accountId,
      currency: 'USDC',
      available: '12.345678',
      accounted: '0',
      unaccounted: '12.345678',
      mode: 'sweep',
      action: 'queued',
      depositId: backfillId,
    });
    expect(of(hooked, wallet.walletId)).toHaveLength(1);
    expect(await stack.settled(backfillId)).toMatchObject({ status: 'completed' });

    const [transfer, ...more] = wallet.transfers();
    expect(more).toHaveLength(0);
    expect(transfer?.clientTransactionId).toBe(sweepTransactionId(backfillId));
    expect(transfer?.request).toMatchObject({ amount: '12.345678', from: { currency: 'USDC' } });
    expect(await stack.record(backfillId)).toMatchObject({
      state: 'swept',
      origin: 'backfill',
      amount: '12.345678',
      transferId: transfer!.id,
      clientTransactionId: sweepTransactionId(backfillId),
    });
    // A second run finds nothing more: the wallet is empty.
    const again = await runBackfill(backfill.deps, { mode: 'sweep' });
    expect(of(again.findings, wallet.walletId)).toHaveLength(0);
    expect(wallet.transfers()).toHaveLength(1);
  });

  it('never records the late webhook of that deposit as swept: its own sweep finds no funds and is dead-lettered', async () => {
    const wallet = w.wallet!;
    expect(await wallet.notify(w.missed)).toMatchObject({ status: 200 });

    expect(await stack.settled(w.missed)).toMatchObject({ status: 'failed' });
    expect(await stack.record(w.missed)).toMatchObject({
      state: 'dead',
      reason: expect.stringMatching(/^insufficient-balance/),
    });
    // The backfill's transfer is the only one; the deposit's own calls were refused for want of funds.
    expect(wallet.transfers()).toHaveLength(1);
    expect(await deadLettersOf(w.missed)).toHaveLength(1);
    expect(await deadLettersOf(w.backfillId)).toHaveLength(0);
  });

  it('never marks a later, unrelated deposit swept without the transfer that moved it', async () => {
    const wallet = freshWallet(stack, backfill.accountIds);
    wallet.credit('12');
    const result = await runBackfill(backfill.deps, { mode: 'sweep' });
    const backfillId = of(result.findings, wallet.walletId)[0]!.depositId!;
    expect(await stack.settled(backfillId)).toMatchObject({ status: 'completed' });

    const later = wallet.credit('5');
    await wallet.notify(later);

    expect(await stack.settled(later)).toMatchObject({ status: 'completed' });
    expect(await stack.record(later)).toMatchObject({ state: 'swept' });
    const [own, ...more] = stack.transfersFor(later);
    expect(more).toHaveLength(0);
    expect((await stack.record(later)).transferId).toBe(own!.id);
    expect(stack.sim.wallet(wallet.walletId)!.balances.find((b) => b.currency === 'USDC')!.available).toBe(
      '0',
    );
  });
});

describe('backfill in report mode', () => {
  it('returns and records the finding but moves nothing and writes no ledger record', async () => {
    const wallet = freshWallet(stack, backfill.accountIds);
    wallet.credit('5', 'USDT');

    const result = await runBackfill(backfill.deps, { mode: 'report' });

    expect(of(result.findings, wallet.walletId)).toEqual([
      expect.objectContaining({ currency: 'USDT', unaccounted: '5', mode: 'report', action: 'reported' }),
    ]);
    expect(of(result.findings, wallet.walletId)[0]).not.toHaveProperty('depositId');
    expect(wallet.transfers()).toHaveLength(0);
    expect(await stack.redis.zcard(stack.keys.depositsByWallet(wallet.walletId))).toBe(0);
    expect(await stack.redis.exists(stack.keys.deposit(`backfill-${wallet.walletId}-USDT-1`))).toBe(0);
    expect(await stack.redis.get(createBackfillKeys(stack.prefix).seq(wallet.walletId, 'USDT'))).toBeNull();
    const stream = await stack.redis.xrange(createBackfillKeys(stack.prefix).findings, '-', '+');
    expect(stream.some(([, fields]) => fields.includes(wallet.walletId))).toBe(true);
    expect(
      stack.logLines.some((line) => line.includes('backfill finding') && line.includes(wallet.walletId)),
    ).toBe(true);
  });
});

describe('what backfill leaves alone', () => {
  it('does not find deposits the ledger knows (swept, dust, held) nor unnotified dust', async () => {
    const wallet = freshWallet(stack, backfill.accountIds);
    // Received normally and swept.
    const normal = wallet.credit('20');
    await wallet.notify(normal);
    expect(await stack.settled(normal)).toMatchObject({ status: 'completed' });
    // Received, but dust: stays in the wallet, accounted.
    const dust = wallet.credit('0.5');
    await wallet.notify(dust);
    expect((await stack.record(dust)).state).toBe('dust');
    // Credited by Interlace but held by compliance: its funds are in the balance and must stay there.
    const held = wallet.credit('7');
    await wallet.notify(held, 'ON_HOLD');
    expect((await stack.record(held)).state).toBe('held');
    // Never notified, and below SWEEP_MIN_AMOUNT: not a finding.
    wallet.credit('0.75');

    const result = await runBackfill(backfill.deps, { mode: 'sweep' });

    expect(of(result.findings, wallet.walletId)).toEqual([]);
    expect(wallet.transfers().map((t) => t.clientTransactionId)).toEqual([sweepTransactionId(normal)]);
    expect(await stack.redis.exists(stack.keys.deposit(`backfill-${wallet.walletId}-USDC-1`))).toBe(0);
  });

  it('does not find a deposit whose webhook arrived and is still queued', async () => {
    const wallet = freshWallet(stack, backfill.accountIds);
    const queued = wallet.credit('9');
    await stack.workers!.worker.pause();
    try {
      await wallet.notify(queued);
      expect((await stack.record(queued)).state).toBe('queued');
      const result = await runBackfill(backfill.deps, { mode: 'sweep' });
      expect(of(result.findings, wallet.walletId)).toEqual([]);
    } finally {
      stack.workers!.worker.resume();
    }
    expect(await stack.settled(queued)).toMatchObject({ status: 'completed' });
    expect(wallet.transfers()).toHaveLength(1);
  });
});
