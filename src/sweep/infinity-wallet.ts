import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import type { InterlaceClient } from '../interlace/client.js';
import { InterlaceError } from '../interlace/errors.js';
import type { InfinityWallet } from '../interlace/types.js';

export type InfinityWalletResolver = {
  resolve(accountId: string): Promise<string>;
  forget(accountId: string): Promise<void>;
};

/**
 * Finds the account's Infinity USD wallet id (API-NOTES §3). It rarely changes, so it is cached in
 * memory and in Redis: in steady state a sweep costs one Interlace call, the transfer.
 */
export function createInfinityWalletResolver(deps: {
  client: Pick<InterlaceClient, 'listInfinityWallets'>;
  redis: Redis;
  keys: Keys;
  ttlMs: number;
}): InfinityWalletResolver {
  const memory = new Map<string, { id: string; until: number }>();
  // One look-up per account at a time: a burst of sweeps for a new account must not all call Interlace.
  const inflight = new Map<string, Promise<string>>();
  const lookUp = async (accountId: string): Promise<string> => {
    const key = deps.keys.infinityWallet(accountId);
    let id = deps.ttlMs > 0 ? await deps.redis.get(key) : null;
    if (!id) {
      id = pickUsdWallet(await deps.client.listInfinityWallets(accountId), accountId);
      if (deps.ttlMs > 0) await deps.redis.set(key, id, 'PX', deps.ttlMs);
    }
    if (deps.ttlMs > 0) memory.set(accountId, { id, until: Date.now() + deps.ttlMs });
    return id;
  };
  return {
    async resolve(accountId) {
      const hit = memory.get(accountId);
      if (hit && hit.until > Date.now()) return hit.id;
      let pending = inflight.get(accountId);
      if (!pending) {
        pending = lookUp(accountId).finally(() => inflight.delete(accountId));
        inflight.set(accountId, pending);
      }
      return pending;
    },
    async forget(accountId) {
      memory.delete(accountId);
      await deps.redis.del(deps.keys.infinityWallet(accountId));
    },
  };
}

/** The USD entry of type 0 (`walletType` or, in a newer doc revision, `objectType`). */
export function pickUsdWallet(wallets: readonly InfinityWallet[], accountId: string): string {
  const usd = wallets.find(
    (wallet) =>
      wallet.currency === 'USD' &&
      (wallet.walletType ?? wallet.objectType ?? 0) === 0 &&
      (wallet.accountId === undefined || wallet.accountId === accountId),
  );
  if (!usd) {
    throw new InterlaceError({
      category: 'permanent',
      reason: 'no-infinity-wallet',
      endpoint: 'GET /cards/wallets',
      message: `account ${accountId} has no Infinity USD wallet`,
    });
  }
  return usd.id;
}
