import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CryptoConnectWallet, InfinityWallet, List } from '../../src/interlace/types.js';
import { startSimulator, type Harness } from './helpers.js';

let harness: Harness;
let token: string;

beforeEach(async () => {
  harness = await startSimulator();
  token = await harness.api.token();
});
afterEach(async () => {
  await harness.sim.close();
});

describe('GET /cards/wallets', () => {
  it('lists only walletType 0 entries, EUR among them, with a string total', async () => {
    const { sim, api } = harness;
    const { accountId, infinityWalletId } = sim.createAccount({ usdAvailable: '56846.52' });

    const res = await api.call<List<InfinityWallet>>(
      'GET',
      `/cards/wallets?accountId=${accountId}&walletType=0`,
      {
        token,
      },
    );

    expect(res.body.code).toBe('000000');
    expect(res.body.data.total).toBe('2');
    expect(res.body.data.list.map((w) => [w.currency, w.walletType])).toEqual([
      ['EUR', 0],
      ['USD', 0],
    ]);
    expect(res.body.data.list[1]).toEqual({
      id: infinityWalletId,
      accountId,
      createTime: expect.stringMatching(/^\d{13}$/),
      currency: 'USD',
      walletType: 0,
      available: '56846.52',
    });
  });

  it('accepts objectType=0 as the filter, as a newer revision of the doc writes it', async () => {
    const { sim, api } = harness;
    const { accountId } = sim.createAccount();

    const res = await api.call<List<InfinityWallet>>(
      'GET',
      `/cards/wallets?accountId=${accountId}&objectType=0`,
      {
        token,
      },
    );

    expect(res.body.data.total).toBe('2');
  });

  it('also returns the wallets of other types when no filter is given', async () => {
    const { sim, api } = harness;
    const { accountId } = sim.createAccount();

    const res = await api.call<List<InfinityWallet>>('GET', `/cards/wallets?accountId=${accountId}`, {
      token,
    });

    expect(res.body.data.total).toBe('3');
    expect(res.body.data.list.filter((w) => w.currency === 'USD')).toHaveLength(2);
  });

  it('answers an empty list for an unknown account and 400 without accountId', async () => {
    const { api } = harness;

    const unknown = await api.call<List<InfinityWallet>>(
      'GET',
      '/cards/wallets?accountId=nobody&walletType=0',
      {
        token,
      },
    );
    const missing = await api.call('GET', '/cards/wallets?walletType=0', { token });

    expect(unknown.body.data).toEqual({ list: [], total: '0' });
    expect(missing.status).toBe(400);
  });
});

