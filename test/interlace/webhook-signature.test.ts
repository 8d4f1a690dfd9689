import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { signResource, verifyResourceSignature } from '../../src/interlace/webhook-signature.js';
import { envelopeSchema } from '../../src/interlace/deposit-event.js';

// The shape of Interlace's documented sample notification (api-notifications page), with our own data.
const CARD_SAMPLE = JSON.stringify({
  eventType: 'CARD_TRANSACTION.CREATED',
  apiVersion: 'v3',
  code: '000000',
  message: '',
  resource: JSON.stringify({ id: '1234567890', accountId: 'ACC987654321', amount: '12.30', currency: 'USD' }),
  createTime: '1756879969964',
  id: '60633733-2b0d-41a2-a6b4-12b3ba085428',
});

describe('webhook signature (base64 HMAC-SHA256 of the resource string)', () => {
  const secret = 'whsec-test';

  it('matches an independent computation over the resource string as received', () => {
    const resource = '{"id":"1","amount":"10"}';
    const expected = createHmac('sha256', secret).update(resource).digest('base64');
    expect(signResource(resource, secret)).toBe(expected);
    expect(verifyResourceSignature(resource, expected, secret)).toBe(true);
  });

  it('rejects a wrong key, a tampered resource, a missing or malformed signature', () => {
    const resource = '{"id":"1","amount":"10"}';
    const signature = signResource(resource, secret);
    expect(verifyResourceSignature(resource, signature, 'other-key')).toBe(false);
    expect(verifyResourceSignature('{"id":"1","amount":"100"}', signature, secret)).toBe(false);
    // Re-serialising the resource (other spacing) is a different message: the bytes are what is signed.
    expect(verifyResourceSignature('{"id": "1", "amount": "10"}', signature, secret)).toBe(false);
    expect(verifyResourceSignature(resource, undefined, secret)).toBe(false);
    expect(verifyResourceSignature(resource, '', secret)).toBe(false);
    expect(verifyResourceSignature(resource, 'not base64!!', secret)).toBe(false);
    expect(verifyResourceSignature(resource, signature.slice(0, 20), secret)).toBe(false);
    expect(verifyResourceSignature(resource, 'A'.repeat(10_000), secret)).toBe(false);
  });

  it('reads at most 128 characters of header: a padded valid signature up to there, nothing past it', () => {
    const resource = '{"id":"1","amount":"10"}';
    const signature = signResource(resource, secret);
    const padded = (length: number) => ` ${signature}${' '.repeat(length - signature.length - 1)}`;
    expect(padded(128)).toHaveLength(128);
    expect(verifyResourceSignature(resource, padded(128), secret)).toBe(true);
    expect(verifyResourceSignature(resource, padded(129), secret)).toBe(false);
  });

  it('signs non-ASCII resources as UTF-8 bytes', () => {
    const resource = '{"memo":"café ✓"}';
    const expected = createHmac('sha256', secret).update(Buffer.from(resource, 'utf8')).digest('base64');
    expect(signResource(resource, secret)).toBe(expected);
    expect(verifyResourceSignature(resource, expected, secret)).toBe(true);
  });

  it("parses the doc's CARD_TRANSACTION.CREATED sample and verifies its signature", () => {
    const envelope = envelopeSchema.parse(JSON.parse(CARD_SAMPLE));
    expect(envelope.eventType).toBe('CARD_TRANSACTION.CREATED');
    expect(JSON.parse(envelope.resource)).toMatchObject({ id: '1234567890', accountId: 'ACC987654321' });
    expect(verifyResourceSignature(envelope.resource, signResource(envelope.resource, secret), secret)).toBe(
      true,
    );
  });
});
