import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Queue } from 'bullmq';
import express from 'express';
import type { Redis } from 'ioredis';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDepositStore } from '../../src/deposits/deposit-store.js';
import { createInterlaceClient } from '../../src/interlace/client.js';
import { createKeys } from '../../src/keys.js';
import { merchantApiRouter } from '../../src/merchant-api/merchant-api.js';
import type { openApiDocument } from '../../src/merchant-api/openapi.js';
import { createPayoutStore } from '../../src/payouts/payout-store.js';
import { PAYOUT_QUEUE, type PayoutJobData } from '../../src/queues/names.js';
import { createRedis, waitForRedis } from '../../src/redis.js';
import { createWalletStore } from '../../src/wallets/wallet-store.js';
import { ETH_ADDRESS } from '../helpers/payouts.js';
import {
  callApi,
  READER_KEY,
  WRITE_ONLY_KEY,
  startMerchantStack,
  WRITER_KEY,
  type ApiAnswer,
} from '../helpers/merchant-api.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

// Every answer below is a real one of the real routes (the whole stack over loopback, or the same
// router on a Redis that is down or holds keys of the wrong type), checked against the OpenAPI document
// the service serves. The last test checks that every documented status of every operation was seen.

type Stack = Awaited<ReturnType<typeof startMerchantStack>>;
type Doc = ReturnType<typeof openApiDocument>;
type Operation = { responses: Record<string, unknown> };

const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const PAYOUT_ACCOUNT = 'acct-contract-payouts';
const PAYOUT_WALLET = 'wallet-contract-payouts';
const UNKNOWN_ID = '8d6f2a51-0000-4000-8000-000000000000';

let stack: Stack;
let doc: Doc;
let ajv: Ajv2020;
const seen = new Set<string>();
const servers: Server[] = [];
let downBase: string;
let brokenBase: string;
let brokenRedis: Redis;
let brokenPrefix: string;
let downRedis: Redis;
const closers: (() => Promise<unknown>)[] = [];

beforeAll(async () => {
  stack = await startMerchantStack('contract', {
    env: { PAYOUT_ACCOUNT_ID: PAYOUT_ACCOUNT, PAYOUT_WALLET_ID: PAYOUT_WALLET },
  });
  stack.sim.createAccount({ accountId: PAYOUT_ACCOUNT, usdAvailable: '1000' });
  stack.sim.createWallet(PAYOUT_ACCOUNT, { walletId: PAYOUT_WALLET });
  // The document as served, not as imported: what a merchant's tooling reads.
  const served = await callApi<Doc>(stack.base, 'GET', '/openapi.json');
  expect(served.status).toBe(200);
  doc = served.body;
  ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
  ajv.addSchema({ ...doc, $id: 'merchant-api' });

  // The same router on a Redis connection that is down (the receiver's fail-fast role): 503s.
  downRedis = createRedis(stack.config.redisUrl, 'producer', 'test-contract-down');
  downRedis.on('error', () => undefined);
  await waitForRedis(downRedis, 10_000);
  downRedis.disconnect();
  downBase = await serve(routerOn(downRedis, stack.prefix));

  // ... and on a Redis whose keys have the wrong types: an unexpected failure, a 500.
  brokenRedis = connectTestRedis();
  brokenPrefix = uniquePrefix('contract-broken');
  const keys = createKeys(brokenPrefix);
  await brokenRedis.hset(keys.walletByExternalId('broken'), 'x', '1');
  await brokenRedis.set(keys.walletsByTime, 'x');
  await brokenRedis.set(keys.wallet(UNKNOWN_ID), 'x');
  await brokenRedis.hset(keys.payoutByExternalId('broken'), 'x', '1');
  await brokenRedis.set(keys.payoutsByTime, 'x');
  await brokenRedis.set(keys.payout('broken'), 'x');
  brokenBase = await serve(routerOn(brokenRedis, brokenPrefix));
});

afterAll(async () => {
  for (const server of servers) await new Promise((resolve) => server.close(resolve));
  for (const close of closers) await close();
  await deleteKeysWithPrefix(brokenRedis, brokenPrefix);
  brokenRedis.disconnect();
  await stack.close();
});

function routerOn(redis: Redis, prefix: string) {
  const keys = createKeys(prefix);
  const client = createInterlaceClient({ config: stack.config, redis, keys, logger: stack.logger });
  const payoutQueue = new Queue<PayoutJobData>(PAYOUT_QUEUE, { connection: connectTestRedis(), prefix });
  closers.push(async () => {
    client.close();
    await payoutQueue.close();
    await (await payoutQueue.client).quit();
  });
  return merchantApiRouter({
    logger: stack.logger,
    keys: stack.config.merchantApi.keys,
    wallets: {
      config: stack.config,
      logger: stack.logger,
      wallets: createWalletStore(redis, keys),
      deposits: createDepositStore(redis, keys),
      client,
    },
    payouts: {
      config: stack.config,
      logger: stack.logger,
      payouts: createPayoutStore(redis, keys),
      payoutQueue,
    },
  });
}

