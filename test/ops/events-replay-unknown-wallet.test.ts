import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventReplayReport } from '../../src/ops/events-replay.js';
import { startStack, type Stack } from '../helpers/stack.js';
import { cli } from './cli-harness.js';

// The dry run of `ops events replay` must predict what the replay does, the unknown-wallet rule included:
// a deposit into a wallet the service did not create is held (UNKNOWN_WALLET_DEPOSITS=hold), never
// announced as one the replay would sweep.

describe('ops events replay --dry-run of a deposit into a wallet the service did not create', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ops-replay-unknown', {
      env: { UNKNOWN_WALLET_DEPOSITS: 'hold' },
      workers: false,
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('predicts the hold the replay then makes', async () => {
    const since = Date.now() - 1;
    const wallet = stack.sim.createWallet(stack.account.accountId); // no owner record: not ours
    const depositId = stack.sim.creditDeposit({
      walletId: wallet.id,
      currency: 'USDC',
      amount: '12',
      status: 'CLOSED',
    }).id;
    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.record(depositId)).toMatchObject({ state: 'held' });
    // The ledger lost the record; the event log still has the notification.
    await stack.redis.del(stack.keys.deposit(depositId), stack.keys.depositNotifications(depositId));
    const env = { ...stack.env };
    const window = ['--since', String(since), '--until', String(Date.now())];

    const dry = await cli(env, 'events', 'replay', ...window, '--dry-run', '--json');
    expect(dry.code, dry.err).toBe(0);
    const predicted = dry.json<EventReplayReport>().events.map((e) => e.result);
    expect(predicted).toContainEqual(
      expect.objectContaining({ depositId, before: 'missing', state: 'held', wouldSweep: false }),
    );

    const run = await cli(env, 'events', 'replay', ...window, '--operator', 'op', '--json');
    expect(run.code, run.err).toBe(0);
    expect(await stack.record(depositId)).toMatchObject({ state: 'held' });
  });
});
