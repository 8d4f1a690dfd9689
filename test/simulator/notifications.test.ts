import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DepositResource } from '../../src/interlace/types.js';
import { verifyResourceSignature } from '../../src/interlace/webhook-signature.js';
import { CLIENT_SECRET, Receiver, startSimulator, type Harness } from './helpers.js';

let harness: Harness;
let receiver: Receiver;
let receiverUrl: string;

beforeEach(async () => {
  harness = await startSimulator({ now: () => 1_756_879_969_964 });
  receiver = new Receiver();
  receiverUrl = await receiver.start();
});
afterEach(async () => {
  await harness.sim.close();
  await receiver.stop();
});

function closedDeposit() {
  const { sim } = harness;
  const { accountId } = sim.createAccount();
  const wallet = sim.createWallet(accountId);
  const deposit = sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: '10', txHash: '0xabc' });
  return { accountId, walletId: wallet.id, deposit };
}

describe('buildNotification', () => {
  it('builds the exact v3 envelope around the deposit resource, as a JSON string', () => {
    const { accountId, walletId, deposit } = closedDeposit();

    const built = harness.sim.buildNotification(deposit.id, { notificationId: 'n-1' });

    expect(built.envelope).toEqual({
      eventType: 'CRYPTO_CONNECT_TRANSFER.UPDATED',
      apiVersion: 'v3',
      code: '000000',
      message: '',
      resource: built.envelope.resource,
      createTime: '1756879969964',
      id: 'n-1',
    });
    expect(Object.keys(built.envelope)).toEqual([
      'eventType',
      'apiVersion',
      'code',
      'message',
      'resource',
      'createTime',
      'id',
    ]);
    expect(JSON.parse(built.envelope.resource)).toEqual({
      id: deposit.id,
      accountId,
      walletId,
      direction: 'IN',
      chain: 'ETH',
      currency: 'USDC',
      amount: '10',
      txHash: '0xabc',
      address: expect.stringMatching(/^0x[0-9a-f]{40}$/),
      status: 'CLOSED',
      createTime: '1756879969964',
      updateTime: '1756879969964',
    } satisfies DepositResource);
    expect(built.body).toBe(JSON.stringify(built.envelope));
  });

  it('signs the resource string with the webhook secret, verifiable by the receiver code', () => {
    const { deposit } = closedDeposit();

    const built = harness.sim.buildNotification(deposit.id);

    expect(built.headers).toEqual({
      'content-type': 'application/json',
      'Signature-Method': 'HMAC-SHA256',
      Signature: expect.stringMatching(/^[A-Za-z0-9+/]{43}=$/),
      Timestamp: '1756879969964',
    });
    expect(verifyResourceSignature(built.envelope.resource, built.headers['Signature'], CLIENT_SECRET)).toBe(
      true,
    );
    expect(verifyResourceSignature(built.envelope.resource, built.headers['Signature'], 'other')).toBe(false);
  });

  it('uses webhookSecret when set, and a per-call secret over both', async () => {
    const sim = (await startSimulator({ webhookSecret: 'hook-secret' })).sim;
    const { accountId } = sim.createAccount();
    const wallet = sim.createWallet(accountId);
    const deposit = sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: '1' });

    const byOption = sim.buildNotification(deposit.id);
    const byCall = sim.buildNotification(deposit.id, { secret: 'call-secret' });
    await sim.close();

    expect(
      verifyResourceSignature(byOption.envelope.resource, byOption.headers['Signature'], 'hook-secret'),
    ).toBe(true);
    expect(
      verifyResourceSignature(byCall.envelope.resource, byCall.headers['Signature'], 'call-secret'),
    ).toBe(true);
  });

  it('reports another status and eventType on request without changing the deposit', () => {
    const { deposit } = closedDeposit();

    const built = harness.sim.buildNotification(deposit.id, {
      status: 'PENDING',
      eventType: 'CRYPTO_CONNECT_TRANSFER.CREATED',
    });

    expect(built.envelope.eventType).toBe('CRYPTO_CONNECT_TRANSFER.CREATED');
    expect((JSON.parse(built.envelope.resource) as DepositResource).status).toBe('PENDING');
    expect(harness.sim.deposit(deposit.id)?.status).toBe('CLOSED');
  });

  it('gives each notification its own id unless one is given', () => {
    const { deposit } = closedDeposit();

    const a = harness.sim.buildNotification(deposit.id);
    const b = harness.sim.buildNotification(deposit.id);

    expect(a.envelope.id).not.toBe(b.envelope.id);
    expect(a.envelope.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('buildRawNotification', () => {
  it('wraps any event type, such as the doc sample CARD_TRANSACTION.CREATED, and signs it', () => {
    const resource = { id: '1234567890', accountId: 'ACC987654321', amount: '12.30' };

    const built = harness.sim.buildRawNotification('CARD_TRANSACTION.CREATED', resource, {
      notificationId: '60633733-2b0d-41a2-a6b4-12b3ba085428',
    });

    expect(built.envelope).toMatchObject({
      eventType: 'CARD_TRANSACTION.CREATED',
      resource: JSON.stringify(resource),
      id: '60633733-2b0d-41a2-a6b4-12b3ba085428',
    });
    expect(verifyResourceSignature(built.envelope.resource, built.headers['Signature'], CLIENT_SECRET)).toBe(
      true,
    );
  });

  it('sends a string resource byte for byte', () => {
    const resource = '{ "id" : "x",  "weird spacing": true }';

    const built = harness.sim.buildRawNotification('X.Y', resource);

    expect(built.envelope.resource).toBe(resource);
    expect(verifyResourceSignature(resource, built.headers['Signature'], CLIENT_SECRET)).toBe(true);
  });
});

describe('deliverNotification', () => {
  it('POSTs the body and headers and returns the receiver answer', async () => {
    const { deposit } = closedDeposit();

    const result = await harness.sim.deliverNotification(receiverUrl, deposit.id, { notificationId: 'n-9' });

    expect(result).toEqual({ status: 200, body: { received: true } });
    const [received] = receiver.received;
    expect(received?.headers['signature-method']).toBe('HMAC-SHA256');
    expect(received?.headers['timestamp']).toBe('1756879969964');
    expect(received?.headers['content-type']).toBe('application/json');
    const envelope = JSON.parse(received?.body ?? '{}') as { id: string; resource: string };
    expect(envelope.id).toBe('n-9');
    expect(
      verifyResourceSignature(envelope.resource, String(received?.headers['signature']), CLIENT_SECRET),
    ).toBe(true);
    expect(harness.sim.notifications()).toEqual([
      expect.objectContaining({
        notificationId: 'n-9',
        depositId: deposit.id,
        resourceStatus: 'CLOSED',
        status: 200,
      }),
    ]);
  });

  it('returns a non-2xx answer as it came, and rejects when nobody listens', async () => {
    const { deposit } = closedDeposit();
    receiver.answer = { status: 503, body: { received: false } };

    const refused = await harness.sim.deliverNotification(receiverUrl, deposit.id);
    await receiver.stop();
    const unreachable = harness.sim.deliverNotification(receiverUrl, deposit.id);

    expect(refused).toEqual({ status: 503, body: { received: false } });
    await expect(unreachable).rejects.toThrow();
    expect(harness.sim.notifications().at(-1)?.error).toEqual(expect.any(String));
  });

  it('re-sends a built notification unchanged, as Interlace retries do', async () => {
    const { deposit } = closedDeposit();
    const built = harness.sim.buildNotification(deposit.id);

    await harness.sim.postNotification(receiverUrl, built);
    await harness.sim.postNotification(receiverUrl, built);

    expect(receiver.received.map((r) => r.body)).toEqual([built.body, built.body]);
  });
});
