import { afterAll, describe, expect, it } from 'vitest';
import { createInfinityWalletResolver, pickUsdWallet } from '../../src/sweep/infinity-wallet.js';
import { createKeys } from '../../src/keys.js';
import type { InfinityWallet } from '../../src/interlace/types.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

const redis = connectTestRedis();
const prefix = uniquePrefix('wallet-cache');
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

const wallets: InfinityWallet[] = [
  { id: 'eur-0', accountId: 'acc', currency: 'EUR', walletType: 0 },
  { id: 'usd-1', accountId: 'acc', currency: 'USD', walletType: 1 },
  { id: 'usd-0', accountId: 'acc', currency: 'USD', walletType: 0 },
];

describe('Infinity USD wallet look-up', () => {
  it('picks the USD entry of type 0 (walletType or objectType)', () => {
    expect(pickUsdWallet(wallets, 'acc')).toBe('usd-0');
    expect(pickUsdWallet([{ id: 'x', accountId: 'acc', currency: 'USD', objectType: 0 }], 'acc')).toBe('x');
    expect(() => pickUsdWallet(wallets.slice(0, 2), 'acc')).toThrow(/no Infinity USD wallet/);
  });

  it('asks Interlace once for a burst of concurrent sweeps of one account, then serves from cache', async () => {
    let calls = 0;
    let release: () => void = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const client = {
      listInfinityWallets: async () => {
        calls += 1;
        await gate;
        return wallets;
      },
    };
    const resolver = createInfinityWalletResolver({ client, redis, keys: createKeys(prefix), ttlMs: 60_000 });

    const burst = Promise.all(Array.from({ length: 50 }, () => resolver.resolve('acc')));
    release();

    expect(new Set(await burst)).toEqual(new Set(['usd-0']));
    expect(await resolver.resolve('acc')).toBe('usd-0');
    expect(calls).toBe(1);
  });
});
