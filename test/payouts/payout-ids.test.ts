import { afterAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/keys.js';
import { payoutIdFor, payoutStepId } from '../../src/payouts/payout-ids.js';
import { createPayoutStore } from '../../src/payouts/payout-store.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

// Attack review round 2, item 7: step idempotency values derive from the payout id, which derived from
// external_id alone; if Interlace scopes an idempotencyKey globally, two installations paying
// `order-1001` would collide. New payout ids derive under a namespace (PAYOUT_ID_NAMESPACE, by default the
// payout account id); existing payouts keep their ids (found by external id, never re-derived).

describe('payout ids under a namespace', () => {
  it('keeps the id payouts had before when there is no namespace (pinned: never change it)', () => {
    expect(payoutIdFor('order-1001')).toBe('02f716e0-0f3f-5087-b6e2-1454af765ab9');
    expect(payoutIdFor('order-1001', '')).toBe('02f716e0-0f3f-5087-b6e2-1454af765ab9');
    expect(payoutStepId(payoutIdFor('order-1001'), 'fund')).toBe('46b4b343-934c-5953-abcb-ce3931d01519');
  });

  it.each([
    ['acct-a', 'order-1001', 'acct-a', 'order-1001', true],
    ['acct-a', 'order-1001', 'acct-b', 'order-1001', false],
    ['acct-a', 'order-1001', '', 'order-1001', false],
    // The namespace is length-prefixed: no split of the same characters names the same payout.
    ['a', 'b:c', 'a:b', 'c', false],
  ] as const)('%s/%s and %s/%s name the same payout: %s', (ns1, ext1, ns2, ext2, same) => {
    expect(payoutIdFor(ext1, ns1) === payoutIdFor(ext2, ns2)).toBe(same);
    for (const step of ['fund', 'convert', 'send', 'refund'] as const)
      expect(payoutStepId(payoutIdFor(ext1, ns1), step) === payoutStepId(payoutIdFor(ext2, ns2), step)).toBe(
        same,
      );
  });
});

describe('creating a payout under a namespace', () => {
  const redis = connectTestRedis();
  const prefix = uniquePrefix('payout-ids');
  const store = createPayoutStore(redis, createKeys(prefix));
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });
  const request = {
    externalId: 'order-1001',
    amount: '10',
    currency: 'USDC',
    chain: 'ETH',
    address: `0x${'a'.repeat(40)}`,
  };
  const context = (idNamespace: string) => ({
    accountId: 'acct-a',
    walletId: 'w-1',
    createdBy: 'test',
    state: 'requested' as const,
    dailyLimit: '1000',
    now: Date.now(),
    idNamespace,
  });

  it("derives a new payout's id under the namespace; a payout created before keeps its id", async () => {
    const created = await store.create(request, context('acct-a'));
    expect(created).toEqual({ outcome: 'created', payoutId: payoutIdFor('order-1001', 'acct-a') });
    // The same request again, from a process with another namespace (an upgrade, another setting):
    // the payout that exists, never a second one under a new id.
    expect(await store.create(request, context(''))).toEqual({
      outcome: 'exists',
      payoutId: payoutIdFor('order-1001', 'acct-a'),
    });
    expect(await store.idForExternal('order-1001')).toBe(payoutIdFor('order-1001', 'acct-a'));
  });
});
