import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyAuth } from '../../src/merchant-api/api-key-auth.js';
import { apiKeyEntry, parseApiKeys } from '../../src/merchant-api/api-keys.js';
import { payoutRouter } from '../../src/payouts/payout-router.js';
import { ETH_ADDRESS, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// The merchant API's key auth (issue #10), with two keys named after their scopes.
const auth = apiKeyAuth(
  parseApiKeys(`${apiKeyEntry('w', 'writer', ['read', 'write'])},${apiKeyEntry('r', 'reader', ['read'])}`),
);

let stack: PayoutStack;
let server: Server;
let base: string;

beforeAll(async () => {
  stack = await startPayoutStack('payout-api', {
    env: { PAYOUT_REQUIRE_APPROVAL: 'true', PAYOUT_MAX_AMOUNT: '100' },
  });
  const app = express();
  app.use(payoutRouter({ ...stack.commands, auth }));
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  await stack.close();
});

async function call(method: string, path: string, key: string | undefined, body?: unknown) {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(key ? { 'x-api-key': key } : {}),
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
  });
  return {
    status: response.status,
    body: (await response.json()) as { error?: unknown; data?: { externalId: string }[]; payoutId?: string },
  };
}

const request = (externalId: string, more: Record<string, unknown> = {}) => ({
  external_id: externalId,
  amount: '25.00',
  currency: 'USDC',
  chain: 'ETH',
  address: ETH_ADDRESS,
  ...more,
});

describe('POST /payouts', () => {
  it('creates a payout (201), answers the same one for a repeat (200), and 400 duplicate_external_id for another body', async () => {
    const created = await call('POST', '/payouts', 'writer', request('api-1'));
    const again = await call('POST', '/payouts', 'writer', request('api-1'));
    const other = await call('POST', '/payouts', 'writer', request('api-1', { amount: '26.00' }));

    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      externalId: 'api-1',
      state: 'requested',
      amount: '25.00',
      funds: { at: 'infinity', amount: '25.00', currency: 'USD' },
    });
    expect(again).toMatchObject({ status: 200, body: { payoutId: created.body.payoutId } });
    // Who asked is the key's name, never the key.
    expect((created.body as { createdBy?: string }).createdBy).toBe('api:w');
    expect(other.status).toBe(400);
    expect(other.body.error).toMatchObject({
      code: 'duplicate_external_id',
      details: { field: 'external_id' },
    });
  });

  it('needs the write scope', async () => {
    expect((await call('POST', '/payouts', 'reader', request('api-2'))).status).toBe(403);
    expect((await call('POST', '/payouts', undefined, request('api-2'))).status).toBe(401);
    expect(await stack.payouts.idForExternal('api-2')).toBeUndefined();
  });

  it.each([
    ['over PAYOUT_MAX_AMOUNT', request('api-3', { amount: '100.01' }), 'amount'],
    ['a TRON address on ETH', request('api-4', { address: `T${'a'.repeat(33)}` }), 'address'],
    ['an amount as a number', request('api-5', { amount: 25 }), 'amount'],
  ])(
    'answers 400 invalid_request for %s, naming the field, and stores nothing',
    async (_label, body, field) => {
      const answer = await call('POST', '/payouts', 'writer', body);
      expect(answer.status).toBe(400);
      expect(answer.body.error).toMatchObject({ code: 'invalid_request', details: { field } });
      expect(await stack.payouts.idForExternal(String(body.external_id))).toBeUndefined();
    },
  );

  it('answers 400 for a body that is not JSON', async () => {
    const answer = await call('POST', '/payouts', 'writer', '{"external_id":');
    expect(answer).toMatchObject({ status: 400, body: { error: { code: 'invalid_request' } } });
  });
});

describe('GET /payouts', () => {
  it('shows one payout with its history and lists them by state, with the read scope', async () => {
    const created = await call('POST', '/payouts', 'writer', request('api-6'));
    const one = await call('GET', `/payouts/${created.body.payoutId}`, 'reader');
    const list = await call('GET', '/payouts?state=requested', 'reader');
    const missing = await call('GET', '/payouts/nope', 'reader');

    expect(one.body).toMatchObject({ payoutId: created.body.payoutId, history: [{ to: 'requested' }] });
    expect((list.body.data ?? []).map((p) => p.externalId)).toContain('api-6');
    expect(missing).toMatchObject({ status: 404, body: { error: { code: 'not_found' } } });
  });
});
