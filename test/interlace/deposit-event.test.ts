import { describe, expect, it } from 'vitest';
import { parseDepositNotification } from '../../src/interlace/deposit-event.js';
import type { WebhookEnvelope } from '../../src/interlace/types.js';

const TYPES = ['CRYPTO_CONNECT_TRANSFER.CREATED', 'CRYPTO_CONNECT_TRANSFER.UPDATED'];

function envelope(resource: unknown, eventType = 'CRYPTO_CONNECT_TRANSFER.UPDATED'): WebhookEnvelope {
  return {
    eventType,
    id: 'n-1',
    resource: typeof resource === 'string' ? resource : JSON.stringify(resource),
  };
}

const deposit = {
  id: '1986315238040416258',
  accountId: 'b27c8873-e400-47cd-adc1-035cfa0d5347',
  walletId: '32aae8b7-4a69-474f-b7d5-337e190af878',
  direction: 'IN',
  chain: 'ETH',
  currency: 'usdc',
  amount: '10.5',
  txHash: '0xabc',
  address: '0xdef',
  status: 'CLOSED',
  createTime: '1700620189590',
};

describe('parseDepositNotification', () => {
  it('turns a credited deposit into a DepositEvent, currency upper-cased, amount untouched', () => {
    const parsed = parseDepositNotification(envelope(deposit), TYPES);
    expect(parsed).toEqual({
      kind: 'deposit',
      deposit: expect.objectContaining({
        depositId: deposit.id,
        currency: 'USDC',
        amount: '10.5',
        status: 'CLOSED',
        notificationId: 'n-1',
      }),
    });
  });

  it('ignores other event types and withdrawals', () => {
    expect(parseDepositNotification(envelope(deposit, 'CARD_TRANSACTION.CREATED'), TYPES)).toEqual({
      kind: 'ignored',
      reason: 'event-type',
    });
    expect(parseDepositNotification(envelope({ ...deposit, direction: 'OUT' }), TYPES)).toEqual({
      kind: 'ignored',
      reason: 'direction-out',
    });
  });

  it.each([
    [
      'a withdrawal (blockchain transfer) resource',
      {
        source: { type: 'cryptoconnect_wallet', id: 'w' },
        destination: { type: 'blockchain', chain: 'ETH', address: '0x1' },
      },
    ],
    ['an idempotency key', { idempotencyKey: 'k-1' }],
    ['an amount object', { amount: { amount: '10', currency: 'USDC' } }],
  ])(
    'never takes a resource with %s for a deposit, whatever the (unsigned) event type says',
    (_name, patch) => {
      expect(parseDepositNotification(envelope({ ...deposit, ...patch }), TYPES)).toEqual({
        kind: 'ignored',
        reason: 'not-a-deposit',
      });
    },
  );

  it.each([
    ['no direction', undefined],
    ['an unknown direction', 'INBOUND'],
    ['a lower-case direction', 'in'],
  ])(
    'does not take a resource with %s for an incoming deposit: a dead letter, never swept',
    (_name, direction) => {
      const parsed = parseDepositNotification(envelope({ ...deposit, direction }), TYPES);
      expect(parsed).toMatchObject({ kind: 'invalid', depositId: deposit.id });
      expect(parsed.kind === 'invalid' ? parsed.reason : '').toMatch(/direction: .*only IN is a deposit/);
    },
  );

  it.each([
    ['amount in exponent form', { amount: '1e3' }, 'not a plain decimal'],
    ['negative amount', { amount: '-1' }, 'not a plain decimal'],
    ['NaN amount', { amount: 'NaN' }, 'not a plain decimal'],
    ['too many decimals for USDC', { amount: '0.1234567' }, 'USDC allows 6'],
    ['numeric amount', { amount: 10 }, 'decimal string'],
    ['missing deposit id', { id: undefined }, 'id'],
    ['missing wallet id', { walletId: undefined }, 'walletId'],
    ['id with a colon', { id: 'a:b' }, 'id'],
    ['empty status', { status: '' }, 'status'],
  ])('calls a notification with %s invalid', (_name, patch, reason) => {
    const parsed = parseDepositNotification(envelope({ ...deposit, ...patch }), TYPES);
    expect(parsed.kind).toBe('invalid');
    expect(parsed.kind === 'invalid' ? parsed.reason : '').toContain(reason);
  });

  it('passes an unknown status on to the ledger, which keeps it and never sweeps it (fail closed)', () => {
    expect(parseDepositNotification(envelope({ ...deposit, status: 'DONE' }), TYPES)).toMatchObject({
      kind: 'deposit',
      deposit: { depositId: deposit.id, status: 'DONE' },
    });
  });

  it('keeps the deposit id of an invalid deposit so the dead letter can name it', () => {
    expect(parseDepositNotification(envelope({ ...deposit, amount: '-1' }), TYPES)).toMatchObject({
      kind: 'invalid',
      depositId: deposit.id,
    });
  });

  it('calls a resource that is not a JSON object invalid', () => {
    expect(parseDepositNotification(envelope('{not json'), TYPES)).toMatchObject({
      kind: 'invalid',
      reason: 'resource is not valid JSON',
    });
    expect(parseDepositNotification(envelope('[1,2]'), TYPES)).toMatchObject({ kind: 'invalid' });
    expect(parseDepositNotification(envelope('null'), TYPES)).toMatchObject({ kind: 'invalid' });
  });

  it('is not fooled by prototype-pollution keys', () => {
    const parsed = parseDepositNotification(
      envelope(`{"__proto__":{"polluted":true},${JSON.stringify(deposit).slice(1)}`),
      TYPES,
    );
    expect(parsed.kind).toBe('deposit');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});
