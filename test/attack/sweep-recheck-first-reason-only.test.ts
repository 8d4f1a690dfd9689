import { afterAll, beforeAll, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';

// Attack C (lead's recheckOwnership, b193ba4): the re-checks stop at the first refusal. An unowned
// deposit queued under UNKNOWN_WALLET_DEPOSITS=sweep, re-checked by workers redeployed with `hold` and a
// lower SWEEP_MAX_AMOUNT, is held for its amount only: the reason (what the alert and `deposits show`
// put in front of the operator) never says the wallet is not the service's. The operator who approves
// the amount with `sweep enqueue` also, unknowingly, overrides the unknown-wallet hold
// (operatorApproved covers every re-check), and money of a wallet the service did not create moves.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('attack-c-first-reason', { env: { UNKNOWN_WALLET_DEPOSITS: 'sweep' } });
});
afterAll(async () => {
  await stack?.close();
});

it('a deposit held before the transfer names every rule that holds it, the unknown wallet included', async () => {
  await stack.sweepQueue.pause();
  const depositId = stack.deposit('46');
  expect((await stack.notify(depositId)).status).toBe(200);
  expect(await stack.record(depositId)).toMatchObject({ state: 'queued', walletOwnership: 'unowned' });
  await stack.restartWorkers({ UNKNOWN_WALLET_DEPOSITS: 'hold', SWEEP_MAX_AMOUNT: '40' });
  await stack.sweepQueue.resume();
  await stack.settled(depositId);

  const record = await stack.record(depositId);
  expect(record.state).toBe('held');
  expect(record.reason).toContain('SWEEP_MAX_AMOUNT');
  expect(record.reason).toContain('UNKNOWN_WALLET_DEPOSITS=hold');
});
