import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READER_KEY, startMerchantStack } from '../helpers/merchant-api.js';

type Stack = Awaited<ReturnType<typeof startMerchantStack>>;
type Wallet = {
  id: string;
  external_id: string;
  wallet_id: string;
  state: string;
  name: string;
  balances: unknown[];
  addresses: { address: string; currency: string; chain: string }[];
};
type ErrorBody = { error: { code: string; message: string; details: Record<string, unknown> } };

let stack: Stack;

beforeAll(async () => {
  // The worst reading of an undocumented reply: a repeated referenceId creates ANOTHER wallet. Only a
  // client that looks before it resends makes exactly one wallet against it.
  stack = await startMerchantStack('wallet-api', { simulator: { duplicateWalletReference: 'create' } });
});
afterAll(async () => {
  await stack.close();
});

const referencesOf = (externalId: string) =>
  stack
    .createCalls()
    .filter((call) => (call.body as { nickname?: string }).nickname === `Customer ${externalId}`)
    .map((call) => (call.body as { referenceId: string }).referenceId);

describe('POST /wallets', () => {
  it('creates a CryptoConnect wallet with a UUID v4 referenceId and answers 201 in seed 002 shape', async () => {
    const answer = await stack.call<Wallet>('POST', '/wallets', { name: 'Customer a-1', external_id: 'a-1' });

    expect(answer.status).toBe(201);
    expect(answer.body).toMatchObject({
      name: 'Customer a-1',
      external_id: 'a-1',
      state: 'active',
      balances: expect.any(Array),
      addresses: [],
      created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
    });
    const atInterlace = stack.sim.wallet(answer.body.wallet_id);
    expect(atInterlace).toMatchObject({
      accountId: stack.accountId,
      nickname: 'Customer a-1',
      master: false,
    });
    expect(atInterlace?.referenceId).toMatch(
      /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/,
    );
    // Who asked is the key's name, never the key.
    expect(await stack.redis.hget(stack.keys.wallet(answer.body.id), 'created_by')).toBe('api:backend');
    // The owner index names the customer for deposits into that wallet.
    expect(await stack.redis.hgetall(stack.keys.walletOwner(answer.body.wallet_id))).toEqual({
      id: answer.body.id,
      external_id: 'a-1',
      name: 'Customer a-1',
      mode: 'mor',
    });
  });

  it('answers 400 duplicate_external_id for an external_id already used, creating nothing', async () => {
    const first = await stack.call<Wallet>('POST', '/wallets', { name: 'Customer d-1', external_id: 'd-1' });
    const again = await stack.call<ErrorBody>('POST', '/wallets', {
      name: 'Customer d-1',
      external_id: 'd-1',
    });

    expect(first.status).toBe(201);
    expect(again.status).toBe(400);
    expect(again.body).toEqual({
      error: {
        code: 'duplicate_external_id',
        message: 'A wallet with this external_id already exists',
        details: { external_id: 'd-1' },
      },
    });
    expect(referencesOf('d-1')).toHaveLength(1);
  });

  it('two concurrent requests for one external_id: one Interlace wallet, one 201, one duplicate_external_id', async () => {
    stack.sim.faults.enqueue('cryptoconnect', { kind: 'latency', delayMs: 200 }, 1);
    const answers = await Promise.all(
      [1, 2].map(() => stack.call('POST', '/wallets', { name: 'Customer c-1', external_id: 'c-1' })),
    );

    expect(answers.map((a) => a.status).sort()).toEqual([201, 400]);
    expect(answers.find((a) => a.status === 400)?.body).toMatchObject({
      error: { code: 'duplicate_external_id' },
    });
    expect(new Set(referencesOf('c-1')).size).toBe(1);
    expect(stack.simWallets().filter((w) => w.nickname === 'Customer c-1')).toHaveLength(1);
  });

  it('finds the wallet a lost answer created (commit, then the connection drops) instead of creating a second', async () => {
    stack.sim.faults.enqueue('cryptoconnect', { kind: 'reset-after-commit' }, 1);
    const answer = await stack.call<Wallet>('POST', '/wallets', { name: 'Customer l-1', external_id: 'l-1' });

    expect(answer.status).toBe(201);
    const wallets = stack.simWallets().filter((w) => w.nickname === 'Customer l-1');
    expect(wallets).toHaveLength(1);
    expect(answer.body.wallet_id).toBe(wallets[0]!.id);
    // One create call only: after the lost answer the service listed the account's wallets and found it.
    expect(referencesOf('l-1')).toHaveLength(1);
  });

  it('after a 503 (lost answer, then Interlace down), the retried request finishes the same wallet', async () => {
    stack.sim.faults.enqueue('cryptoconnect', { kind: 'reset-after-commit' }, 1);
    stack.sim.faults.enqueue('cryptoconnect', { kind: 'http-503' }, 10);
    const failed = await stack.call<ErrorBody>('POST', '/wallets', {
      name: 'Customer r-1',
      external_id: 'r-1',
    });
    expect(failed.status).toBe(503);
    expect(failed.body.error).toMatchObject({
      code: 'service_unavailable',
      details: { external_id: 'r-1', upstream: 'http-5xx' },
    });
    const pending = await stack.call<{ data: Wallet[] }>('GET', '/wallets?external_id=r-1');
    expect(pending.body.data).toMatchObject([{ state: 'creating', wallet_id: null }]);

    stack.sim.faults.clear();
    const retried = await stack.call<Wallet>('POST', '/wallets', {
      name: 'Customer r-1',
      external_id: 'r-1',
    });

    expect(retried.status).toBe(201);
    expect(retried.body.id).toBe(failed.body.error.details.id);
    expect(stack.simWallets().filter((w) => w.nickname === 'Customer r-1')).toHaveLength(1);
    expect(new Set(referencesOf('r-1')).size).toBe(1);
    expect(referencesOf('r-1')).toHaveLength(1);
  });

  it('finds the wallet when the answer never comes (commit, then the call times out)', async () => {
    // INTERLACE_TIMEOUT_MS is 1000 in the test stack: the answer is held longer than that.
    stack.sim.faults.enqueue('cryptoconnect', { kind: 'timeout-after-commit', delayMs: 1_500 }, 1);
    const answer = await stack.call<Wallet>('POST', '/wallets', { name: 'Customer t-1', external_id: 't-1' });

    expect(answer.status).toBe(201);
    expect(stack.simWallets().filter((w) => w.nickname === 'Customer t-1')).toHaveLength(1);
    expect(referencesOf('t-1')).toHaveLength(1);
  });

  it("answers 503 with Interlace's Retry-After when it rate-limits, and creates nothing twice", async () => {
    stack.sim.faults.enqueue('cryptoconnect', { kind: 'rate-limit', retryAfterSeconds: 7 }, 1);
    const limited = await stack.call<ErrorBody>('POST', '/wallets', {
      name: 'Customer q-1',
      external_id: 'q-1',
    });
    expect(limited.status).toBe(503);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body.error.details).toMatchObject({ upstream: 'rate-limited', retry_after_s: 7 });

    const retried = await stack.call<Wallet>('POST', '/wallets', {
      name: 'Customer q-1',
      external_id: 'q-1',
    });
    expect(retried.status).toBe(201);
    expect(stack.simWallets().filter((w) => w.nickname === 'Customer q-1')).toHaveLength(1);
  });

  it.each([
    ['no name', { external_id: 'v-1' }, 'name'],
    ['an empty external_id', { name: 'n', external_id: '' }, 'external_id'],
    ['an external_id with a space', { name: 'n', external_id: 'a b' }, 'external_id'],
    ['a name over 100 characters', { name: 'n'.repeat(101), external_id: 'v-2' }, 'name'],
    ['an unknown field', { name: 'n', external_id: 'v-3', currency: 'USDC' }, 'currency'],
    ['a number as external_id', { name: 'n', external_id: 42 }, 'external_id'],
  ])(
    'answers 400 invalid_request for %s, naming the field, and stores nothing',
    async (_label, body, field) => {
      const answer = await stack.call<ErrorBody>('POST', '/wallets', body);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
      expect(
        stack.createCalls().filter((c) => (c.body as { nickname?: string }).nickname === 'n'),
      ).toHaveLength(0);
    },
  );

  it('answers 400 invalid_request for a body that is not JSON, or not an object', async () => {
    for (const body of ['{"name":', '[1]', '"text"']) {
      const answer = await stack.call<ErrorBody>('POST', '/wallets', body);
      expect(answer).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
    }
  });

  it('needs the write scope to create (403 forbidden), and a key (401 unauthorized)', async () => {
    const forbidden = await stack.call<ErrorBody>(
      'POST',
      '/wallets',
      { name: 'x', external_id: 's-1' },
      READER_KEY,
    );
    const anonymous = await stack.call<ErrorBody>(
      'POST',
      '/wallets',
      { name: 'x', external_id: 's-1' },
      null,
    );
    expect(forbidden).toMatchObject({ status: 403, body: { error: { code: 'forbidden' } } });
    expect(anonymous).toMatchObject({ status: 401, body: { error: { code: 'unauthorized' } } });
    expect(await stack.redis.exists(stack.keys.walletByExternalId('s-1'))).toBe(0);
  });
});