describe('CryptoConnect wallets', () => {
  it('creates a wallet with zero balances and no addresses, then gets it by id', async () => {
    const { sim, api } = harness;
    const { accountId } = sim.createAccount();

    const created = await api.call<CryptoConnectWallet>('POST', '/cryptoconnect/wallets', {
      token,
      body: { referenceId: 'ref-1', accountId, nickname: 'Developer' },
    });
    const fetched = await api.call<CryptoConnectWallet>(
      'GET',
      `/cryptoconnect/wallets/${created.body.data.id}`,
      {
        token,
      },
    );

    expect(created.body).toEqual({
      code: '000000',
      message: 'success',
      data: {
        id: expect.any(String),
        referenceId: 'ref-1',
        accountId,
        nickname: 'Developer',
        master: false,
        balances: ['USDC', 'USDT', 'WUSD', 'USD'].map((currency) => ({
          currency,
          available: '0',
          frozen: '0',
        })),
        addresses: [],
      },
    });
    expect(fetched.body).toEqual(created.body);
  });

  it('returns the existing wallet for a repeated referenceId', async () => {
    const { sim, api } = harness;
    const { accountId } = sim.createAccount();
    const body = { referenceId: 'ref-1', accountId, nickname: 'a' };

    const first = await api.call<CryptoConnectWallet>('POST', '/cryptoconnect/wallets', { token, body });
    const second = await api.call<CryptoConnectWallet>('POST', '/cryptoconnect/wallets', { token, body });

    expect(second.body.data.id).toBe(first.body.data.id);
    expect(sim.wallet(first.body.data.id)).toBeDefined();
  });

  it('lists an account wallets, filtered by master', async () => {
    const { sim, api } = harness;
    const { accountId } = sim.createAccount();
    sim.createWallet(accountId, { walletId: 'w-user' });
    sim.createWallet(accountId, { walletId: 'w-master', master: true });

    const all = await api.call<List<CryptoConnectWallet>>(
      'GET',
      `/cryptoconnect/wallets?accountId=${accountId}`,
      {
        token,
      },
    );
    const masters = await api.call<List<CryptoConnectWallet>>(
      'GET',
      `/cryptoconnect/wallets?accountId=${accountId}&master=true`,
      { token },
    );

    expect(all.body.data.total).toBe('2');
    expect(masters.body.data.list.map((w) => w.id)).toEqual(['w-master']);
  });

  it('creates a deposit address that becomes the selected one of its currency and chain', async () => {
    const { sim, api } = harness;
    const { accountId } = sim.createAccount();
    const wallet = sim.createWallet(accountId);
    const path = `/cryptoconnect/wallets/${wallet.id}/addresses`;

    const first = await api.call('POST', path, { token, body: { currency: 'USDC', chain: 'ETH' } });
    const second = await api.call('POST', path, { token, body: { currency: 'USDC', chain: 'ETH' } });
    const tron = await api.call('POST', path, { token, body: { currency: 'USDT', chain: 'TRON' } });

    expect(first.body.data).toEqual({
      currency: 'USDC',
      chain: 'ETH',
      address: expect.stringMatching(/^0x[0-9a-f]{40}$/),
      selected: true,
    });
    expect(tron.body.data).toMatchObject({ address: expect.stringMatching(/^T[1-9A-HJ-NP-Za-km-z]{33}$/) });
    expect(sim.wallet(wallet.id)?.addresses.map((a) => a.selected)).toEqual([false, true, true]);
    expect(sim.wallet(wallet.id)?.addresses[1]?.address).toBe(
      (second.body.data as { address: string }).address,
    );
  });

  it('answers a not-found business error for an unknown wallet and 400 for a bad address request', async () => {
    const { sim, api } = harness;
    const { accountId } = sim.createAccount();
    const wallet = sim.createWallet(accountId);

    const unknown = await api.call('GET', '/cryptoconnect/wallets/nope', { token });
    const bad = await api.call('POST', `/cryptoconnect/wallets/${wallet.id}/addresses`, {
      token,
      body: { currency: 'usdc' },
    });

    expect(unknown.body.code).not.toBe('000000');
    expect(unknown.body.data).toBeUndefined();
    expect(bad.status).toBe(400);
  });
});

describe('deposits', () => {
  it('credit the wallet exactly once, on the first transition to CLOSED', () => {
    const { sim } = harness;
    const { accountId } = sim.createAccount();
    const wallet = sim.createWallet(accountId);
    const usdc = () => sim.wallet(wallet.id)?.balances.find((b) => b.currency === 'USDC')?.available;

    const deposit = sim.creditDeposit({
      walletId: wallet.id,
      currency: 'USDC',
      amount: '12.5',
      status: 'PENDING',
    });
    const pending = usdc();
    sim.setDepositStatus(deposit.id, 'CLOSED');
    sim.setDepositStatus(deposit.id, 'PENDING');
    sim.setDepositStatus(deposit.id, 'CLOSED');

    expect(pending).toBe('0');
    expect(usdc()).toBe('12.5');
    expect(sim.deposit(deposit.id)).toMatchObject({ status: 'CLOSED', credited: true });
    expect(sim.summary().currencies['USDC']?.deposited).toBe('12.5');
  });

  it('never credit FAIL or ON_HOLD deposits', () => {
    const { sim } = harness;
    const { accountId } = sim.createAccount();
    const wallet = sim.createWallet(accountId);

    sim.creditDeposit({ walletId: wallet.id, currency: 'USDT', amount: '3', status: 'FAIL' });
    sim.creditDeposit({ walletId: wallet.id, currency: 'USDT', amount: '4', status: 'ON_HOLD' });

    expect(sim.wallet(wallet.id)?.balances.find((b) => b.currency === 'USDT')?.available).toBe('0');
  });

  it('reject a bad amount, an unknown wallet and a duplicate id', () => {
    const { sim } = harness;
    const { accountId } = sim.createAccount();
    const wallet = sim.createWallet(accountId);
    sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: '1', depositId: 'd-1' });

    expect(() => sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: '1.1234567' })).toThrow(
      /decimals/,
    );
    expect(() => sim.creditDeposit({ walletId: 'nope', currency: 'USDC', amount: '1' })).toThrow(
      /does not exist/,
    );
    expect(() =>
      sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: '1', depositId: 'd-1' }),
    ).toThrow(/already exists/);
  });
});

