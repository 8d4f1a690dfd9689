import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDepositStore } from '../../src/deposits/deposit-store.js';
import { InterlaceError } from '../../src/interlace/errors.js';
import type { CreateWalletRequest, CryptoConnectWallet } from '../../src/interlace/types.js';
import { createKeys } from '../../src/keys.js';
import { createWallet, creationLeaseMs, type WalletCommandDeps } from '../../src/wallets/wallet-commands.js';
import { createWalletStore } from '../../src/wallets/wallet-store.js';
import { capturingLogger, testConfig } from '../helpers/config.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

// Attack (wallets): the creation lease is checked only at the top of each attempt. An attempt that
// starts inside its lease and whose look-up ends after it still sends its create call; meanwhile a
// retried POST /wallets has taken the creation over (the lease ran out) and sent its own. The lease
// bound (2 x attempts + 2) x INTERLACE_TIMEOUT_MS also ignores the client's renew-and-retry of a
// rejected token (up to 3 more timeouts per call). Interlace's Reply to a repeated referenceId is
// undocumented; under the "second wallet" reading (the simulator's duplicateWalletReference=create)
// one external_id gets two CryptoConnect wallets.
//
// A scripted Interlace (as test/wallets/wallet-commands.test.ts does) is needed to stop request A
// inside its look-up while request B runs: the simulator cannot hold an answer after running its handler.

const prefix = uniquePrefix('attack-lease');
let redis: Redis;
beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

describe('POST /wallets: a request whose lease ran out during its look-up', () => {
  it('never lets two requests send a create for one external_id', async () => {
    // Interlace: every create makes a wallet (the worst reading of a repeated referenceId).
    const atInterlace: CryptoConnectWallet[] = [];
    const make = (body: CreateWalletRequest): CryptoConnectWallet => {
      const wallet = {
        id: `w-${atInterlace.length + 1}`,
        referenceId: body.referenceId,
        accountId: body.accountId,
        master: false,
        balances: [],
        addresses: [],
      };
      atInterlace.push(wallet);
      return wallet;
    };
    const config = testConfig({
      MERCHANT_API_KEYS: `k:${'a'.repeat(64)}:read+write`,
      INTERLACE_ACCOUNT_ID: 'acct',
    });
    const leaseMs = creationLeaseMs(config);
    let now = 1_000_000;
    const keys = createKeys(prefix);
    const base = {
      config,
      logger: capturingLogger().logger,
      wallets: createWalletStore(redis, keys),
      deposits: createDepositStore(redis, keys),
      now: () => now,
      // The settle wait passes on the test's clock, not in real time.
      sleep: async (ms: number) => {
        now += ms;
      },
    };
    const unused = async (): Promise<never> => {
      throw new Error('not used');
    };

    // Request B: the merchant's retry, sent once request A's lease has run out.
    const depsB: WalletCommandDeps = {
      ...base,
      client: {
        createCryptoConnectWallet: async (body) => make(body),
        listCryptoConnectWalletsPage: async () => ({ list: [...atInterlace], total: atInterlace.length }),
        getCryptoConnectWallet: unused,
        createWalletAddress: unused,
      },
    };
    let answerB: Promise<unknown> | undefined;

    // Request A: its first create is lost (not committed); its look-up reads the (empty) list, then
    // takes long: the lease runs out and request B runs to its end before A's answer arrives.
    let creates = 0;
    const depsA: WalletCommandDeps = {
      ...base,
      client: {
        createCryptoConnectWallet: async (body) => {
          creates += 1;
          if (creates === 1)
            throw new InterlaceError({
              category: 'transient',
              reason: 'network',
              endpoint: 'POST /cryptoconnect/wallets',
              message: 'reset',
            });
          return make(body);
        },
        listCryptoConnectWalletsPage: async () => {
          const snapshot = { list: [...atInterlace], total: atInterlace.length };
          now += leaseMs + 1;
          answerB = createWallet(depsB, { name: 'n', external_id: 'lease-1' }, 'test').catch(
            (e: unknown) => e,
          );
          await answerB;
          return snapshot;
        },
        getCryptoConnectWallet: unused,
        createWalletAddress: unused,
      },
    };

    const answerA = await createWallet(depsA, { name: 'n', external_id: 'lease-1' }, 'test').catch(
      (e: unknown) => e,
    );
    await answerB;

    expect(answerB).toBeDefined();
    expect(answerA).toBeDefined();
    // One external_id, one CryptoConnect wallet.
    expect(atInterlace.map((w) => w.id)).toHaveLength(1);
  });
});
