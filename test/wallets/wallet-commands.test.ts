import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDepositStore } from '../../src/deposits/deposit-store.js';
import { InterlaceError } from '../../src/interlace/errors.js';
import type { CryptoConnectWallet } from '../../src/interlace/types.js';
import { createKeys } from '../../src/keys.js';
import { ApiError } from '../../src/merchant-api/api-error.js';
import { createWallet, type WalletCommandDeps } from '../../src/wallets/wallet-commands.js';
import { createWalletStore } from '../../src/wallets/wallet-store.js';
import { capturingLogger, testConfig } from '../helpers/config.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('wallet-commands');
let redis: Redis;

beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

const lost = () =>
  new InterlaceError({
    category: 'transient',
    reason: 'network',
    endpoint: 'POST /cryptoconnect/wallets',
    message: 'reset',
  });

/** Deps with a scripted Interlace: `create` and `list` answer from the given functions, counted. */
function depsWith(client: {
  create: () => Promise<CryptoConnectWallet>;
  list: () => Promise<{ list: CryptoConnectWallet[]; total: number | undefined }>;
}) {
  const keys = createKeys(prefix);
  const calls = { create: 0, list: 0 };
  /** The waits the command asked for (none really happen: the scripted Interlace needs no time). */
  const sleeps: number[] = [];
  const deps: WalletCommandDeps = {
    config: testConfig({
      MERCHANT_API_KEYS: `k:${'a'.repeat(64)}:read+write`,
      INTERLACE_ACCOUNT_ID: 'acct',
      INTERLACE_TIMEOUT_MS: '1000',
      WALLET_CREATE_SETTLE_MS: '2500',
    }),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    logger: capturingLogger().logger,
    wallets: createWalletStore(redis, keys),
    deposits: createDepositStore(redis, keys),
    client: {
      createCryptoConnectWallet: async () => {
        calls.create += 1;
        return client.create();
      },
      listCryptoConnectWalletsPage: async () => {
        calls.list += 1;
        return client.list();
      },
      getCryptoConnectWallet: async () => {
        throw new Error('not used');
      },
      createWalletAddress: async () => {
        throw new Error('not used');
      },
    },
  };
  return { deps, calls, sleeps };
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ApiError);
    return error as ApiError;
  }
  throw new Error('expected a refusal');
}

describe('createWallet against an Interlace whose list may be incomplete', () => {
  it('answers 503 and never sends a second create when a partial list does not show the wallet', async () => {
    const { deps, calls } = depsWith({
      create: () => Promise.reject(lost()),
      // Two wallets counted, one listed: the lost one may be the missing one.
      list: () => Promise.resolve({ list: [], total: 2 }),
    });

    const error = await refusal(createWallet(deps, { name: 'n', external_id: 'partial-1' }, 'test'));

    expect(error.code).toBe('service_unavailable');
    expect(calls).toEqual({ create: 1, list: 1 });
    expect(await deps.wallets.findByExternalId('partial-1')).toMatchObject({
      state: 'creating',
      create_sent: true,
      lease_until: 0,
    });
  });

  it('never sends a second create after one without an answer: 503, and the retry looks up, then creates with the same referenceId', async () => {
    const references: string[] = [];
    let first = true;
    const { deps, calls, sleeps } = depsWith({
      create: () => {
        if (first) {
          first = false;
          return Promise.reject(lost());
        }
        return Promise.resolve({
          id: 'w-1',
          accountId: 'acct',
          master: false,
          balances: [],
          addresses: [],
        } as CryptoConnectWallet);
      },
      list: () => Promise.resolve({ list: [], total: 0 }),
    });
    const spy = deps.client.createCryptoConnectWallet;
    deps.client.createCryptoConnectWallet = async (body) => {
      references.push(body.referenceId);
      return spy(body);
    };

    // The create's answer is lost: the request waits for a late commit to show, looks, finds nothing,
    // and answers 503 instead of sending the create again.
    const error = await refusal(createWallet(deps, { name: 'n', external_id: 'complete-1' }, 'test'));
    expect(error.code).toBe('service_unavailable');
    expect(calls).toEqual({ create: 1, list: 1 });
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThan(2_000);
    expect(sleeps[0]).toBeLessThanOrEqual(2_500);

    // The merchant's retry: the earlier create has settled, a complete list shows no wallet: one create.
    const { wallet } = await createWallet(deps, { name: 'n', external_id: 'complete-1' }, 'test');

    expect(wallet).toMatchObject({ wallet_id: 'w-1', state: 'active' });
    expect(calls).toEqual({ create: 2, list: 2 });
    expect(new Set(references).size).toBe(1);
  });

  it('looks the wallet up at once after a business refusal (a repeated referenceId) and finishes it', async () => {
    const wallet = {
      id: 'w-9',
      referenceId: '',
      accountId: 'acct',
      master: false,
      balances: [],
      addresses: [],
    };
    const { deps, calls, sleeps } = depsWith({
      create: () =>
        Promise.reject(
          new InterlaceError({
            category: 'permanent',
            reason: 'business-error',
            endpoint: 'POST /cryptoconnect/wallets',
            message: 'referenceId exists',
          }),
        ),
      list: () => Promise.resolve({ list: [wallet], total: 1 }),
    });
    deps.client.createCryptoConnectWallet = async (body) => {
      wallet.referenceId = body.referenceId;
      calls.create += 1;
      throw new InterlaceError({
        category: 'permanent',
        reason: 'business-error',
        endpoint: 'POST /cryptoconnect/wallets',
        message: 'referenceId exists',
      });
    };

    const created = await createWallet(deps, { name: 'n', external_id: 'refused-1' }, 'test');

    expect(created.wallet).toMatchObject({ wallet_id: 'w-9', state: 'active' });
    expect(calls).toEqual({ create: 1, list: 1 });
    expect(sleeps).toEqual([]);
  });
});

describe('createWallet with paged look-ups', () => {
  it('answers 503 without a second create when the pages end before total is reached', async () => {
    const { deps, calls } = depsWith({
      create: () => Promise.reject(lost()),
      // Every page empty although 30 wallets are counted: the look-up proves nothing.
      list: () => Promise.resolve({ list: [], total: 30 }),
    });
    const paged = {
      ...deps,
      config: { ...deps.config, merchantApi: { ...deps.config.merchantApi, lookupPageSize: 10 } },
    };

    const error = await refusal(createWallet(paged, { name: 'n', external_id: 'paged-1' }, 'test'));

    expect(error.code).toBe('service_unavailable');
    expect(calls).toEqual({ create: 1, list: 1 });
  });
});
