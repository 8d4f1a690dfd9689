import type { Redis } from 'ioredis';
import type { Keys } from '../keys.js';
import { scripts } from '../redis-scripts.js';
import { installScripts } from '../redis-script.js';

import type { WalletMode } from '../policy/deposit-policy.js';

/** Whether the service runs for a MoR merchant (it creates wallets) or a Gateway one (master wallets). */
export type { WalletMode };

/** `creating` until Interlace's wallet is known; `active` from then on. */
export type WalletState = 'creating' | 'active';

/** A merchant wallet as stored: one hash per wallet (keys.wallet); times are epoch milliseconds. */
export type WalletRecord = {
  /** This service's wallet id (a UUID), the `id` of the merchant API. */
  id: string;
  name: string;
  /** The merchant's own id for the wallet, unique across the service. */
  external_id: string;
  /** Interlace's CryptoConnect wallet id; '' while `creating`. */
  wallet_id: string;
  /** The referenceId (UUID v4) sent to Interlace's create call, chosen before the first call. */
  reference_id: string;
  account_id: string;
  mode: WalletMode;
  state: WalletState;
  created: number;
  updated: number;
  /** Set once a create call has been sent: a later request looks the wallet up before sending another. */
  create_sent: boolean;
  /** When the last create call was sent (epoch ms); 0 if none was. */
  create_sent_at: number;
  /** Until when a request holds the creation (epoch ms); 0 when no one does. */
  lease_until: number;
  /** Who asked for it: `api:<key name>`, `cli:<operator>`, or '' (adopted). */
  created_by: string;
};

/** What the owner index keeps per Interlace wallet: who the deposits into that wallet belong to. */
export type WalletOwner = { id: string; external_id: string; name: string };

export type ReserveOutcome = { outcome: 'created'; id: string } | { outcome: 'exists'; id: string };

export type ClaimOutcome =
  | { outcome: 'claimed'; referenceId: string; sent: boolean }
  | { outcome: 'active' | 'busy' | 'conflict' | 'missing' };

export type WalletPage = { wallets: WalletRecord[]; nextCursor: string | undefined };

export type WalletStore = ReturnType<typeof createWalletStore>;

/**
 * The merchant wallets: records, the external_id index (unique, written atomically with the record),
 * the creation-time index (paginated list) and the owner index by Interlace wallet id.
 */
