import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { cli } from '../ops/cli-harness.js';

// Attack C (lead's recheckOwnership, b193ba4): the re-check lets through any deposit an operator
// requeued (operatorApproved: replayedAt >= statusAt). `dlq replay --all` (operations.md: "fix the cause
// first ... --all is safe") is a bulk retry of failed sweeps, not a decision about whose money it is, yet
// it stamps replayedAt on every dead deposit it requeues. An unowned deposit queued while
// UNKNOWN_WALLET_DEPOSITS was `sweep`, dead after a permanent Interlace error, is swept by the routine
// bulk replay after the workers were switched to `hold`: the money of a wallet the service did not create
// moves although the service's rule now says hold (docs say only `ops sweep enqueue` releases it).

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('attack-c-dlq-unowned', {
    env: { UNKNOWN_WALLET_DEPOSITS: 'sweep', SWEEP_ATTEMPTS: '1' },
  });
});
afterAll(async () => {
  await stack?.close();
});

it('a bulk dlq replay never sweeps an unowned deposit once the workers run with UNKNOWN_WALLET_DEPOSITS=hold', async () => {
  stack.failTransfers('010021', 1);
  const depositId = stack.deposit('43');
  expect((await stack.notify(depositId)).status).toBe(200);
  await stack.settled(depositId);
  expect(await stack.record(depositId)).toMatchObject({ state: 'dead', walletOwnership: 'unowned' });
  expect(stack.transferCallsFor(depositId)).toHaveLength(1);

  // The operator switches unknown wallets to hold, then retries the dead sweeps in bulk.
  await stack.restartWorkers({ UNKNOWN_WALLET_DEPOSITS: 'hold' });
  const run = await cli(stack.env, '--operator', 'op', '--json', 'dlq', 'replay', '--all');
  expect(run.code, run.err).toBe(0);
  await expect
    .poll(async () => (await stack.record(depositId)).state, { timeout: 15_000 })
    .not.toMatch(/^(queued|sweeping)$/);

  // Held for an operator who decides about this wallet's money, not swept by a bulk retry.
  expect((await stack.record(depositId)).state).toBe('held');
  expect(stack.transfersFor(depositId)).toHaveLength(0);
});