async function serve(router: express.Router): Promise<string> {
  const app = express();
  app.use(router);
  const server = app.listen(0, '127.0.0.1');
  servers.push(server);
  await new Promise((resolve) => server.once('listening', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** The JSON pointer of a response schema in the document, as an Ajv reference. */
function responseRef(path: string, method: string, status: number): string {
  const pointer = [
    'paths',
    path,
    method,
    'responses',
    String(status),
    'content',
    'application/json',
    'schema',
  ]
    .map((part) => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1')))
    .join('/');
  return `merchant-api#/${pointer}`;
}

/** Calls the API and checks the real answer against the document: its status is documented, its body valid. */
async function checked(
  base: string,
  method: 'get' | 'post',
  template: string,
  path: string,
  options: { key?: string | null; body?: unknown } = {},
): Promise<ApiAnswer<Record<string, unknown>>> {
  const key = options.key === undefined ? WRITER_KEY : options.key;
  const answer = await callApi(base, method.toUpperCase(), path, {
    ...(key === null ? {} : { key }),
    ...(options.body === undefined ? {} : { body: options.body }),
  });
  const operation = (doc.paths as Record<string, Record<string, Operation>>)[template]?.[method];
  expect(operation, `${method} ${template} is documented`).toBeDefined();
  expect(Object.keys(operation!.responses), `${method} ${template} documents ${answer.status}`).toContain(
    String(answer.status),
  );
  expect(answer.headers.get('content-type')).toMatch(/^application\/json/);
  const valid = ajv.validate({ $ref: responseRef(template, method, answer.status) }, answer.body);
  expect(
    valid,
    `${method} ${path} ${answer.status}: ${ajv.errorsText(ajv.errors)}\n${JSON.stringify(answer.body)}`,
  ).toBe(true);
  seen.add(`${method} ${template} ${answer.status}`);
  return answer;
}

const wallet = { name: 'Customer contract', external_id: 'contract-1' };
const payout = {
  external_id: 'contract-payout',
  amount: '25.00',
  currency: 'USDC',
  chain: 'ETH',
  address: ETH_ADDRESS,
};

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 and its schemas compile', () => {
    expect(doc.openapi).toBe('3.1.0');
    for (const name of Object.keys(doc.components.schemas)) {
      expect(() => ajv.getSchema(`merchant-api#/components/schemas/${name}`)).not.toThrow();
    }
  });
});

