import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/keys.js';
import {
  createWalletStore,
  findByInterlaceWalletId,
  isWalletCursor,
  type WalletStore,
} from '../../src/wallets/wallet-store.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('wallet-store');
const keys = createKeys(prefix);
let redis: Redis;
let store: WalletStore;

beforeAll(() => {
  redis = connectTestRedis();
  store = createWalletStore(redis, keys);
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

const NOW = 1_767_000_000_000;

function reserveInput(externalId: string, more: Partial<Parameters<WalletStore['reserve']>[0]> = {}) {
  return {
    id: randomUUID(),
    name: `Customer ${externalId}`,
    externalId,
    referenceId: randomUUID(),
    accountId: 'acct-1',
    mode: 'mor' as const,
    now: NOW,
    leaseMs: 30_000,
    leaseToken: randomUUID(),
    ...more,
  };
}

describe('wallet store', () => {
  it('reserves an external_id once: concurrent reserves of one external_id leave one record', async () => {
    const inputs = Array.from({ length: 8 }, () => reserveInput('race-1'));
    const outcomes = await Promise.all(inputs.map((input) => store.reserve(input)));

    const created = outcomes.filter((o) => o.outcome === 'created');
    expect(created).toHaveLength(1);
    expect(outcomes.every((o) => o.id === created[0]!.id)).toBe(true);
    const record = await store.findByExternalId('race-1');
    expect(record).toMatchObject({ id: created[0]!.id, state: 'creating', wallet_id: '', mode: 'mor' });
    // The referenceId stored is the one of the request that won, chosen before any Interlace call.
    const winner = inputs.find((input) => input.id === created[0]!.id)!;
    expect(record?.reference_id).toBe(winner.referenceId);
  });

  it('lets a retry take over a creation only once its lease ran out, and only for the same name', async () => {
    const input = reserveInput('claim-1');
    await store.reserve(input);
    const retry = randomUUID();

    expect(
      await store.claim(input.id, { name: input.name, now: NOW + 1, leaseMs: 1, leaseToken: retry }),
    ).toEqual({
      outcome: 'busy',
    });
    expect(
      await store.claim(input.id, { name: 'Other', now: NOW + 60_000, leaseMs: 1, leaseToken: retry }),
    ).toEqual({ outcome: 'conflict' });
    expect(
      await store.markCreateSent(input.id, {
        leaseToken: input.leaseToken,
        now: NOW + 2,
        callBudgetMs: 1_000,
      }),
    ).toBe('ok');
    expect(await store.get(input.id)).toMatchObject({ create_sent: true, create_sent_at: NOW + 2 });
    expect(
      await store.claim(input.id, { name: input.name, now: NOW + 60_000, leaseMs: 1, leaseToken: retry }),
    ).toEqual({ outcome: 'claimed', referenceId: input.referenceId, sent: true });
    // The request the creation was taken from can no longer release the retry's lease.
    expect(await store.releaseLease(input.id, input.leaseToken)).toBe(false);
    expect(await store.releaseLease(input.id, retry)).toBe(true);
    expect(
      await store.claim(input.id, { name: input.name, now: NOW, leaseMs: 1, leaseToken: randomUUID() }),
    ).toMatchObject({ outcome: 'claimed' });
    expect(await store.claim(randomUUID(), { name: 'x', now: NOW, leaseMs: 1, leaseToken: retry })).toEqual({
      outcome: 'missing',
    });
  });

  it('records a create as sent only for the lease holder, and only while its lease covers the call', async () => {
    const input = reserveInput('mark-1', { leaseMs: 10_000 });
    await store.reserve(input);
    const mark = (leaseToken: string, now: number, callBudgetMs = 1_000) =>
      store.markCreateSent(input.id, { leaseToken, now, callBudgetMs });

    // Another request's token: refused, nothing written.
    expect(await mark(randomUUID(), NOW + 1)).toBe('lease-lost');
    // The holder, but its lease ends before the call could: refused (a retry may take over meanwhile).
    expect(await mark(input.leaseToken, NOW + 9_500)).toBe('lease-lost');
    expect(await mark(input.leaseToken, NOW + 20_000)).toBe('lease-lost');
    expect(await store.get(input.id)).toMatchObject({ create_sent: false, create_sent_at: 0 });

    // Taken over: the first holder's token no longer sends anything, the new one does.
    const retry = randomUUID();
    await store.claim(input.id, { name: input.name, now: NOW + 20_000, leaseMs: 10_000, leaseToken: retry });
    expect(await mark(input.leaseToken, NOW + 20_001)).toBe('lease-lost');
    expect(await mark(retry, NOW + 20_001)).toBe('ok');

    await store.activate(input.id, randomUUID(), NOW + 20_002);
    expect(await mark(retry, NOW + 20_003)).toBe('active');
    expect(await store.markCreateSent(randomUUID(), { leaseToken: retry, now: NOW, callBudgetMs: 1 })).toBe(
      'missing',
    );
  });

  it('activates a wallet with its Interlace id and writes the owner index read by attribution', async () => {
    const input = reserveInput('owner-1', { name: 'Player 1' });
    await store.reserve(input);
    const interlaceId = randomUUID();

    expect(await findByInterlaceWalletId(redis, keys, interlaceId)).toBeUndefined();
    expect(await store.activate(input.id, interlaceId, NOW + 5)).toBe('ok');

    expect(await store.get(input.id)).toMatchObject({
      state: 'active',
      wallet_id: interlaceId,
      updated: NOW + 5,
      created: NOW,
    });
    expect(await store.findByInterlaceWalletId(interlaceId)).toEqual({
      id: input.id,
      external_id: 'owner-1',
      name: 'Player 1',
    });
    // The key W2's accept script reads inside Lua: <prefix>:wallet-owner:<interlace wallet id>.
    // `mode` says under which INTERLACE_MODE the wallet counts as the service's (ownedWalletModes).
    expect(await redis.hgetall(`${prefix}:wallet-owner:${interlaceId}`)).toEqual({
      id: input.id,
      external_id: 'owner-1',
      name: 'Player 1',
      mode: 'mor',
    });
    expect(
      await store.claim(input.id, { name: 'Player 1', now: NOW + 60_000, leaseMs: 1, leaseToken: 't' }),
    ).toEqual({ outcome: 'active' });
    expect(await store.activate(input.id, randomUUID(), NOW + 6)).toBe('conflict');
    expect(await store.activate(input.id, interlaceId, NOW + 6)).toBe('ok');
  });

  it('adopts a master wallet once, with its owner index', async () => {
    const walletId = randomUUID();
    const input = {
      id: randomUUID(),
      externalId: `master-${walletId}`,
      name: 'Master Wallet',
      walletId,
      accountId: 'acct-1',
      mode: 'gateway' as const,
      now: NOW,
    };
    expect(await store.adopt(input)).toBe('created');
    expect(await store.adopt({ ...input, id: randomUUID() })).toBe('exists');
    expect(await store.findByExternalId(input.externalId)).toMatchObject({
      id: input.id,
      state: 'active',
      mode: 'gateway',
      wallet_id: walletId,
    });
    expect(await findByInterlaceWalletId(redis, keys, walletId)).toMatchObject({ id: input.id });
  });
});

describe('wallet store list', () => {
  it('pages through every wallet once, oldest first, even with equal creation times', async () => {
    const listPrefix = uniquePrefix('wallet-list');
    const listStore = createWalletStore(redis, createKeys(listPrefix));
    const ids: string[] = [];
    for (let i = 0; i < 7; i += 1) {
      const input = { ...reserveInput(`list-${i}`), now: NOW + Math.floor(i / 3) };
      await listStore.reserve(input);
      ids.push(input.id);
    }
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await listStore.list({ limit: 2, ...(cursor ? { cursor } : {}) });
      seen.push(...page.wallets.map((w) => w.id));
      cursor = page.nextCursor;
      if (cursor) expect(isWalletCursor(cursor)).toBe(true);
      pages += 1;
    } while (cursor !== undefined && pages < 10);

    expect(pages).toBe(4);
    expect(seen).toHaveLength(7);
    expect(new Set(seen)).toEqual(new Set(ids));
    // Oldest first: the creation times never go down along the pages.
    const created = await Promise.all(seen.map(async (id) => (await listStore.get(id))!.created));
    expect(created).toEqual([...created].sort((a, b) => a - b));
    expect(isWalletCursor('not-a-cursor')).toBe(false);
    await deleteKeysWithPrefix(redis, listPrefix);
  });
});
