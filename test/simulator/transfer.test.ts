import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { available, fundedWallet, startSimulator, sweepBody, type Harness } from './helpers.js';

let harness: Harness;
let token: string;

beforeEach(async () => {
  harness = await startSimulator();
  token = await harness.api.token();
});
afterEach(async () => {
  await harness.sim.close();
});

const PATH = '/business/transfer/internal';

describe('POST /business/transfer/internal', () => {
  it('moves 10 USDC into the Infinity USD wallet as 9.95 USD with a 0.05 fee, in the seed-001 shape', async () => {
    const { sim, api } = harness;
    const target = fundedWallet(sim, '10', '56846.52');
    const body = sweepBody(target);

    const res = await api.call('POST', PATH, { token, body });

    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      code: '000000',
      message: 'success',
      data: {
        clientTransactionId: body.clientTransactionId,
        id: expect.stringMatching(/^[1-9]\d{18}$/),
        status: 'CLOSED',
        accountTransferType: 'SAME_ACCOUNT',
        from: {
          id: target.walletId,
          transferId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          accountId: target.accountId,
          amount: '10',
          rate: 1,
          currency: 'USDC',
          businessType: 2,
          fees: [{ feeType: 6, amount: '0.05', currency: 'USDC' }],
        },
        to: {
          id: target.infinityWalletId,
          transferId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          accountId: target.accountId,
          amount: '9.95',
          currency: 'USD',
          businessType: 0,
          fees: [{ feeType: 0, amount: '0', currency: 'USD' }],
        },
      },
    });
    expect(Object.keys(res.body.data as object)).toEqual([
      'clientTransactionId',
      'id',
      'status',
      'accountTransferType',
      'from',
      'to',
    ]);
    expect(available(sim, target.walletId, 'USDC')).toBe('0');
    expect(sim.infinityWallet(target.accountId)?.available).toBe('56856.47');
  });

  it('keeps the ledger: the exact body, the Idempotency-Key header, fee and net', async () => {
    const { sim, api } = harness;
    const target = fundedWallet(sim);
    const body = sweepBody(target);
    const rawBody = JSON.stringify(body);

    const res = await api.call('POST', PATH, {
      token,
      rawBody,
      headers: { 'Idempotency-Key': body.clientTransactionId },
    });

    expect(sim.transfers()).toEqual([
      {
        id: (res.body.data as { id: string }).id,
        clientTransactionId: body.clientTransactionId,
        accountId: target.accountId,
        request: body,
        rawBody,
        idempotencyKey: body.clientTransactionId,
        response: res.body,
        currency: 'USDC',
        amount: '10',
        fee: '0.05',
        net: '9.95',
        time: expect.stringMatching(/^\d{13}$/),
        replays: 0,
        status: 'CLOSED',
      },
    ]);
    expect(sim.requests().at(-1)).toMatchObject({
      endpoint: 'transfer',
      idempotencyKey: body.clientTransactionId,
    });
  });

  it.each([
    { amount: '10.123456', currency: 'USDC', fee: '0.053456', net: '10.07' },
    { amount: '1', currency: 'USDT', fee: '0.01', net: '0.99' },
    { amount: '0.5', currency: 'WUSD', fee: '0.01', net: '0.49' },
    { amount: '250', currency: 'USD', fee: '1.25', net: '248.75' },
  ])('splits $amount $currency into net $net USD and fee $fee, so amount = net + fee', async (row) => {
    const { sim, api } = harness;
    const account = sim.createAccount();
    const wallet = sim.createWallet(account.accountId);
    sim.creditDeposit({ walletId: wallet.id, currency: row.currency, amount: row.amount });

    const res = await api.call('POST', PATH, {
      token,
      body: sweepBody({ ...account, walletId: wallet.id }, row.amount, `tx-${row.currency}`, row.currency),
    });

    expect(res.body.code).toBe('000000');
    expect(sim.transfers()[0]).toMatchObject({ amount: row.amount, fee: row.fee, net: row.net });
    const summary = sim.summary().currencies[row.currency];
    expect(summary).toEqual({
      deposited: row.amount,
      transferredOut: row.amount,
      fees: row.fee,
      usdCredited: row.net,
      walletAvailable: '0',
    });
  });

  it('returns the original transfer for a repeated clientTransactionId and debits once', async () => {
    const { sim, api } = harness;
    const target = fundedWallet(sim, '30');
    const body = sweepBody(target);

    const first = await api.call('POST', PATH, { token, body });
    const reordered = { amount: body.amount, to: body.to, from: body.from, accountId: body.accountId };
    const second = await api.call('POST', PATH, {
      token,
      body: { clientTransactionId: body.clientTransactionId, ...reordered },
    });

    expect(second.status).toBe(200);
    expect(second.body).toEqual(first.body);
    expect(available(sim, target.walletId, 'USDC')).toBe('20');
    expect(sim.transfers()).toHaveLength(1);
    expect(sim.transfers()[0]?.replays).toBe(1);
  });

  it('refuses the same clientTransactionId with another body (code 100100002) and moves nothing', async () => {
    const { sim, api } = harness;
    const target = fundedWallet(sim, '30');
    await api.call('POST', PATH, { token, body: sweepBody(target, '10') });

    const res = await api.call('POST', PATH, { token, body: sweepBody(target, '11') });

    expect(res.body).toEqual({ code: '100100002', message: expect.any(String) });
    expect(available(sim, target.walletId, 'USDC')).toBe('20');
    expect(sim.transfers()).toHaveLength(1);
  });

  it('debits once when the same transfer arrives twice at the same time', async () => {
    const { sim, api } = harness;
    const target = fundedWallet(sim, '10');
    const body = sweepBody(target);

    const [a, b] = await Promise.all([
      api.call('POST', PATH, { token, body }),
      api.call('POST', PATH, { token, body }),
    ]);

    expect(a.body).toEqual(b.body);
    expect(sim.transfers()).toHaveLength(1);
    expect(available(sim, target.walletId, 'USDC')).toBe('0');
  });

  it('answers 100100001 when the wallet holds less than the amount, and lets the same id succeed later', async () => {
    const { sim, api } = harness;
    const target = fundedWallet(sim, '5');
    const body = sweepBody(target, '10');

    const refused = await api.call('POST', PATH, { token, body });
    sim.creditDeposit({ walletId: target.walletId, currency: 'USDC', amount: '5' });
    const retried = await api.call('POST', PATH, { token, body });

    expect(refused.body).toEqual({ code: '100100001', message: expect.any(String) });
    expect(retried.body.code).toBe('000000');
    expect(sim.transfers()).toHaveLength(1);
  });

  it('does not count PENDING or ON_HOLD deposits as available', async () => {
    const { sim, api } = harness;
    const account = sim.createAccount();
    const wallet = sim.createWallet(account.accountId);
    sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: '10', status: 'PENDING' });
    sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: '10', status: 'ON_HOLD' });

    const res = await api.call('POST', PATH, { token, body: sweepBody({ ...account, walletId: wallet.id }) });

    expect(res.body.code).toBe('100100001');
  });

  it('answers 010021 when the from wallet, its currency line, or its account does not match', async () => {
    const { sim, api } = harness;
    const target = fundedWallet(sim);
    const other = fundedWallet(sim);

    const cases = [
      { ...sweepBody(target, '1', 'x-1'), from: { businessType: 2, id: 'no-such-wallet', currency: 'USDC' } },
      sweepBody(target, '1', 'x-2', 'BTC'),
      { ...sweepBody(target, '1', 'x-3'), from: { businessType: 2, id: other.walletId, currency: 'USDC' } },
    ];
    for (const body of cases) {
      const res = await api.call('POST', PATH, { token, body });
      expect(res.body).toEqual({ code: '010021', message: expect.any(String) });
    }
    expect(sim.transfers()).toHaveLength(0);
  });

  describe('with an invalid body', () => {
    const base = () => sweepBody(fundedWallet(harness.sim), '1');
    const cases: Array<[string, (body: ReturnType<typeof base>) => unknown]> = [
      ['an empty clientTransactionId', (b) => ({ ...b, clientTransactionId: '  ' })],
      ['no clientTransactionId', ({ clientTransactionId: _omit, ...rest }) => rest],
      ['an unknown accountId', (b) => ({ ...b, accountId: 'nobody' })],
      ['from.businessType 0', (b) => ({ ...b, from: { ...b.from, businessType: 0 } })],
      ['businessType as a string', (b) => ({ ...b, from: { ...b.from, businessType: '2' } })],
      ['to.businessType 2', (b) => ({ ...b, to: { ...b.to, businessType: 2 } })],
      ['to.currency EUR', (b) => ({ ...b, to: { ...b.to, currency: 'EUR' } })],
      ['the EUR Infinity wallet as to.id', (b) => ({ ...b, to: { ...b.to, id: eurWallet(b.accountId) } })],
      ['a numeric amount', (b) => ({ ...b, amount: 1 })],
      ['a negative amount', (b) => ({ ...b, amount: '-1' })],
      ['a zero amount', (b) => ({ ...b, amount: '0' })],
      ['an exponent amount', (b) => ({ ...b, amount: '1e2' })],
      ['7 decimals of USDC', (b) => ({ ...b, amount: '1.0000001' })],
      ['a leading zero', (b) => ({ ...b, amount: '01' })],
      ['an array body', (b) => [b]],
    ];

    it.each(cases)('answers 400 with a reason for %s and moves nothing', async (_name, mutate) => {
      const { sim, api } = harness;
      const body = base();

      const res = await api.call('POST', PATH, { token, body: mutate(body) });

      expect(res.status).toBe(400);
      expect(res.body.code).not.toBe('000000');
      expect(res.body.message).toEqual(expect.any(String));
      expect(res.body.message.length).toBeGreaterThan(0);
      expect(sim.transfers()).toHaveLength(0);
    });

    it('answers 400 for a body that is not JSON', async () => {
      const res = await harness.api.call('POST', PATH, { token, rawBody: '{"clientTransactionId":' });

      expect(res.status).toBe(400);
      expect(res.body.code).not.toBe('000000');
    });
  });

  it('answers 404 with a non-success envelope on an unknown path', async () => {
    const res = await harness.api.call('POST', '/business/transfer/external', { token, body: {} });

    expect(res.status).toBe(404);
    expect(res.body.code).not.toBe('000000');
    expect(harness.sim.requests().at(-1)).toMatchObject({ endpoint: 'unknown', status: 404 });
  });
});

function eurWallet(accountId: string): string {
  const eur = harness.sim.infinityWallets(accountId).find((w) => w.currency === 'EUR');
  if (eur === undefined) throw new Error('no EUR wallet');
  return eur.id;
}
