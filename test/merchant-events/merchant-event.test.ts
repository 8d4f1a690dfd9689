import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Webhook } from 'standardwebhooks';
import {
  eventFromOutbox,
  merchantDeposit,
  merchantEventId,
  signMerchantEvent,
} from '../../src/merchant-events/merchant-event.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;

describe('a merchant event on the wire', () => {
  it('is signed exactly as the standardwebhooks package signs and verifies', () => {
    const event = { eventId: 'evt_1764610000000_0', body: '{"id":"evt_1764610000000_0","amount":"1.50"}' };
    const now = 1_764_610_000;
    const headers = signMerchantEvent(SECRET, event, now + 0.7);
    expect(headers['webhook-id']).toBe(event.eventId);
    expect(headers['webhook-timestamp']).toBe(String(now));
    const webhook = new Webhook(SECRET);
    expect(headers['webhook-signature']).toBe(webhook.sign(event.eventId, new Date(now * 1000), event.body));
    expect(() =>
      new Webhook(SECRET).verify(event.body, signMerchantEvent(SECRET, event, Date.now() / 1000)),
    ).not.toThrow();
  });

  it('is built from the outbox entry: id from the stream id, the snapshot as the merchant sees it', () => {
    const snapshot = {
      depositId: 'd-1',
      state: 'swept' as const,
      upstreamStatus: 'CLOSED',
      currency: 'USDT',
      amount: '100.000001',
      walletId: 'cc-1',
      walletRecordId: 'w-1',
      externalId: 'cust-1',
      walletName: 'Dana',
      accountId: 'acc-1',
      transferId: 't-1',
      feeTotal: '0.5',
      feeCurrency: 'USD',
      netAmount: '99.500001',
      netCurrency: 'USD',
      clientTransactionId: 'internal',
      attempts: '2',
      firstSeenAt: '1764610000000',
      updatedAt: '1764610001000',
    };
    const job = eventFromOutbox('1764610001000-3', {
      type: 'deposit.swept',
      depositId: 'd-1',
      at: '1764610001000',
      deposit: JSON.stringify(snapshot),
    });
    expect(job.eventId).toBe(merchantEventId('1764610001000-3'));
    expect(job.eventId).toBe('evt_1764610001000_3');
    const body = JSON.parse(job.body) as { id: string; type: string; timestamp: string; data: unknown };
    expect(body).toEqual({
      id: 'evt_1764610001000_3',
      type: 'deposit.swept',
      timestamp: '2025-12-01T17:26:41.000Z',
      data: merchantDeposit(snapshot),
    });
    expect(body.data).toMatchObject({ amount: '100.000001', net_amount: '99.500001', external_id: 'cust-1' });
    // Internal fields stay inside.
    expect(job.body).not.toContain('clientTransactionId');
    expect(job.body).not.toContain('internal');
  });
});