describe('wallets for the merchant API (issue #10)', () => {
  it('provisions one master wallet per currency for a gateway account, each with its one currency', () => {
    const { sim } = harness;
    const { accountId } = sim.createAccount({ masterWallets: true });

    const masters = sim.wallets(accountId, true);
    expect(masters.map((w) => w.balances.map((b) => b.currency))).toEqual([
      ['BTC'],
      ['ETH'],
      ['USDT'],
      ['USDC'],
    ]);
    expect(masters.every((w) => w.nickname === 'Master Wallet')).toBe(true);
  });

  it('refuses an address in another currency on a master wallet', async () => {
    const { sim, api } = harness;
    const { accountId } = sim.createAccount({ masterWallets: true });
    const usdc = sim.wallets(accountId, true).find((w) => w.balances[0]?.currency === 'USDC')!;
    const path = `/cryptoconnect/wallets/${usdc.id}/addresses`;

    const ok = await api.call('POST', path, { token, body: { currency: 'USDC', chain: 'ETH' } });
    const refused = await api.call('POST', path, { token, body: { currency: 'BTC', chain: 'BTC' } });

    expect(ok.body.code).toBe('000000');
    expect(refused).toMatchObject({ status: 400, body: { code: '400000' } });
  });

  it.each([
    ['existing', 'the same wallet', 1],
    ['create', 'a second wallet (the worst reading)', 2],
  ] as const)(
    'answers a repeated referenceId under duplicateWalletReference=%s with %s',
    async (mode, _label, count) => {
      const local = await startSimulator({ duplicateWalletReference: mode });
      try {
        const localToken = await local.api.token();
        const { accountId } = local.sim.createAccount();
        const body = { referenceId: 'ref-dup', accountId, nickname: 'a' };
        await local.api.call('POST', '/cryptoconnect/wallets', { token: localToken, body });
        await local.api.call('POST', '/cryptoconnect/wallets', { token: localToken, body });
        expect(local.sim.wallets(accountId)).toHaveLength(count);
      } finally {
        await local.sim.close();
      }
    },
  );

  it('refuses a repeated referenceId with a business error under duplicateWalletReference=error', async () => {
    const local = await startSimulator({ duplicateWalletReference: 'error' });
    try {
      const localToken = await local.api.token();
      const { accountId } = local.sim.createAccount();
      const body = { referenceId: 'ref-dup', accountId, nickname: 'a' };
      await local.api.call('POST', '/cryptoconnect/wallets', { token: localToken, body });
      const again = await local.api.call('POST', '/cryptoconnect/wallets', { token: localToken, body });
      expect(again.body.code).toBe('100100002');
      expect(local.sim.wallets(accountId)).toHaveLength(1);
    } finally {
      await local.sim.close();
    }
  });

  it('POST /_sim/addresses/:address/deposits pays to an address and sends the signed notification', async () => {
    const { sim } = harness;
    const received: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
    const { createServer } = await import('node:http');
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(receiver.address() as { port: number }).port}/webhooks/interlace`;
    try {
      const { accountId } = sim.createAccount();
      const wallet = sim.createWallet(accountId);
      const made = await fetch(`${harness.url}/open-api/v3/cryptoconnect/wallets/${wallet.id}/addresses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-access-token': token },
        body: JSON.stringify({ currency: 'USDT', chain: 'TRON' }),
      });
      const { data } = (await made.json()) as { data: { address: string } };

      const paid = await fetch(`${harness.url}/_sim/addresses/${data.address}/deposits`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount: '7.25', url }),
      });
      const answer = (await paid.json()) as { deposit: { id: string }; deliveries: { status: number }[] };
      const unknown = await fetch(`${harness.url}/_sim/addresses/Tnowhere/deposits`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ amount: '1' }),
      });

      expect(paid.status).toBe(201);
      expect(answer.deliveries).toMatchObject([{ status: 200 }]);
      expect(sim.deposit(answer.deposit.id)).toMatchObject({
        walletId: wallet.id,
        currency: 'USDT',
        chain: 'TRON',
        address: data.address,
        amount: '7.25',
        status: 'CLOSED',
      });
      expect(received).toHaveLength(1);
      const envelope = JSON.parse(received[0]!.body) as { resource: string };
      expect(JSON.parse(envelope.resource)).toMatchObject({ id: answer.deposit.id, walletId: wallet.id });
      expect(unknown.status).toBe(404);
    } finally {
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