export function createWalletStore(redis: Redis, keys: Keys) {
  installScripts(redis, scripts);

  return {
    /** Writes a new wallet in `creating` unless the external_id is taken (then answers its id). */
    async reserve(input: {
      id: string;
      name: string;
      externalId: string;
      referenceId: string;
      accountId: string;
      mode: WalletMode;
      /** Who asked: `api:<key name>` or `cli:<operator>` (never a key). */
      createdBy?: string;
      now: number;
      leaseMs: number;
      /** The request's own lease token: only it may send a create or release the lease. */
      leaseToken: string;
    }): Promise<ReserveOutcome> {
      const [outcome, id] = await scripts.walletReserve<[string, string]>(redis, {
        keys: {
          wallet: keys.wallet(input.id),
          byExternal: keys.walletByExternalId(input.externalId),
          byTime: keys.walletsByTime,
        },
        args: {
          id: input.id,
          now: input.now,
          leaseUntil: input.now + input.leaseMs,
          leaseToken: input.leaseToken,
        },
        rest: [
          'name',
          input.name,
          'external_id',
          input.externalId,
          'reference_id',
          input.referenceId,
          'account_id',
          input.accountId,
          'mode',
          input.mode,
          'wallet_id',
          '',
          'created_by',
          input.createdBy ?? '',
        ],
      });
      return { outcome: outcome as 'created' | 'exists', id };
    },

    /** Takes over an unfinished creation whose lease ran out (a retry of the same request). */
    async claim(
      id: string,
      input: { name: string; now: number; leaseMs: number; leaseToken: string },
    ): Promise<ClaimOutcome> {
      const [outcome, referenceId, sent] = await scripts.walletClaim<[string, string?, string?]>(redis, {
        keys: { wallet: keys.wallet(id) },
        args: {
          name: input.name,
          now: input.now,
          leaseUntil: input.now + input.leaseMs,
          leaseToken: input.leaseToken,
        },
      });
      if (outcome === 'claimed') return { outcome, referenceId: referenceId ?? '', sent: sent === '1' };
      return { outcome: outcome as 'active' | 'busy' | 'conflict' | 'missing' };
    },

    /**
     * Notes that a create call is about to be sent (before it is), so no later request sends blindly;
     * 'lease-lost' (nothing written: do not send) unless the lease is still this token's and covers
     * `callBudgetMs` from `now`.
     */
    async markCreateSent(
      id: string,
      input: { leaseToken: string; now: number; callBudgetMs: number },
    ): Promise<'ok' | 'lease-lost' | 'active' | 'missing'> {
      return scripts.walletMarkCreateSent<'ok' | 'lease-lost' | 'active' | 'missing'>(redis, {
        keys: { wallet: keys.wallet(id) },
        args: { leaseToken: input.leaseToken, now: input.now, callBudget: input.callBudgetMs },
      });
    },

    /** Ends a request's hold on a creation that did not finish (if still its own), so a retry may take it over. */
    async releaseLease(id: string, leaseToken: string): Promise<boolean> {
      const released = await scripts.walletReleaseLease<number>(redis, {
        keys: { wallet: keys.wallet(id) },
        args: { leaseToken },
      });
      return released === 1;
    },

    /** Records Interlace's wallet id and the owner index; 'conflict' if another one was recorded. */
    async activate(id: string, walletId: string, now: number): Promise<'ok' | 'missing' | 'conflict'> {
      return scripts.walletActivate<'ok' | 'missing' | 'conflict'>(redis, {
        keys: { wallet: keys.wallet(id), owner: keys.walletOwner(walletId) },
        args: { walletId, now },
      });
    },

    /** Stores a wallet found at Interlace (gateway mode's master wallets) unless its external_id exists. */
    async adopt(input: {
      id: string;
      externalId: string;
      name: string;
      walletId: string;
      accountId: string;
      mode: WalletMode;
      now: number;
    }): Promise<'created' | 'exists'> {
      return scripts.walletAdopt<'created' | 'exists'>(redis, {
        keys: {
          wallet: keys.wallet(input.id),
          byExternal: keys.walletByExternalId(input.externalId),
          byTime: keys.walletsByTime,
          owner: keys.walletOwner(input.walletId),
        },
        args: {
          id: input.id,
          externalId: input.externalId,
          name: input.name,
          walletId: input.walletId,
          mode: input.mode,
          now: input.now,
        },
        rest: ['account_id', input.accountId, 'reference_id', ''],
      });
    },

    async get(id: string): Promise<WalletRecord | undefined> {
      return parseRecord(await redis.hgetall(keys.wallet(id)));
    },

    async findByExternalId(externalId: string): Promise<WalletRecord | undefined> {
      const id = await redis.get(keys.walletByExternalId(externalId));
      return id === null ? undefined : parseRecord(await redis.hgetall(keys.wallet(id)));
    },

    findByInterlaceWalletId: (interlaceWalletId: string) =>
      findByInterlaceWalletId(redis, keys, interlaceWalletId),

    /**
     * One page of wallets, oldest first. The cursor is the last wallet's (created, id): stable while
     * wallets are added, because a new wallet sorts after every existing one of an earlier time.
     */
    async list(options: { limit: number; cursor?: string }): Promise<WalletPage> {
      const after = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
      const ids: string[] = [];
      let offset = 0;
      const batch = options.limit + 1;
      // Wallets created in the same millisecond share a score and sort by id; skip those up to the cursor.
      while (ids.length < batch) {
        const min = after === undefined ? '-inf' : String(after.created);
        const rows = await redis.zrangebyscore(
          keys.walletsByTime,
          min,
          '+inf',
          'WITHSCORES',
          'LIMIT',
          offset,
          batch,
        );
        if (rows.length === 0) break;
        for (let i = 0; i < rows.length; i += 2) {
          const id = rows[i]!;
          const score = Number(rows[i + 1]);
          if (after !== undefined && score === after.created && id <= after.id) continue;
          ids.push(id);
        }
        offset += rows.length / 2;
        if (rows.length / 2 < batch) break;
      }
      const page = ids.slice(0, options.limit);
      const pipeline = redis.pipeline();
      for (const id of page) pipeline.hgetall(keys.wallet(id));
      const results = (await pipeline.exec()) ?? [];
      const wallets = results
        .map(([error, value]) => (error ? undefined : parseRecord(value as Record<string, string>)))
        .filter((record): record is WalletRecord => record !== undefined);
      const last = wallets.at(-1);
      return {
        wallets,
        nextCursor: ids.length > options.limit && last ? encodeCursor(last.created, last.id) : undefined,
      };
    },
  };
}

/**
 * The merchant customer an Interlace CryptoConnect wallet belongs to, from the owner index; undefined
 * for a wallet this service neither created nor adopted.
 */
export async function findByInterlaceWalletId(
  redis: Redis,
  keys: Keys,
  interlaceWalletId: string,
): Promise<WalletOwner | undefined> {
  const owner = await redis.hgetall(keys.walletOwner(interlaceWalletId));
  if (owner.id === undefined) return undefined;
  return { id: owner.id, external_id: owner.external_id ?? '', name: owner.name ?? '' };
}

/** Whether a string is a cursor this store wrote (for a 400 instead of a silently wrong page). */
export function isWalletCursor(cursor: string): boolean {
  return decodeCursor(cursor) !== undefined;
}

function encodeCursor(created: number, id: string): string {
  return Buffer.from(`${created}:${id}`, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string): { created: number; id: string } | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const match = /^(\d{1,15}):([0-9a-f-]{36})$/.exec(text);
  return match ? { created: Number(match[1]), id: match[2]! } : undefined;
}

function parseRecord(hash: Record<string, string>): WalletRecord | undefined {
  if (hash.id === undefined || hash.state === undefined) return undefined;
  return {
    id: hash.id,
    name: hash.name ?? '',
    external_id: hash.external_id ?? '',
    wallet_id: hash.wallet_id ?? '',
    reference_id: hash.reference_id ?? '',
    account_id: hash.account_id ?? '',
    mode: hash.mode === 'gateway' ? 'gateway' : 'mor',
    state: hash.state === 'active' ? 'active' : 'creating',
    created: Number(hash.created),
    updated: Number(hash.updated),
    create_sent: hash.create_sent === '1',
    create_sent_at: Number(hash.create_sent_at ?? '0'),
    lease_until: Number(hash.lease_until ?? '0'),
    created_by: hash.created_by ?? '',
  };
}
