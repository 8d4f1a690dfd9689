import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { runReconcile, type Discrepancy } from '../../src/reconcile/run-reconcile.js';
import { createReconcileKeys } from '../../src/reconcile/keys.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';
import type { HistoryTransfer } from '../../src/reconcile/transfer-history.js';
import { cli } from '../ops/cli-harness.js';
import { freshWallet, reconcileDeps } from './helpers.js';

let stack: Stack;
let reconcile: ReturnType<typeof reconcileDeps>;
// What the fake transfer-history source lists: a documented source would read Interlace's records.
const history: HistoryTransfer[] = [];

beforeAll(async () => {
  // The scheduler is off here: these tests run reconciliation by hand, and nothing else may run it meanwhile.
  stack = await startStack('reconcile', { env: { RECONCILE_ENABLED: 'false', SWEEP_MIN_AMOUNT: '1' } });
  reconcile = reconcileDeps(stack, {
    history: { incomingTransfers: async ({ walletId }) => history.filter((t) => t.walletId === walletId) },
  });
});
afterAll(async () => {
  await reconcile?.close();
  await stack?.close();
});

const of = (found: Discrepancy[], walletId: string) => found.filter((d) => d.walletId === walletId);
const ops = (...argv: string[]) => cli(stack.env, '--operator', 'tester', ...argv);

describe('reconciliation reports, and never sweeps', () => {
  it('reports money no notification explains (log, stream, stored report, ops reconcile) and moves none of it', async () => {
    const wallet = freshWallet(stack, reconcile.accountIds);
    wallet.credit('12.345678');

    const report = await runReconcile(reconcile.deps);

    expect(of(report.discrepancies, wallet.walletId)).toEqual([
      expect.objectContaining({
        accountId: wallet.accountId,
        currency: 'USDC',
        available: '12.345678',
        explained: '0',
        held: '0',
        reserved: '0',
        unexplained: '12.345678',
        sweepable: '12.345678',
        master: false,
      }),
    ]);
    expect(wallet.transfers()).toHaveLength(0);
    expect(await stack.redis.zcard(stack.keys.depositsByWallet(wallet.walletId))).toBe(0);
    const stream = await stack.redis.xrange(createReconcileKeys(stack.prefix).discrepancies, '-', '+');
    expect(stream.some(([, fields]) => fields.includes(wallet.walletId))).toBe(true);
    expect(
      stack.logLines.some((line) => line.includes('reconciliation:') && line.includes(wallet.walletId)),
    ).toBe(true);
    // The same picture, the same entry id.
    const again = await runReconcile(reconcile.deps);
    expect(of(again.discrepancies, wallet.walletId)[0]!.entryId).toBe(
      of(report.discrepancies, wallet.walletId)[0]!.entryId,
    );
    expect(wallet.transfers()).toHaveLength(0);

    const listed = await ops('--json', 'reconcile');
    expect(listed.code).toBe(0);
    expect(of(listed.json<{ discrepancies: Discrepancy[] }>().discrepancies, wallet.walletId)).toHaveLength(
      1,
    );
    const text = await ops('reconcile');
    expect(text.out).toContain(wallet.walletId);
    expect(text.out).toContain('12.345678');
  });

  it('reports USD put into a CryptoConnect wallet without a notification, and refuses to move it', async () => {
    const wallet = freshWallet(stack, reconcile.accountIds);
    wallet.credit('100', 'USD');

    const report = await runReconcile(reconcile.deps);

    expect(of(report.discrepancies, wallet.walletId)).toEqual([
      expect.objectContaining({ currency: 'USD', unexplained: '100' }),
    ]);
    const refused = await ops('reconcile', 'sweep', wallet.walletId, 'USD', '100');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/usd-without-notification/);
    expect(wallet.transfers()).toHaveLength(0);
    const [audit] = (await ops('--json', 'audit', 'list', '--limit', '1')).json<
      { command: string; result: unknown }[]
    >();
    expect(audit).toMatchObject({
      command: 'reconcile sweep',
      result: { refused: expect.stringMatching(/USD/) },
    });
  });

  it('does not let a held deposit hide other unexplained money', async () => {
    const wallet = freshWallet(stack, reconcile.accountIds);
    // Held by compliance: not credited to the balance.
    const held = stack.sim.creditDeposit({
      walletId: wallet.walletId,
      currency: 'USDC',
      amount: '7',
      status: 'ON_HOLD',
    }).id;
    await wallet.notify(held, 'ON_HOLD');
    expect((await stack.record(held)).state).toBe('held');
    // And the same amount that nothing explains.
    wallet.credit('7');

    const report = await runReconcile(reconcile.deps);

    expect(of(report.discrepancies, wallet.walletId)).toEqual([
      expect.objectContaining({ available: '7', held: '7', unexplained: '7', sweepable: '0' }),
    ]);
    expect(wallet.transfers()).toHaveLength(0);
  });

  it('reports a master wallet, and refuses to move its money', async () => {
    const wallet = freshWallet(stack, reconcile.accountIds, { master: true });
    wallet.credit('5');
    const report = await runReconcile(reconcile.deps);
    expect(of(report.discrepancies, wallet.walletId)).toEqual([expect.objectContaining({ master: true })]);
    const refused = await ops('reconcile', 'sweep', wallet.walletId, 'USDC', '5');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/master-wallet/);
    expect(wallet.transfers()).toHaveLength(0);
  });
});