describe('the merchant API answers as documented', () => {
  let walletId = '';

  it('wallets: 201, 200, 400 (invalid and duplicate), 404', async () => {
    const created = await checked(stack.base, 'post', '/wallets', '/wallets', { body: wallet });
    expect(created.status).toBe(201);
    walletId = String(created.body.id);
    expect((await checked(stack.base, 'post', '/wallets', '/wallets', { body: wallet })).body).toMatchObject({
      error: { code: 'duplicate_external_id' },
    });
    expect((await checked(stack.base, 'post', '/wallets', '/wallets', { body: { name: '' } })).status).toBe(
      400,
    );

    expect((await checked(stack.base, 'get', '/wallets', '/wallets?limit=1')).status).toBe(200);
    expect((await checked(stack.base, 'get', '/wallets', '/wallets?external_id=contract-1')).status).toBe(
      200,
    );
    expect((await checked(stack.base, 'get', '/wallets', '/wallets?limit=x')).status).toBe(400);

    expect((await checked(stack.base, 'get', '/wallets/{id}', `/wallets/${walletId}`)).status).toBe(200);
    expect((await checked(stack.base, 'get', '/wallets/{id}', `/wallets/${UNKNOWN_ID}`)).status).toBe(404);

    const addresses = '/wallets/{id}/addresses';
    const body = { currency: 'USDC', chain: 'ETH' };
    expect(
      (await checked(stack.base, 'post', addresses, `/wallets/${walletId}/addresses`, { body })).status,
    ).toBe(201);
    expect(
      (
        await checked(stack.base, 'post', addresses, `/wallets/${walletId}/addresses`, {
          body: { chain: 'ETH' },
        })
      ).status,
    ).toBe(400);
    expect(
      (await checked(stack.base, 'post', addresses, `/wallets/${UNKNOWN_ID}/addresses`, { body })).status,
    ).toBe(404);

    const deposits = '/wallets/{id}/deposits';
    const paid = stack.sim.depositToAddress({
      address: stack.sim.wallet(String(created.body.wallet_id))!.addresses[0]!.address,
      amount: '3',
    });
    await stack.notify(paid.id);
    const listed = await checked(stack.base, 'get', deposits, `/wallets/${walletId}/deposits`);
    expect(listed.body.data).toHaveLength(1);
    expect((await checked(stack.base, 'get', deposits, `/wallets/${walletId}/deposits?limit=0`)).status).toBe(
      400,
    );
    expect((await checked(stack.base, 'get', deposits, `/wallets/${UNKNOWN_ID}/deposits`)).status).toBe(404);
  });

  it('payouts: 201, 200 (the same request), 400 (invalid and duplicate), 404', async () => {
    const created = await checked(stack.base, 'post', '/payouts', '/payouts', { body: payout });
    expect(created.status).toBe(201);
    expect((await checked(stack.base, 'post', '/payouts', '/payouts', { body: payout })).status).toBe(200);
    expect(
      (await checked(stack.base, 'post', '/payouts', '/payouts', { body: { ...payout, amount: '26.00' } }))
        .body,
    ).toMatchObject({ error: { code: 'duplicate_external_id' } });
    expect(
      (await checked(stack.base, 'post', '/payouts', '/payouts', { body: { ...payout, amount: 1 } })).status,
    ).toBe(400);
    expect((await checked(stack.base, 'get', '/payouts', '/payouts')).status).toBe(200);
    expect((await checked(stack.base, 'get', '/payouts', '/payouts?state=nope')).status).toBe(400);
    const id = String(created.body.payoutId);
    expect((await checked(stack.base, 'get', '/payouts/{id}', `/payouts/${id}`)).status).toBe(200);
    expect((await checked(stack.base, 'get', '/payouts/{id}', '/payouts/nope')).status).toBe(404);
  });

  const operations: ['get' | 'post', string, string, unknown][] = [
    ['post', '/wallets', '/wallets', { name: 'x', external_id: 'broken' }],
    ['get', '/wallets', '/wallets', undefined],
    ['get', '/wallets/{id}', `/wallets/${UNKNOWN_ID}`, undefined],
    [
      'post',
      '/wallets/{id}/addresses',
      `/wallets/${UNKNOWN_ID}/addresses`,
      { currency: 'USDC', chain: 'ETH' },
    ],
    ['get', '/wallets/{id}/deposits', `/wallets/${UNKNOWN_ID}/deposits`, undefined],
    ['post', '/payouts', '/payouts', { ...payout, external_id: 'broken' }],
    ['get', '/payouts', '/payouts', undefined],
    ['get', '/payouts/{id}', '/payouts/broken', undefined],
  ];

  it.each(operations)(
    '%s %s: 401 without a key or with an unknown one, 403 without a scope',
    async (method, template, path, body) => {
      const options = body === undefined ? {} : { body };
      expect((await checked(stack.base, method, template, path, { ...options, key: null })).status).toBe(401);
      expect(
        (await checked(stack.base, method, template, path, { ...options, key: 'isk_unknown' })).status,
      ).toBe(401);
      // Reads need `read`; creating needs `read` and `write` (seed 002): each key lacks one of them.
      const lacking = method === 'post' ? READER_KEY : WRITE_ONLY_KEY;
      expect((await checked(stack.base, method, template, path, { ...options, key: lacking })).status).toBe(
        403,
      );
    },
  );

  it.each(operations)(
    '%s %s: 503 service_unavailable when Redis is down',
    async (method, template, path, body) => {
      const answer = await checked(downBase, method, template, path, body === undefined ? {} : { body });
      expect(answer.status).toBe(503);
      expect(answer.body).toMatchObject({
        error: { code: 'service_unavailable', details: { upstream: 'redis' } },
      });
    },
  );

  it.each(operations)(
    '%s %s: 500 server_error on an unexpected failure, without internals',
    async (method, template, path, body) => {
      const answer = await checked(brokenBase, method, template, path, body === undefined ? {} : { body });
      expect(answer.status).toBe(500);
      expect(answer.body).toEqual({
        error: { code: 'server_error', message: 'internal error', details: {} },
      });
    },
  );

  it('checked every documented status of every operation against a real answer', () => {
    const documented: string[] = [];
    for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Operation>>)) {
      for (const [method, operation] of Object.entries(methods)) {
        for (const status of Object.keys(operation.responses)) documented.push(`${method} ${path} ${status}`);
      }
    }
    expect(documented.filter((entry) => !seen.has(entry))).toEqual([]);
  });
});
