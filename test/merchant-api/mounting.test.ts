import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi } from '../../src/server.js';
import { capturingLogger, testConfig } from '../helpers/config.js';
import { callApi, MERCHANT_API_KEYS, READER_KEY } from '../helpers/merchant-api.js';
import { freePort } from '../helpers/ports.js';
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('merchant-mount');
let redis: Redis;

beforeAll(() => {
  redis = connectTestRedis();
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  redis.disconnect();
});

const base = { REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix };

describe('where the merchant API is served', () => {
  it('is off without MERCHANT_API_KEYS: /wallets, /payouts and /openapi.json are the plain 404', async () => {
    const api = await startApi(testConfig(base), capturingLogger('silent').logger);
    try {
      for (const path of ['/wallets', '/payouts', '/openapi.json']) {
        const answer = await callApi(api.url, 'GET', path, { key: READER_KEY });
        expect(answer).toMatchObject({ status: 404, body: { error: 'not-found' } });
      }
    } finally {
      await api.close();
    }
  });

  it('with ADMIN_PORT, is on the public port beside the webhook, never on the admin port', async () => {
    const api = await startApi(
      testConfig({
        ...base,
        MERCHANT_API_KEYS,
        INTERLACE_ACCOUNT_ID: 'acct-mount',
        ADMIN_PORT: String(await freePort()),
        ADMIN_HOST: '127.0.0.1',
      }),
      capturingLogger('silent').logger,
    );
    try {
      expect((await callApi(api.url, 'GET', '/wallets', { key: READER_KEY })).status).toBe(200);
      expect((await callApi(api.url, 'GET', '/wallets')).status).toBe(401);
      expect((await callApi(api.url, 'GET', '/openapi.json')).body).toMatchObject({ openapi: '3.1.0' });
      expect((await callApi(api.adminUrl, 'GET', '/wallets', { key: READER_KEY })).status).toBe(404);
      expect((await callApi(api.adminUrl, 'GET', '/openapi.json')).status).toBe(404);
      // Other paths stay as they were: the public port's plain 404, not the API's error format.
      expect((await callApi(api.url, 'GET', '/metrics')).body).toEqual({ error: 'not-found' });
    } finally {
      await api.close();
    }
  });
});
