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

  it('is built from the outbox entry: id from (deposit, type, state entered), the snapshot as the merchant sees it', () => {
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
    const job = eventFromOutbox({
      type: 'deposit.swept',
      depositId: 'd-1',
      state: 'swept',
      at: '1764610001000',
      deposit: JSON.stringify(snapshot),
    });
    expect(job.eventId).toBe(merchantEventId('d-1', 'deposit.swept', 'swept'));
    expect(job.eventId).toMatch(/^evt_[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    const body = JSON.parse(job.body) as { id: string; type: string; timestamp: string; data: unknown };
    expect(body).toEqual({
      id: job.eventId,
      type: 'deposit.swept',
      timestamp: '2025-12-01T17:26:41.000Z',
      data: merchantDeposit(snapshot),
    });
    expect(body.data).toMatchObject({ amount: '100.000001', net_amount: '99.500001', external_id: 'cust-1' });
    // Internal fields stay inside.
    expect(job.body).not.toContain('clientTransactionId');
    expect(job.body).not.toContain('internal');
  });

  it('has one id per (deposit, type, state entered), whenever and however often it is written', () => {
    const entry = (fields: Record<string, string>) =>
      eventFromOutbox({ at: '1764610001000', deposit: '{"depositId":"d-2","state":"held"}', ...fields });
    const held = entry({ type: 'deposit.held', depositId: 'd-2', state: 'held' });
    // Written again later (after Redis lost it): the same id.
    expect(
      entry({ type: 'deposit.held', depositId: 'd-2', state: 'held', at: '1764619999999' }).eventId,
    ).toBe(held.eventId);
    // An entry without `state` (written before it was added) takes it from its snapshot.
    expect(entry({ type: 'deposit.held', depositId: 'd-2' }).eventId).toBe(held.eventId);
    // Another deposit, type or state: another id.
    expect(entry({ type: 'deposit.held', depositId: 'd-3', state: 'held' }).eventId).not.toBe(held.eventId);
    expect(merchantEventId('d-2', 'deposit.failed', 'failed')).not.toBe(
      merchantEventId('d-2', 'deposit.failed', 'dead'),
    );
    // deposit.received names the deposit's first record, whatever state that was.
    expect(merchantEventId('d-2', 'deposit.received', 'pending')).toBe(
      merchantEventId('d-2', 'deposit.received', 'queued'),
    );
  });

  it("never passes Interlace's own words of a dead deposit's last error to the merchant", () => {
    const data = merchantDeposit({
      depositId: 'd-4',
      state: 'dead',
      reason: 'business-error: POST /business/transfer/internal: business error code 1002: Jane Doe frozen',
    });
    expect(data.reason).toBe(
      'business-error: the sweep failed for good; an operator decides what happens to the deposit',
    );
    expect(
      merchantDeposit({ depositId: 'd-5', state: 'held', reason: 'ON_HOLD: compliance hold at Interlace' })
        .reason,
    ).toBe('ON_HOLD: compliance hold at Interlace');
  });
});
