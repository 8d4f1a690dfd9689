import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READER_KEY, startMerchantStack } from '../helpers/merchant-api.js';

type Stack = Awaited<ReturnType<typeof startMerchantStack>>;
type Deposit = Record<string, string | null>;

let stack: Stack;

beforeAll(async () => {
  stack = await startMerchantStack('wallet-deposits', { workers: true });
  stack.sim.setWebhookUrl(stack.webhookUrl);
});
afterAll(async () => {
  await stack.close();
});

/** A customer's wallet with a USDC address on ETH, through the API. */
async function customerWallet(externalId: string) {
  const wallet = await stack.call<{ id: string; wallet_id: string }>('POST', '/wallets', {
    name: `Customer ${externalId}`,
    external_id: externalId,
  });
  const address = await stack.call<{ address: string }>('POST', `/wallets/${wallet.body.id}/addresses`, {
    currency: 'USDC',
    chain: 'ETH',
  });
  return { ...wallet.body, address: address.body.address };
}

describe('GET /wallets/{id}/deposits', () => {
  it("lists a customer's deposits with state, amount, fee, net USD, transfer id and ISO times", async () => {
    const wallet = await customerWallet('dep-1');
    const other = await customerWallet('dep-2');
    const paid = stack.sim.depositToAddress({ address: wallet.address, amount: '20' });
    await stack.notify(paid.id);
    expect((await stack.settled(paid.id)).status).toBe('completed');
    const elsewhere = stack.sim.depositToAddress({ address: other.address, amount: '5' });
    await stack.notify(elsewhere.id);

    const answer = await stack.call<{ data: Deposit[]; next_cursor: string | null }>(
      'GET',
      `/wallets/${wallet.id}/deposits`,
      undefined,
      READER_KEY,
    );

    expect(answer.status).toBe(200);
    expect(answer.body.next_cursor).toBeNull();
    expect(answer.body.data).toHaveLength(1);
    const [deposit] = answer.body.data;
    const [transfer] = stack.transfersFor(paid.id);
    expect(deposit).toMatchObject({
      id: paid.id,
      wallet_id: wallet.id,
      external_id: 'dep-1',
      state: 'swept',
      upstream_status: 'CLOSED',
      currency: 'USDC',
      amount: '20',
      chain: 'ETH',
      address: wallet.address,
      transfer_id: transfer!.id,
      swept_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    expect(deposit!.fee).toMatch(/^\d+(\.\d+)?$/);
    expect(deposit!.net_usd).toMatch(/^\d+(\.\d+)?$/);
  });

  it('pages newest first with a cursor, each deposit once', async () => {
    const wallet = await customerWallet('dep-3');
    const ids: string[] = [];
    for (const amount of ['1.5', '2.5', '3.5', '4.5', '5.5']) {
      const paid = stack.sim.depositToAddress({ address: wallet.address, amount, status: 'PENDING' });
      await stack.notify(paid.id);
      ids.push(paid.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { status: number; body: { data: Deposit[]; next_cursor: string | null } } =
        await stack.call('GET', `/wallets/${wallet.id}/deposits?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      expect(page.status).toBe(200);
      seen.push(...page.body.data.map((d) => String(d.id)));
      cursor = page.body.next_cursor;
      pages += 1;
    } while (cursor !== null && pages < 10);

    expect(pages).toBe(3);
    expect(seen.sort()).toEqual([...ids].sort());
  });

  it('answers 404 for an unknown wallet and 400 for a cursor it did not give', async () => {
    const wallet = await customerWallet('dep-4');
    expect(await stack.call('GET', '/wallets/8d6f2a51-0000-4000-8000-000000000000/deposits')).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect(await stack.call('GET', `/wallets/${wallet.id}/deposits?cursor=nope`)).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', details: { field: 'cursor' } } },
    });
  });
});
