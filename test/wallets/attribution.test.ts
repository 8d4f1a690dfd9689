import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { cli } from '../ops/cli-harness.js';
import type { DepositRecord } from '../../src/deposits/deposit-state.js';
import { loadConfig } from '../../src/config.js';
import { createWalletStore } from '../../src/wallets/wallet-store.js';
import { startSlackEndpoint } from '../alerts/slack-endpoint.js';

// The wallet store writes one owner record per CryptoConnect wallet it created or adopted:
// <prefix>:wallet-owner:<interlaceWalletId> = {id, external_id, name}. The wallet is stored here through
// the store itself (adopt: the same owner record as a finished POST /wallets), so the receiver reads
// what the store really writes.
async function own(stack: Stack, walletId: string, owner: { id: string; external_id: string; name: string }) {
  const store = createWalletStore(stack.redis, stack.keys);
  await store.adopt({
    id: owner.id,
    externalId: owner.external_id,
    name: owner.name,
    walletId,
    accountId: stack.account.accountId,
    mode: 'mor',
    now: Date.now(),
  });
}

describe('deposit attribution and the unknown-wallet rule (UNKNOWN_WALLET_DEPOSITS=hold, the default)', () => {
  let stack: Stack;
  let slack: Awaited<ReturnType<typeof startSlackEndpoint>>;
  beforeAll(async () => {
    // testEnv sets UNKNOWN_WALLET_DEPOSITS=sweep for the older tests; an empty value means "unset".
    slack = await startSlackEndpoint();
    stack = await startStack('attribution-hold', {
      env: { UNKNOWN_WALLET_DEPOSITS: '', ALERT_WEBHOOK_URL: slack.url },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await slack?.close();
  });

  it('defaults to hold', () => {
    expect(stack.config.unknownWalletDeposits).toBe('hold');
    expect(loadConfig({ INTERLACE_CLIENT_ID: 'a', INTERLACE_CLIENT_SECRET: 'b' }).unknownWalletDeposits).toBe(
      'hold',
    );
  });

  it('records the customer on a deposit into an owned wallet, sweeps it, and lists it by external_id', async () => {
    const wallet = stack.sim.createWallet(stack.account.accountId);
    await own(stack, wallet.id, { id: 'w-uuid-alice', external_id: 'cust-alice', name: 'Alice' });
    const depositId = stack.sim.creditDeposit({
      walletId: wallet.id,
      currency: 'USDC',
      amount: '25',
      status: 'CLOSED',
    }).id;

    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });

    expect(await stack.record(depositId)).toMatchObject({
      state: 'swept',
      walletOwnership: 'owned',
      walletRecordId: 'w-uuid-alice',
      externalId: 'cust-alice',
      walletName: 'Alice',
    });
    const listed = await cli(stack.env, 'deposits', 'list', '--external-id', 'cust-alice', '--json');
    expect(listed.code).toBe(0);
    expect(listed.json<DepositRecord[]>().map((d) => d.depositId)).toEqual([depositId]);
    const other = await cli(stack.env, 'deposits', 'list', '--external-id', 'cust-nobody', '--json');
    expect(other.json<DepositRecord[]>()).toEqual([]);
    const shown = await cli(stack.env, 'deposits', 'show', depositId);
    expect(shown.out).toMatch(/externalId\s+cust-alice/);
  });

  it('holds a credited deposit into a wallet the service did not create, with the reason, and never moves it', async () => {
    const depositId = stack.deposit('30'); // the stack's wallet has no owner record

    const answer = await stack.notify(depositId);
    expect(answer.status).toBe(200);

    const record = await stack.record(depositId);
    expect(record).toMatchObject({ state: 'held', walletOwnership: 'unowned' });
    expect(record.reason).toContain('UNKNOWN_WALLET_DEPOSITS=hold');
    expect(record.externalId).toBeUndefined();
    expect(await stack.redis.zscore(stack.keys.depositsHeld, depositId)).not.toBeNull();
    expect(await stack.sweepQueue.getJob(`deposit-${depositId}`)).toBeUndefined();
    expect(stack.transferCallsFor(depositId)).toHaveLength(0);
    // The operator is alerted, with the reason.
    const alert = await slack.next((message) => message.text.includes(depositId));
    expect(alert.body.text).toContain('held');
    expect(alert.body.text).toContain('UNKNOWN_WALLET_DEPOSITS=hold');
    // A redelivery changes nothing.
    expect((await stack.notify(depositId)).status).toBe(200);
    expect((await stack.record(depositId)).state).toBe('held');
  });

  it('lets an operator release a held unowned deposit to the sweep', async () => {
    const depositId = stack.deposit('31');
    await stack.notify(depositId);
    expect((await stack.record(depositId)).state).toBe('held');

    const run = await cli(stack.env, 'sweep', 'enqueue', depositId, '--operator', 'op', '--json');
    expect(run.code, run.err).toBe(0);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect((await stack.record(depositId)).state).toBe('swept');
  });

  it('holds a deposit that was PENDING, once it is credited', async () => {
    const depositId = stack.deposit('32', 'USDC', 'PENDING');
    await stack.notify(depositId);
    expect((await stack.record(depositId)).state).toBe('pending');
    stack.sim.setDepositStatus(depositId, 'CLOSED');
    await stack.notify(depositId, 'CLOSED');
    expect((await stack.record(depositId)).state).toBe('held');
  });
});

describe('the unknown-wallet rule set to sweep', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('attribution-sweep', { env: { UNKNOWN_WALLET_DEPOSITS: 'sweep' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('sweeps a deposit into a wallet the service did not create, marked unowned', async () => {
    const depositId = stack.deposit('40');
    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(await stack.record(depositId)).toMatchObject({ state: 'swept', walletOwnership: 'unowned' });
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    // Without MERCHANT_WEBHOOK_URL no merchant event is written anywhere.
    expect(await stack.redis.exists(stack.keys.merchantOutbox)).toBe(0);
  });

  it('holds what is still queued once the workers are redeployed with UNKNOWN_WALLET_DEPOSITS=hold', async () => {
    // Queued under `sweep` while the queue is paused; the workers come back with `hold` before it runs.
    await stack.sweepQueue.pause();
    const depositId = stack.deposit('41');
    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.record(depositId)).toMatchObject({ state: 'queued', walletOwnership: 'unowned' });
    await stack.restartWorkers({ UNKNOWN_WALLET_DEPOSITS: 'hold' });
    await stack.sweepQueue.resume();

    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    const record = await stack.record(depositId);
    expect(record).toMatchObject({ state: 'held' });
    expect(record.reason).toContain('UNKNOWN_WALLET_DEPOSITS=hold');
    expect(stack.transferCallsFor(depositId)).toHaveLength(0);
    // An operator who means it releases it, and it is swept once.
    const run = await cli(stack.env, 'sweep', 'enqueue', depositId, '--operator', 'op', '--json');
    expect(run.code, run.err).toBe(0);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect((await stack.record(depositId)).state).toBe('swept');
    expect(stack.transferCallsFor(depositId)).toHaveLength(1);
  });
});