describe('ops reconcile sweep: moving unexplained money on an operator decision', () => {
  it('dry run changes nothing; the sweep moves the amount once; repeating it never moves it again', async () => {
    const wallet = freshWallet(stack, reconcile.accountIds);
    wallet.credit('20');
    await runReconcile(reconcile.deps);

    const tooMuch = await ops('reconcile', 'sweep', wallet.walletId, 'USDC', '20.5');
    expect(tooMuch.code).toBe(1);
    expect(tooMuch.err).toMatch(/above-unexplained/);

    const dry = await ops('--json', 'reconcile', 'sweep', wallet.walletId, 'USDC', '20', '--dry-run');
    expect(dry.code).toBe(0);
    const preview = dry.json<{ outcome: string; depositId: string; clientTransactionId: string }>();
    expect(preview).toMatchObject({
      outcome: 'would-queue',
      depositId: expect.stringMatching(/^reconcile-/),
    });
    expect(preview.clientTransactionId).toBe(sweepTransactionId(preview.depositId));
    expect(await stack.redis.exists(stack.keys.deposit(preview.depositId))).toBe(0);

    const done = await ops('--json', 'reconcile', 'sweep', wallet.walletId, 'USDC', '20');
    expect(done.code).toBe(0);
    expect(done.json()).toMatchObject({ outcome: 'queued', depositId: preview.depositId });
    expect(await stack.settled(preview.depositId)).toMatchObject({ status: 'completed' });
    expect(await stack.record(preview.depositId)).toMatchObject({
      state: 'swept',
      origin: 'reconcile',
      operator: 'tester',
      amount: '20',
    });

    // The operator runs it again (a retry, a second operator): the same deposit, no second transfer call.
    const repeated = await ops('--json', 'reconcile', 'sweep', wallet.walletId, 'USDC', '20');
    expect(repeated.code).toBe(0);
    expect(repeated.json()).toMatchObject({
      outcome: 'already-requested',
      state: 'swept',
      depositId: preview.depositId,
    });
    // With another reference against the same (older) report: the money swept since is explained.
    const other = await ops('reconcile', 'sweep', wallet.walletId, 'USDC', '20', '--reference', 'TICKET-2');
    expect(other.code).toBe(1);
    expect(other.err).toMatch(/above-unexplained/);

    expect(stack.sim.transferCalls(preview.clientTransactionId).calls).toBe(1);
    expect(wallet.transfers()).toHaveLength(1);
    const audit = (await ops('--json', 'audit', 'list', '--limit', '20')).json<
      { command: string; targets: string[] }[]
    >();
    expect(
      audit.filter((a) => a.command === 'reconcile sweep' && a.targets[0] === wallet.walletId),
    ).toHaveLength(4);
    // The next run finds nothing left.
    const after = await runReconcile(reconcile.deps);
    expect(of(after.discrepancies, wallet.walletId)).toEqual([]);
  });

  it('refuses a wallet and currency the latest report does not list', async () => {
    const wallet = freshWallet(stack, reconcile.accountIds);
    await runReconcile(reconcile.deps);
    const refused = await ops('reconcile', 'sweep', wallet.walletId, 'USDC', '1');
    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/has no unexplained USDC/);
  });
});

