import { createHmac } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { available, CLIENT_SECRET, Receiver, startSimulator, type Harness } from './helpers.js';

let harness: Harness;
let token: string;
let receiver: Receiver;

const ADDRESS = '0x89F9Cfaa0dA076351DdfC6E320bD8df8b538dB17';

beforeEach(async () => {
  harness = await startSimulator();
  token = await harness.api.token();
  receiver = new Receiver();
  harness.sim.setWebhookUrl(await receiver.start());
});
afterEach(async () => {
  await harness.sim.close();
  await receiver.stop();
});

/** An account with 100 USD in Infinity and one (default) CryptoConnect wallet. */
function account(usd = '100') {
  const { sim } = harness;
  const created = sim.createAccount({ usdAvailable: usd });
  const wallet = sim.createWallet(created.accountId, { nickname: 'payouts' });
  return { ...created, walletId: wallet.id };
}

function fundingBody(a: ReturnType<typeof account>, amount = '10', toId = a.accountId, id = 'fund-1') {
  return {
    clientTransactionId: id,
    accountId: a.accountId,
    from: { businessType: 0, currency: 'USD', id: a.infinityWalletId },
    to: { businessType: 2, id: toId, currency: 'USD' },
    amount,
  };
}

function tradeBody(a: ReturnType<typeof account>, amount = '10', referenceId = 'trade-1') {
  return {
    referenceId,
    accountId: a.accountId,
    baseCurrency: 'USDC',
    quoteCurrency: 'USD',
    side: 'BUY',
    rfqCurrency: 'USD',
    rfqAmount: amount,
  };
}

function withdrawBody(a: ReturnType<typeof account>, amount = '9.95', key = 'withdraw-1', address = ADDRESS) {
  return {
    idempotencyKey: key,
    source: { type: 'cryptoconnect_wallet', id: a.walletId },
    destination: { type: 'blockchain', chain: 'ETH', address },
    amount: { amount, currency: 'USDC' },
  };
}

async function fundAndConvert(a: ReturnType<typeof account>) {
  const { api } = harness;
  await api.call('POST', '/business/transfer/internal', { token, body: fundingBody(a) });
  await api.call('POST', '/cryptoconnect/convert/trades', { token, body: tradeBody(a) });
}

describe('step 1: Infinity USD -> CryptoConnect (businessType 0 -> 2)', () => {
  it('moves USD without a fee into the default wallet when to.id is the account id (the seed example)', async () => {
    const a = account();
    const res = await harness.api.call('POST', '/business/transfer/internal', {
      token,
      body: fundingBody(a),
    });

    expect(res.body).toMatchObject({
      code: '000000',
      data: {
        status: 'CLOSED',
        from: { amount: '10', businessType: 0 },
        to: { amount: '10', businessType: 2 },
      },
    });
    expect(harness.sim.infinityWallet(a.accountId)?.available).toBe('90');
    expect(available(harness.sim, a.walletId, 'USD')).toBe('10');
    expect(harness.sim.fundings()).toHaveLength(1);
    expect(harness.sim.transfers()).toHaveLength(0);
  });

  it('also takes the wallet id as to.id, and answers a repeated clientTransactionId with the original', async () => {
    const a = account();
    const body = fundingBody(a, '10', a.walletId);
    const first = await harness.api.call('POST', '/business/transfer/internal', { token, body });
    const again = await harness.api.call('POST', '/business/transfer/internal', { token, body });

    expect(again.body).toEqual(first.body);
    expect(harness.sim.infinityWallet(a.accountId)?.available).toBe('90');
  });

  it('refuses more than the Infinity balance with 100100001', async () => {
    const a = account('5');
    const res = await harness.api.call('POST', '/business/transfer/internal', {
      token,
      body: fundingBody(a),
    });
    expect(res.body.code).toBe('100100001');
    expect(available(harness.sim, a.walletId, 'USD')).toBe('0');
  });
});

