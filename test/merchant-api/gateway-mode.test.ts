import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startMerchantStack } from '../helpers/merchant-api.js';

type Stack = Awaited<ReturnType<typeof startMerchantStack>>;
type Wallet = { id: string; external_id: string; wallet_id: string; mode: string; state: string };

let stack: Stack;

beforeAll(async () => {
  stack = await startMerchantStack('gateway-mode', { gateway: true });
});
afterAll(async () => {
  await stack.close();
});

describe('the merchant API in gateway mode (INTERLACE_MODE=gateway)', () => {
  it("lists the account's master wallets, adopted once with their owner index", async () => {
    const first = await stack.call<{ data: Wallet[] }>('GET', '/wallets');
    const again = await stack.call<{ data: Wallet[] }>('GET', '/wallets');

    const masters = stack.sim.wallets(stack.accountId, true);
    expect(masters).toHaveLength(4);
    expect(first.status).toBe(200);
    expect(first.body.data.map((w) => w.external_id).sort()).toEqual([
      'master-BTC',
      'master-ETH',
      'master-USDC',
      'master-USDT',
    ]);
    expect(first.body.data.every((w) => w.mode === 'gateway' && w.state === 'active')).toBe(true);
    expect(again.body.data.map((w) => w.id).sort()).toEqual(first.body.data.map((w) => w.id).sort());
    // The list call asked Interlace for the master wallets only (seed 000: ?master=true).
    const lists = stack.sim
      .requests()
      .filter((r) => r.method === 'GET' && r.path.endsWith('/cryptoconnect/wallets'));
    expect(lists.length).toBeGreaterThan(0);
    expect(lists.every((r) => r.query.master === 'true')).toBe(true);
    for (const wallet of first.body.data) {
      expect(await stack.redis.hget(stack.keys.walletOwner(wallet.wallet_id), 'external_id')).toBe(
        wallet.external_id,
      );
    }
  });

  it('refuses POST /wallets with invalid_request saying why, and calls Interlace for nothing', async () => {
    const answer = await stack.call<{ error: { code: string; message: string; details: unknown } }>(
      'POST',
      '/wallets',
      { name: 'Customer 1', external_id: 'gw-1' },
    );
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_request', details: { reason: 'gateway-mode' } });
    expect(answer.body.error.message).toMatch(/gateway.*master wallets/);
    expect(stack.createCalls()).toHaveLength(0);
  });

  it("makes addresses on a master wallet; Interlace's refusal of another currency is a 400", async () => {
    const list = await stack.call<{ data: Wallet[] }>('GET', '/wallets?external_id=master-USDC');
    const [usdc] = list.body.data;
    const address = await stack.call('POST', `/wallets/${usdc!.id}/addresses`, {
      currency: 'USDC',
      chain: 'ETH',
    });
    const refused = await stack.call('POST', `/wallets/${usdc!.id}/addresses`, {
      currency: 'BTC',
      chain: 'BTC',
    });

    expect(address).toMatchObject({
      status: 201,
      body: { wallet: usdc!.id, currency: 'USDC', chain: 'ETH' },
    });
    expect(refused).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', details: { reason: 'interlace-refused' } } },
    });
  });
});

describe('gateway mode without anyone listing wallets', () => {
  it("the receiver adopts the master wallets by itself, so their deposits are the merchant's own", async () => {
    const own = await startMerchantStack('gateway-adopt', {
      gateway: true,
      env: { WALLET_ADOPT_INTERVAL_MS: '1000' },
    });
    try {
      const masters = own.sim.wallets(own.accountId, true);
      // No GET /wallets: the receiver's own adoption (at start, then every interval) writes the owners.
      await vi.waitFor(
        async () => {
          for (const wallet of masters)
            expect(await own.redis.exists(own.keys.walletOwner(wallet.id))).toBe(1);
        },
        { timeout: 10_000, interval: 100 },
      );
      const usdc = masters.find((w) => w.balances[0]?.currency === 'USDC')!;
      const deposit = own.sim.creditDeposit({ walletId: usdc.id, currency: 'USDC', amount: '5' });
      expect((await own.notify(deposit.id)).status).toBe(200);

      expect(await own.record(deposit.id)).toMatchObject({
        externalId: 'master-USDC',
        walletOwnership: 'owned',
      });
    } finally {
      await own.close();
    }
  });
});
