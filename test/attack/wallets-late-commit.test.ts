import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMerchantStack } from '../helpers/merchant-api.js';

// Attack (wallets): a create call whose client deadline passes BEFORE Interlace commits it. The service
// looks the wallet up, finds nothing (not committed yet), and sends the create again with the same
// referenceId. docs/wallets.md says the outcome is one wallet "even [if a repeated referenceId makes]
// a second wallet"; a commit after the look-up breaks that.

type Stack = Awaited<ReturnType<typeof startMerchantStack>>;
let stack: Stack;

beforeAll(async () => {
  stack = await startMerchantStack('attack-late-commit', {
    simulator: { duplicateWalletReference: 'create' },
  });
});
afterAll(async () => {
  await stack.close();
});

describe('POST /wallets when the first create commits after its deadline', () => {
  it('makes one CryptoConnect wallet for one external_id', async () => {
    // INTERLACE_TIMEOUT_MS is 1000 in the stack: the first create is processed at 1500 ms, after the
    // client gave up and after the look-up that found nothing.
    stack.sim.faults.enqueue('cryptoconnect', { kind: 'latency', delayMs: 1500 }, 1);
    const answer = await stack.call<{ wallet_id: string }>('POST', '/wallets', {
      name: 'Customer late-1',
      external_id: 'late-1',
    });
    expect(answer.status).toBe(201);

    // Wait (on the simulator's events) until the first, abandoned call has run to its end.
    const allDone = () => stack.sim.requests().every((r) => r.outcome !== 'pending');
    expect(await stack.sim.waitUntil(allDone, 5000)).toBe(true);

    const wallets = stack.simWallets().filter((w) => w.nickname === 'Customer late-1');
    expect(wallets.map((w) => w.id)).toEqual([answer.body.wallet_id]);
  });
});
