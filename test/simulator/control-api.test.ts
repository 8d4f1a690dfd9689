import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { verifyResourceSignature } from '../../src/interlace/webhook-signature.js';
import { CLIENT_SECRET, Receiver, startSimulator, sweepBody, type Harness } from './helpers.js';

let harness: Harness;
let receiver: Receiver;
let receiverUrl: string;

beforeEach(async () => {
  harness = await startSimulator();
  receiver = new Receiver();
  receiverUrl = await receiver.start();
});
afterEach(async () => {
  await harness.sim.close();
  await receiver.stop();
});

type Json = Record<string, unknown>;

async function control<T = Json>(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const res = await fetch(`${harness.url}/_sim${path}`, {
    method,
    ...(body === undefined
      ? {}
      : {
          headers: { 'content-type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        }),
  });
  return { status: res.status, body: (await res.json()) as T };
}

describe('control API /_sim', () => {
  it('drives a whole deposit from another process: account, wallet, deposit, notifications, faults, sweep', async () => {
    const account = await control<{ accountId: string; infinityWalletId: string }>('POST', '/accounts', {
      usdAvailable: '100',
    });
    const wallet = await control<{ id: string }>('POST', '/wallets', { accountId: account.body.accountId });
    const deposit = await control<{ id: string; status: string }>('POST', '/deposits', {
      walletId: wallet.body.id,
      currency: 'USDC',
      amount: '10',
      status: 'PENDING',
    });
    const notified = await control<{ deliveries: Json[] }>('POST', `/deposits/${deposit.body.id}/notify`, {
      url: receiverUrl,
      statuses: ['PENDING', 'CLOSED'],
      copies: 2,
    });

    expect(account.status).toBe(201);
    expect(wallet.status).toBe(201);
    expect(deposit.body.status).toBe('PENDING');
    expect(notified.body.deliveries).toEqual([
      expect.objectContaining({ resourceStatus: 'PENDING', copy: 1, status: 200, body: { received: true } }),
      expect.objectContaining({ resourceStatus: 'PENDING', copy: 2, status: 200 }),
      expect.objectContaining({ resourceStatus: 'CLOSED', copy: 1, status: 200 }),
      expect.objectContaining({ resourceStatus: 'CLOSED', copy: 2, status: 200 }),
    ]);
    const ids = notified.body.deliveries.map((d) => d['notificationId']);
    expect(ids[0]).toBe(ids[1]);
    expect(ids[2]).toBe(ids[3]);
    expect(ids[0]).not.toBe(ids[2]);
    expect(receiver.received).toHaveLength(4);
    for (const received of receiver.received) {
      const envelope = JSON.parse(received.body) as { resource: string };
      expect(
        verifyResourceSignature(envelope.resource, String(received.headers['signature']), CLIENT_SECRET),
      ).toBe(true);
    }
    const walletAfter = await control<{ balances: Json[] }>('GET', `/wallets/${wallet.body.id}`);
    expect(walletAfter.body.balances).toContainEqual({ currency: 'USDC', available: '10', frozen: '0' });

    const faults = await control<{ pending: Json[] }>('POST', '/faults', {
      enqueue: { endpoint: 'transfer', fault: 'http-503' },
    });
    expect(faults.body.pending).toEqual([
      { endpoint: 'transfer', fault: { kind: 'http-503' }, remaining: 1 },
    ]);
    const token = await harness.api.token();
    const body = sweepBody({ ...account.body, walletId: wallet.body.id });
    const waiting = control<{ reached: boolean; transfers: number }>(
      'GET',
      '/wait?transfers=1&timeoutMs=5000',
    );
    const failed = await harness.api.call('POST', '/business/transfer/internal', { token, body });
    const swept = await harness.api.call('POST', '/business/transfer/internal', { token, body });

    expect(failed.status).toBe(503);
    expect(swept.body.code).toBe('000000');
    expect((await waiting).body).toEqual({ reached: true, transfers: 1, requests: expect.any(Number) });
    const transfers = await control<Json[]>('GET', '/transfers');
    expect(transfers.body).toEqual([expect.objectContaining({ amount: '10', fee: '0.05', net: '9.95' })]);
    const summary = await control<{ currencies: Record<string, Json>; usdCreditedTotal: string }>(
      'GET',
      '/summary',
    );
    expect(summary.body.currencies['USDC']).toEqual({
      deposited: '10',
      transferredOut: '10',
      fees: '0.05',
      usdCredited: '9.95',
      walletAvailable: '0',
    });
    const requests = await control<Json[]>('GET', '/requests');
    expect(requests.body.map((r) => [r['endpoint'], r['status']]).slice(-2)).toEqual([
      ['transfer', 503],
      ['transfer', 200],
    ]);
    const faultState = await control<{ stats: Json }>('GET', '/faults');
    expect(faultState.body.stats).toMatchObject({ 'http-503': 1, total: 1 });
  });

  it('expires tokens and resets everything on request', async () => {
    const { accountId } = harness.sim.createAccount({ accountId: 'acc-1' });
    const token = await harness.api.token();

    const expired = await control('POST', '/tokens/expire');
    const rejected = await harness.api.call('GET', `/cards/wallets?accountId=${accountId}&walletType=0`, {
      token,
    });
    const reset = await control('POST', '/reset');
    const gone = await control('GET', `/accounts/${accountId}`);

    expect(expired.status).toBe(200);
    expect(rejected.body.code).toBe('401003');
    expect(reset.body).toEqual({ ok: true });
    expect(gone.status).toBe(404);
    expect(harness.sim.requests()).toEqual([]);
  });

  it('sends a raw notification of any event type', async () => {
    const res = await control<{ deliveries: Json[] }>('POST', '/notifications', {
      url: receiverUrl,
      eventType: 'CARD_TRANSACTION.CREATED',
      resource: { id: 'c-1' },
    });

    expect(res.body.deliveries).toEqual([expect.objectContaining({ status: 200 })]);
    expect(JSON.parse(receiver.received[0]?.body ?? '{}')).toMatchObject({
      eventType: 'CARD_TRANSACTION.CREATED',
    });
  });

  it('reports an unreachable webhook URL as a delivery error, not a failure of the call', async () => {
    const { accountId } = harness.sim.createAccount();
    const wallet = harness.sim.createWallet(accountId);
    const deposit = harness.sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: '1' });
    await receiver.stop();

    const res = await control<{ deliveries: Json[] }>('POST', `/deposits/${deposit.id}/notify`, {
      url: receiverUrl,
    });

    expect(res.status).toBe(200);
    expect(res.body.deliveries).toEqual([
      expect.objectContaining({ status: null, error: expect.any(String) }),
    ]);
  });

  it('answers the long poll with reached false when the count is not reached in time', async () => {
    const res = await control<{ reached: boolean }>('GET', '/wait?transfers=3&timeoutMs=20');

    expect(res.body.reached).toBe(false);
  });

  it.each([
    ['a deposit with a bad amount', 'POST', '/deposits', { walletId: 'w', currency: 'USDC', amount: '1e3' }],
    ['a body that is not JSON', 'POST', '/accounts', '{"accountId":'],
    ['an unknown field', 'POST', '/accounts', { accountID: 'typo' }],
    ['a wallet without accountId', 'POST', '/wallets', {}],
    ['an unknown deposit status', 'POST', '/deposits/d-1/status', { status: 'DONE' }],
    ['an unknown fault kind', 'POST', '/faults', { enqueue: { endpoint: 'transfer', fault: 'meteor' } }],
    ['rates above 1', 'POST', '/faults', { rates: { http5xx: 2 } }],
    ['a notify URL that is not http', 'POST', '/deposits/d-1/notify', { url: 'ftp://x' }],
    ['a bad wait count', 'GET', '/wait?transfers=many', undefined],
  ] as const)('answers 400 with a reason for %s', async (_name, method, path, body) => {
    const res = await control<{ error: string; message: string }>(method, path, body);

    expect(res.status).toBe(400);
    expect(res.body).toEqual({ error: 'bad-request', message: expect.any(String) });
  });

  it('leaves the faults unchanged when part of a request is invalid', async () => {
    await control('POST', '/faults', {
      enqueue: [
        { endpoint: 'transfer', fault: 'http-500' },
        { endpoint: 'transfer', fault: 'nope' },
      ],
    });

    expect(harness.sim.faults.pending()).toEqual([]);
  });

  it('answers 404 for unknown deposits, wallets and paths', async () => {
    const deposit = await control('POST', '/deposits/missing/status', { status: 'CLOSED' });
    const wallet = await control('GET', '/wallets/missing');
    const path = await control('GET', '/nothing-here');

    expect([deposit.status, wallet.status, path.status]).toEqual([404, 404, 404]);
  });
});
