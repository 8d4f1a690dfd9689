import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  callApi,
  READER_KEY,
  startMerchantStack,
  WRITE_ONLY_KEY,
  WRITER_KEY,
} from '../helpers/merchant-api.js';
import { ETH_ADDRESS, PAYOUT_ACCOUNT, PAYOUT_WALLET } from '../helpers/payouts.js';

// Attacks on the merchant API that HELD (green on main): header confusion, empty keys, scopes, payout
// idempotency with another body, error bodies.

type Stack = Awaited<ReturnType<typeof startMerchantStack>>;
let stack: Stack;
beforeAll(async () => {
  stack = await startMerchantStack('attack-held-api', {
    env: {
      PAYOUT_ACCOUNT_ID: PAYOUT_ACCOUNT,
      PAYOUT_WALLET_ID: PAYOUT_WALLET,
      PAYOUT_REQUIRE_APPROVAL: 'true',
    },
  });
});
afterAll(async () => {
  await stack.close();
});

const raw = (path: string, headers: Record<string, string>, method = 'GET', body?: unknown) =>
  fetch(`${stack.base}${path}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('held: authentication', () => {
  it.each([
    ['empty X-API-Key', { 'x-api-key': '' }],
    ['blank X-API-Key', { 'x-api-key': '   ' }],
    ['Bearer without a key', { authorization: 'Bearer ' }],
    ['Basic with the key', { authorization: `Basic ${WRITER_KEY}` }],
    ['the key hash instead of the key', { 'x-api-key': 'a'.repeat(64) }],
    [
      'a wrong X-API-Key beside a valid Bearer',
      { 'x-api-key': 'nope', authorization: `Bearer ${WRITER_KEY}` },
    ],
    ['two keys in one header', { 'x-api-key': `${WRITER_KEY}, ${READER_KEY}` }],
    ['the key with a suffix', { 'x-api-key': `${WRITER_KEY}x` }],
  ])('%s is 401', async (_name, headers) => {
    const answer = await raw('/wallets', headers);
    expect(answer.status).toBe(401);
  });

  it('a read key cannot create wallets, addresses or payouts; a write-only key can do nothing', async () => {
    for (const key of [READER_KEY, WRITE_ONLY_KEY]) {
      const wallet = await callApi(stack.base, 'POST', '/wallets', {
        key,
        body: { name: 'n', external_id: 'scope-1' },
      });
      const payout = await callApi(stack.base, 'POST', '/payouts', {
        key,
        body: { external_id: 'p-scope', amount: '10', currency: 'USDC', chain: 'ETH', address: ETH_ADDRESS },
      });
      expect([wallet.status, payout.status]).toEqual([403, 403]);
    }
    expect((await callApi(stack.base, 'GET', '/payouts', { key: WRITE_ONLY_KEY })).status).toBe(403);
    expect(stack.createCalls()).toHaveLength(0);
  });

  it('upper-case paths and HEAD still go through the auth', async () => {
    expect((await raw('/WALLETS', {})).status).toBe(401);
    expect((await raw('/wallets', {}, 'HEAD')).status).toBe(401);
  });
});

describe('held: payout idempotency and validation', () => {
  it('the same external_id with another amount, address case or amount spelling is refused, not merged', async () => {
    const body = {
      external_id: 'p-idem-1',
      amount: '10',
      currency: 'USDC',
      chain: 'ETH',
      address: ETH_ADDRESS,
    };
    const first = await stack.call('POST', '/payouts', body);
    const same = await stack.call('POST', '/payouts', body);
    expect([first.status, same.status]).toEqual([201, 200]);
    for (const other of [
      { ...body, amount: '11' },
      { ...body, amount: '10.00' },
      { ...body, address: ETH_ADDRESS.toLowerCase() },
      { ...body, chain: 'BASE' },
    ]) {
      const answer = await stack.call<{ error: { code: string } }>('POST', '/payouts', other);
      expect(answer.status).toBe(400);
    }
  });

  it.each([
    ['a number amount', { amount: 10 }],
    ['3 decimals', { amount: '10.001' }],
    ['negative', { amount: '-1' }],
    ['exponent', { amount: '1e3' }],
    ['an address of another chain', { address: 'TJRabPrwbZy45sbavfcjinPJC18kjpRTv8' }],
    ['a short EVM address', { address: '0x1234' }],
  ])('%s is refused', async (_name, change) => {
    const body = {
      external_id: `p-bad-${Math.random()}`,
      amount: '10',
      currency: 'USDC',
      chain: 'ETH',
      address: ETH_ADDRESS,
      ...change,
    };
    const answer = await stack.call('POST', '/payouts', body);
    expect(answer.status).toBe(400);
  });
});

describe('held: error bodies', () => {
  it('a 500 from Interlace refusing a creation carries no upstream message, stack or key', async () => {
    stack.sim.faults.enqueue(
      'cryptoconnect',
      { kind: 'business-error', code: '999', message: 'upstream-secret-text' },
      10,
    );
    const answer = await stack.call('POST', '/wallets', { name: 'n', external_id: 'err-1' });
    const text = JSON.stringify(answer.body);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(text).not.toContain('upstream-secret-text');
    expect(text).not.toMatch(/at .*\.ts:\d+/);
    expect(text).not.toContain(WRITER_KEY);
    stack.sim.faults.clear();
  });

  it('a body that is not JSON is a 400 in seed 002 format', async () => {
    const answer = await fetch(`${stack.base}/wallets`, {
      method: 'POST',
      headers: { 'x-api-key': WRITER_KEY, 'content-type': 'application/json' },
      body: '{"name": "n", ',
    });
    expect(answer.status).toBe(400);
    expect(await answer.json()).toMatchObject({ error: { code: 'invalid_request' } });
  });
});
