import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDepositStore } from '../../src/deposits/deposit-store.js';
import type { CryptoConnectWallet } from '../../src/interlace/types.js';
import { createKeys } from '../../src/keys.js';
import { adoptMasterWallets, type WalletCommandDeps } from '../../src/wallets/wallet-commands.js';
import { createWalletStore } from '../../src/wallets/wallet-store.js';
import { capturingLogger, testConfig } from '../helpers/config.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

// Attack (gateway attribution): a master wallet's external_id is derived from its balance lines
// (`master-<CURRENCY>` with exactly one, else `master-<Interlace id>`), and ADOPT_WALLET only checks that
// external_id, not the record's own id. When the lines change between two GET /wallets (no line before
// the first deposit, one after; or a second currency), the next adoption rewrites the EXISTING record and
// its owner index under another external_id: docs/wallets.md says "adopting again changes nothing", and
// the deposits of one wallet are then attributed to two customers' ids, with two external_id indexes
// pointing at one wallet.

const prefix = uniquePrefix('attack-adopt');
let redis: Redis;
beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

describe('adopting the same master wallet twice', () => {
  it('keeps the external_id it first adopted it under', async () => {
    const master = (balances: { currency: string; available: string }[]): CryptoConnectWallet => ({
      id: 'mw-usdc-1',
      accountId: 'acct',
      master: true,
      balances: balances as CryptoConnectWallet['balances'],
      addresses: [],
    });
    let answer = master([]);
    const unused = async (): Promise<never> => {
      throw new Error('not used');
    };
    const keys = createKeys(prefix);
    const deps: WalletCommandDeps = {
      config: testConfig({
        MERCHANT_API_KEYS: `k:${'a'.repeat(64)}:read+write`,
        INTERLACE_ACCOUNT_ID: 'acct',
        INTERLACE_MODE: 'gateway',
      }),
      logger: capturingLogger().logger,
      wallets: createWalletStore(redis, keys),
      deposits: createDepositStore(redis, keys),
      client: {
        listCryptoConnectWalletsPage: async () => ({ list: [answer], total: 1 }),
        createCryptoConnectWallet: unused,
        getCryptoConnectWallet: unused,
        createWalletAddress: unused,
      },
    };

    await adoptMasterWallets(deps);
    const first = await redis.hgetall(keys.walletOwner('mw-usdc-1'));

    answer = master([{ currency: 'USDC', available: '10' }]);
    await adoptMasterWallets(deps);
    const second = await redis.hgetall(keys.walletOwner('mw-usdc-1'));

    expect(second.external_id).toBe(first.external_id);
  });
});
