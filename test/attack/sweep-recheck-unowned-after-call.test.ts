import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { sweepJobId } from '../../src/queues/names.js';

// Attack C (lead's recheckOwnership, b193ba4): the re-check also runs on a retry of a deposit whose
// transfer was already called. Attempt 1's transfer commits at Interlace and its answer is lost; the
// workers are redeployed with UNKNOWN_WALLET_DEPOSITS=hold before the retry; the retry holds the deposit
// "for an operator" as if nothing had moved. The ledger says held (money not moved) while the money is
// in the Infinity wallet, and the reason gives the operator no hint that a transfer is in doubt
// (recheckOperatorSweepLive says "its transfer was called before: look it up at Interlace" in the same
// situation). An operator who reads "not one this service created" may return the money from the
// wallet's side or leave it: either way the books are wrong.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('attack-c-recheck-after-call', {
    // A long backoff keeps the retry waiting until the test promotes it after the redeploy.
    // (The test config caps backoff at 200 ms: the cap goes up with it, or the retry runs before the promote.)
    env: { UNKNOWN_WALLET_DEPOSITS: 'sweep', SWEEP_BACKOFF_MS: '600000', SWEEP_BACKOFF_MAX_MS: '600000' },
  });
});
afterAll(async () => {
  await stack?.close();
});

it('a deposit whose transfer was called before is not held as if no money had moved', async () => {
  stack.sim.faults.enqueue('transfer', { kind: 'reset-after-commit' }, 1);
  const depositId = stack.deposit('44');
  expect((await stack.notify(depositId)).status).toBe(200);
  const job = () => stack.sweepQueue.getJob(sweepJobId(depositId));
  await expect.poll(async () => (await job())?.getState(), { timeout: 15_000 }).toBe('delayed');
  // Interlace moved the money; the service did not hear it.
  expect(stack.transfersFor(depositId)).toHaveLength(1);

  await stack.restartWorkers({ UNKNOWN_WALLET_DEPOSITS: 'hold' });
  await (await job())!.promote();
  await stack.settled(depositId);

  const record = await stack.record(depositId);
  // Either the retry resends the same clientTransactionId (a look-up: the transfer is found and recorded)
  // or the hold says a transfer is in doubt. On main: held, "not one this service created", nothing else.
  if (record.state !== 'swept') expect(record.reason).toMatch(/called before|look it up at Interlace/);
});