describe('convert: currency-pair, estimate-quote and trades', () => {
  it('answers the pair minimum with the code 0 envelope', async () => {
    const res = await harness.api.call(
      'GET',
      '/cryptoconnect/convert/currency-pair?fromCurrency=USD&toCurrency=USDC',
      {
        token,
      },
    );
    expect(res.body).toEqual({
      code: 0,
      message: 'ok',
      data: { symbol: 'USDC-USD', baseCurrency: 'USDC', baseMin: '1', quoteCurrency: 'USD', quoteMin: '1' },
    });
  });

  it('previews 10 USD as 9.95 USDC with a 0.05 USD fee and moves nothing', async () => {
    const a = account();
    const { referenceId: _r, ...body } = tradeBody(a);
    const res = await harness.api.call('POST', '/cryptoconnect/convert/estimate-quote', { token, body });
    expect(res.body.data).toMatchObject({
      baseAmount: '9.95',
      quoteAmount: '10',
      fee: '0.05',
      ttlMs: '60000',
    });
    expect(harness.sim.trades()).toHaveLength(0);
  });

  it('re-quotes at trade time: the trade, not the preview, says what was bought', async () => {
    const a = account();
    await harness.api.call('POST', '/business/transfer/internal', { token, body: fundingBody(a) });
    const { referenceId: _r, ...preview } = tradeBody(a);
    const estimate = await harness.api.call<{ baseAmount: string }>(
      'POST',
      '/cryptoconnect/convert/estimate-quote',
      {
        token,
        body: preview,
      },
    );
    harness.sim.setConvertRate('USDC-USD', '1.01');
    const trade = await harness.api.call<{ baseAmount: string; status: string; baseWalletId: string }>(
      'POST',
      '/cryptoconnect/convert/trades',
      { token, body: tradeBody(a) },
    );

    expect(estimate.body.data.baseAmount).toBe('9.95');
    expect(trade.body.data).toMatchObject({
      baseAmount: '9.851485',
      status: 'COMPLETE',
      baseWalletId: a.walletId,
    });
    expect(available(harness.sim, a.walletId, 'USD')).toBe('0');
    expect(available(harness.sim, a.walletId, 'USDC')).toBe('9.851485');
  });

  it('answers a repeated referenceId with the original trade and converts once', async () => {
    const a = account();
    await fundAndConvert(a);
    const again = await harness.api.call('POST', '/cryptoconnect/convert/trades', {
      token,
      body: tradeBody(a),
    });
    expect(again.body.code).toBe('000000');
    expect(harness.sim.trades()).toHaveLength(1);
    expect(harness.sim.trades()[0]?.replays).toBe(1);
    expect(available(harness.sim, a.walletId, 'USDC')).toBe('9.95');
  });

  it('records a FAILED trade that moved nothing under a trade-failed fault', async () => {
    const a = account();
    await harness.api.call('POST', '/business/transfer/internal', { token, body: fundingBody(a) });
    harness.sim.faults.enqueue('trade', 'trade-failed');
    const res = await harness.api.call<{ status: string }>('POST', '/cryptoconnect/convert/trades', {
      token,
      body: tradeBody(a),
    });
    expect(res.body.data.status).toBe('FAILED');
    expect(available(harness.sim, a.walletId, 'USD')).toBe('10');
  });
});

