import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
 * duplicate_external_id as "look it up". Answers the wallet it ends with.
 */
async function ensureWallet(externalId: string): Promise<Wallet> {
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const answer = await stack.call<Wallet>('POST', '/wallets', {
      name: `Soak ${externalId}`,
      external_id: externalId,
    });
    if (answer.status === 201) return answer.body;
    const found = await stack.call<{ data: Wallet[] }>('GET', `/wallets?external_id=${externalId}`);
    if (found.body.data[0]?.state === 'active') return found.body.data[0];
    // Still creating: another request holds it, or a 503 released it for this retry to resume.
  }
  throw new Error(`no wallet for ${externalId} after 200 requests`);
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