describe('GET /wallets', () => {
  it('shows a wallet with its balances and addresses, finds it by external_id, and pages the list', async () => {
    const created = await stack.call<Wallet>('POST', '/wallets', {
      name: 'Customer g-1',
      external_id: 'g-1',
    });
    const shown = await stack.call<Wallet>('GET', `/wallets/${created.body.id}`, undefined, READER_KEY);
    const found = await stack.call<{ data: Wallet[] }>(
      'GET',
      '/wallets?external_id=g-1',
      undefined,
      READER_KEY,
    );
    const none = await stack.call<{ data: Wallet[] }>(
      'GET',
      '/wallets?external_id=nobody',
      undefined,
      READER_KEY,
    );

    expect(shown).toMatchObject({ status: 200, body: { id: created.body.id, external_id: 'g-1' } });
    expect(shown.body.balances.length).toBeGreaterThan(0);
    expect(found.body.data).toMatchObject([{ id: created.body.id, wallet_id: created.body.wallet_id }]);
    expect(none.body).toEqual({ data: [], next_cursor: null });

    const ids: string[] = [];
    let cursor: string | null = null;
    do {
      const page: { body: { data: Wallet[]; next_cursor: string | null } } = await stack.call(
        'GET',
        `/wallets?limit=2${cursor ? `&cursor=${cursor}` : ''}`,
      );
      ids.push(...page.body.data.map((w) => w.id));
      cursor = page.body.next_cursor;
    } while (cursor !== null);
    expect(ids).toContain(created.body.id);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('answers 404 not_found for an unknown id and 400 for a bad query', async () => {
    expect(await stack.call('GET', '/wallets/8d6f2a51-0000-4000-8000-000000000000')).toMatchObject({
      status: 404,
      body: { error: { code: 'not_found' } },
    });
    expect(await stack.call('GET', '/wallets/not-a-uuid')).toMatchObject({ status: 404 });
    for (const query of ['limit=0', 'limit=201', 'cursor=zzz', 'colour=red']) {
      expect(await stack.call('GET', `/wallets?${query}`)).toMatchObject({
        status: 400,
        body: { error: { code: 'invalid_request' } },
      });
    }
  });

  it('answers 503 service_unavailable when Interlace cannot be reached for the balances', async () => {
    const created = await stack.call<Wallet>('POST', '/wallets', {
      name: 'Customer u-1',
      external_id: 'u-1',
    });
    stack.sim.faults.enqueue('cryptoconnect', { kind: 'http-502' }, 1);
    const answer = await stack.call<ErrorBody>('GET', `/wallets/${created.body.id}`);
    expect(answer).toMatchObject({ status: 503, body: { error: { code: 'service_unavailable' } } });
    expect(JSON.stringify(answer.body)).not.toContain('Bad Gateway');
  });
});

describe('POST /wallets/{id}/addresses', () => {
  it("creates a deposit address at Interlace; a customer's payment to it lands in the wallet", async () => {
    const created = await stack.call<Wallet>('POST', '/wallets', {
      name: 'Customer p-1',
      external_id: 'p-1',
    });
    const address = await stack.call<{ address: string; wallet: string }>(
      'POST',
      `/wallets/${created.body.id}/addresses`,
      { currency: 'usdc', chain: 'ETH' },
    );

    expect(address).toMatchObject({
      status: 201,
      body: { wallet: created.body.id, currency: 'USDC', chain: 'ETH', selected: true },
    });
    expect(address.body.address).toMatch(/^0x[0-9a-f]{40}$/);
    const shown = await stack.call<Wallet>('GET', `/wallets/${created.body.id}`);
    expect(shown.body.addresses.map((a) => a.address)).toContain(address.body.address);
    const deposit = stack.sim.depositToAddress({ address: address.body.address, amount: '12.5' });
    expect(deposit).toMatchObject({ walletId: created.body.wallet_id, currency: 'USDC', chain: 'ETH' });
  });

  it('answers 400 for a bad currency or chain, 404 for an unknown wallet, 403 without write', async () => {
    const created = await stack.call<Wallet>('POST', '/wallets', {
      name: 'Customer p-2',
      external_id: 'p-2',
    });
    const path = `/wallets/${created.body.id}/addresses`;
    expect(await stack.call('POST', path, { currency: 'US DC', chain: 'ETH' })).toMatchObject({
      status: 400,
      body: { error: { code: 'invalid_request', details: { field: 'currency' } } },
    });
    expect(await stack.call('POST', path, { currency: 'USDC' })).toMatchObject({
      status: 400,
      body: { error: { details: { field: 'chain' } } },
    });
    expect(
      await stack.call('POST', '/wallets/8d6f2a51-0000-4000-8000-000000000000/addresses', {
        currency: 'USDC',
        chain: 'ETH',
      }),
    ).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
    expect(await stack.call('POST', path, { currency: 'USDC', chain: 'ETH' }, READER_KEY)).toMatchObject({
      status: 403,
    });
  });
});

describe('POST /wallets on an account with more wallets than one list answer holds', () => {
  it('walks the pages (WALLET_LOOKUP_PAGE_SIZE) to find the wallet a lost answer created', async () => {
    const paged = await startMerchantStack('wallet-api-paged', {
      env: { WALLET_LOOKUP_PAGE_SIZE: '10' },
      simulator: { duplicateWalletReference: 'create' },
    });
    try {
      for (let i = 0; i < 25; i += 1) paged.sim.createWallet(paged.accountId, { nickname: `other ${i}` });
      paged.sim.faults.enqueue('cryptoconnect', { kind: 'reset-after-commit' }, 1);

      const answer = await paged.call<Wallet>('POST', '/wallets', {
        name: 'Customer pg-1',
        external_id: 'pg-1',
      });

      expect(answer.status).toBe(201);
      expect(paged.simWallets().filter((w) => w.nickname === 'Customer pg-1')).toHaveLength(1);
      const lists = paged.sim
        .requests()
        .filter((r) => r.method === 'GET' && r.path.endsWith('/cryptoconnect/wallets'));
      expect(lists.map((r) => r.query.page)).toEqual(['1', '2', '3']);
      expect(lists.every((r) => r.query.limit === '10')).toBe(true);
    } finally {
      await paged.close();
    }
  });
});