describe('a transfer-history source (none is documented; a fake one here)', () => {
  it("feeds a missed deposit through the webhook's path: same deposit id, same clientTransactionId, swept once", async () => {
    const wallet = freshWallet(stack, reconcile.accountIds);
    const depositId = wallet.credit('12');
    const deposit = stack.sim.deposit(depositId)!;
    history.push(
      {
        transferId: depositId,
        txHash: deposit.txHash,
        chain: deposit.chain,
        accountId: wallet.accountId,
        walletId: wallet.walletId,
        currency: 'USDC',
        amount: '12',
        status: 'CLOSED',
        direction: 'IN',
      },
      // Not deposits: outgoing, or no direction at all.
      {
        transferId: 'out-1',
        accountId: wallet.accountId,
        walletId: wallet.walletId,
        currency: 'USDC',
        amount: '3',
        status: 'CLOSED',
        direction: 'OUT',
      },
      {
        transferId: 'nodir-1',
        accountId: wallet.accountId,
        walletId: wallet.walletId,
        currency: 'USDC',
        amount: '3',
        status: 'CLOSED',
      },
    );

    const report = await runReconcile(reconcile.deps);

    expect(report.fed).toBe(1);
    expect(of(report.discrepancies, wallet.walletId)).toEqual([]);
    expect(await stack.redis.exists(stack.keys.deposit('out-1'), stack.keys.deposit('nodir-1'))).toBe(0);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept' });
    expect(wallet.transfers().map((t) => t.clientTransactionId)).toEqual([sweepTransactionId(depositId)]);
    // Its webhook comes late: the same deposit, no second transfer call. A second run feeds nothing new.
    expect(await wallet.notify(depositId)).toMatchObject({ status: 200 });
    expect((await runReconcile(reconcile.deps)).fed).toBe(0);
    expect(stack.sim.transferCalls(sweepTransactionId(depositId)).calls).toBe(1);
    expect(wallet.transfers()).toHaveLength(1);
  });
});

// Last in this file: it stops the stack's ingest consumer.
describe('ops reconcile sweep while notifications wait to be stored', () => {
  it('refuses: the money may be a deposit whose notification is received and not stored yet', async () => {
    const wallet = freshWallet(stack, reconcile.accountIds);
    const depositId = wallet.credit('15');
    await runReconcile(reconcile.deps);
    // Interlace delivers the deposit's notification; the receiver appends it, its consumer is stopped.
    await stack.api.ingest.close();
    stack.sim.afterDelivery = undefined;
    expect((await wallet.notify(depositId)).status).toBe(200);

    const refused = await ops('reconcile', 'sweep', wallet.walletId, 'USDC', '15');

    expect(refused.code).toBe(1);
    expect(refused.err).toMatch(/refused \(ingest-backlog\): 1 notification/);
    expect(wallet.transfers()).toHaveLength(0);
    expect(await stack.redis.zcard(stack.keys.depositsByWallet(wallet.walletId))).toBe(0);
  });
});