describe('withdraw: fee-and-quota and blockchain transfers', () => {
  it('answers the GAS fee (code 0) and refuses an address that is not one of the chain', async () => {
    const a = account();
    const body = {
      accountId: a.accountId,
      source: { type: 'WALLET', id: a.walletId },
      destination: { type: 'BLOCKCHAIN', chain: 'ARB', address: ADDRESS },
      amount: { currency: 'USDC', amount: '10' },
    };
    const fee = await harness.api.call('POST', '/cryptoconnect/transfers/fee-and-quota', { token, body });
    const bad = await harness.api.call('POST', '/cryptoconnect/transfers/fee-and-quota', {
      token,
      body: { ...body, destination: { ...body.destination, address: 'T'.padEnd(34, 'x') } },
    });

    expect(fee.body).toMatchObject({
      code: 0,
      message: 'ok',
      data: { fees: [{ amount: '0.2', currency: 'USDC', type: 'GAS' }] },
    });
    expect(bad.body.code).toBe('100300001');
  });

  it('answers Pending without a hash, then notifies Pending and Closed (with the hash), signed', async () => {
    const a = account();
    await fundAndConvert(a);
    const closed = harness.sim.waitFor('withdrawal', (w) => w.status === 'Closed');
    const res = await harness.api.call<{ status: string; transactionHash?: string | null; id: string }>(
      'POST',
      '/cryptoconnect/transfers',
      { token, body: withdrawBody(a) },
    );
    expect(res.body).toMatchObject({ code: 0, data: { status: 'Pending' } });
    expect(available(harness.sim, a.walletId, 'USDC')).toBe('0');
    await closed;
    await harness.sim.waitUntil(() => receiver.received.length >= 2, 5_000);

    const statuses = receiver.received.map((r) => JSON.parse(JSON.parse(r.body).resource).status);
    expect(statuses).toEqual(['Pending', 'Closed']);
    const last = receiver.received[1]!;
    const resource = JSON.parse(last.body).resource as string;
    expect(last.headers['signature']).toBe(
      createHmac('sha256', CLIENT_SECRET).update(resource).digest('base64'),
    );
    expect(JSON.parse(resource)).toMatchObject({ id: res.body.data.id, idempotencyKey: 'withdraw-1' });
    expect(JSON.parse(resource).transactionHash).toMatch(/^0x[0-9a-f]{64}$/);
    expect(harness.sim.withdrawals()[0]?.arrives).toBe('9.75');
  });

  it('answers a repeated idempotencyKey with the same transfer and debits once', async () => {
    const a = account();
    await fundAndConvert(a);
    harness.sim.faults.enqueue('withdraw', 'withdraw-stuck');
    const first = await harness.api.call('POST', '/cryptoconnect/transfers', {
      token,
      body: withdrawBody(a),
    });
    const again = await harness.api.call('POST', '/cryptoconnect/transfers', {
      token,
      body: withdrawBody(a),
    });
    const conflict = await harness.api.call('POST', '/cryptoconnect/transfers', {
      token,
      body: withdrawBody(a, '1'),
    });
    expect(again.body).toEqual(first.body);
    expect(conflict.body.code).toBe('100100002');
    expect(harness.sim.withdrawals()).toHaveLength(1);
  });

  it('keeps a withdrawal Pending under withdraw-stuck until the control moves it', async () => {
    const a = account();
    await fundAndConvert(a);
    harness.sim.faults.enqueue('withdraw', 'withdraw-stuck');
    await harness.api.call('POST', '/cryptoconnect/transfers', { token, body: withdrawBody(a) });
    await harness.sim.waitUntil(() => receiver.received.length >= 1, 5_000);
    expect(harness.sim.withdrawals()[0]?.status).toBe('Pending');

    const id = harness.sim.withdrawals()[0]!.id;
    harness.sim.setWithdrawalStatus(id, 'Closed');
    expect(harness.sim.withdrawals()[0]?.status).toBe('Closed');
  });

  it('holds the money of an ON_HOLD withdrawal and gives back that of a Failed one', async () => {
    const a = account();
    await fundAndConvert(a);
    harness.sim.faults.enqueue('withdraw', 'withdraw-on-hold');
    const held = harness.sim.waitFor('withdrawal', (w) => w.status === 'ON_HOLD');
    await harness.api.call('POST', '/cryptoconnect/transfers', { token, body: withdrawBody(a, '5') });
    await held;
    harness.sim.faults.enqueue('withdraw', 'withdraw-failed');
    const failed = harness.sim.waitFor('withdrawal', (w) => w.status === 'Failed');
    await harness.api.call('POST', '/cryptoconnect/transfers', {
      token,
      body: withdrawBody(a, '4', 'withdraw-2'),
    });
    await failed;
    expect(available(harness.sim, a.walletId, 'USDC')).toBe('4.95');
  });

  it('takes GAS on top of the amount when configured so', async () => {
    await harness.sim.close();
    harness = await startSimulator({ withdrawGasMode: 'on-top' });
    token = await harness.api.token();
    const a = account();
    await fundAndConvert(a);
    await harness.api.call('POST', '/cryptoconnect/transfers', { token, body: withdrawBody(a, '9.75') });
    expect(available(harness.sim, a.walletId, 'USDC')).toBe('0');
    expect(harness.sim.withdrawals()[0]?.arrives).toBe('9.75');
  });
});
