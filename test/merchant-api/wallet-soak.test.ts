import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startMerchantStack } from '../helpers/merchant-api.js';

type Stack = Awaited<ReturnType<typeof startMerchantStack>>;
type Wallet = { id: string; wallet_id: string | null; state: string };

let stack: Stack;

beforeAll(async () => {
  stack = await startMerchantStack('wallet-soak', {
    // A repeated referenceId makes a SECOND wallet here: only looking before resending keeps it at one.
    simulator: { duplicateWalletReference: 'create', seed: 20261201 },
  });
  stack.sim.faults.setRates({
    endpoints: ['cryptoconnect'],
    http5xx: 0.15,
    resetAfterCommit: 0.25,
    rateLimit: 0.05,
    retryAfterSeconds: 0,
  });
});
afterAll(async () => {
  await stack.close();
});

/**
 * A merchant backend's client: POST until the wallet exists, as a backend would retry a 503 and read a
 * duplicate_external_id as "look it up". While another request holds the creation (it may wait for a
 * lost create to settle, WALLET_CREATE_SETTLE_MS) the answer is a duplicate and the record `creating`:
 * the client polls, with a deadline, until the wallet is active. Answers the wallet it ends with.
 */
async function ensureWallet(externalId: string): Promise<Wallet> {
  let wallet: Wallet | undefined;
  await vi.waitFor(
    async () => {
      const answer = await stack.call<Wallet>('POST', '/wallets', {
        name: `Soak ${externalId}`,
        external_id: externalId,
      });
      if (answer.status === 201) {
        wallet = answer.body;
        return;
      }
      const found = await stack.call<{ data: Wallet[] }>('GET', `/wallets?external_id=${externalId}`);
      if (found.body.data[0]?.state !== 'active') throw new Error(`${externalId} is not created yet`);
      wallet = found.body.data[0];
    },
    { timeout: 45_000, interval: 50 },
  );
  return wallet!;
}

describe('POST /wallets under faults (5xx, commit-then-drop, 429) and concurrent duplicates', () => {
  it('ends with exactly one Interlace wallet per external_id, the one the API names', async () => {
    const externalIds = Array.from({ length: 30 }, (_, i) => `soak-${i}`);
    // Two backends race on every external_id.
    const results = await Promise.all(externalIds.flatMap((id) => [ensureWallet(id), ensureWallet(id)]));

    const faults = stack.sim.faults.stats();
    // The run must actually have lost answers after commits, or it proves nothing.
    expect(faults['reset-after-commit']).toBeGreaterThan(5);
    expect(faults['http-500'] + faults['http-502'] + faults['http-503']).toBeGreaterThan(5);
    for (const [index, externalId] of externalIds.entries()) {
      const atInterlace = stack.simWallets().filter((w) => w.nickname === `Soak ${externalId}`);
      expect(atInterlace, externalId).toHaveLength(1);
      const [first, second] = [results[index * 2]!, results[index * 2 + 1]!];
      expect(first.id).toBe(second.id);
      expect(first.wallet_id).toBe(atInterlace[0]!.id);
    }
  });
});
