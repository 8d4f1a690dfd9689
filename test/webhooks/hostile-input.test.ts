import { connect } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { startApi, type Api } from '../../src/server.js';
import { createKeys } from '../../src/keys.js';
import { DEAD_LETTER_QUEUE, SWEEP_QUEUE } from '../../src/queues/names.js';
import { signResource } from '../../src/interlace/webhook-signature.js';
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { capturingLogger, testConfig, TEST_CLIENT_SECRET } from '../helpers/config.js';
import { depositResource, signedNotification } from '../helpers/notifications.js';

const prefix = uniquePrefix('hostile');
const keys = createKeys(prefix);
let api: Api;
let redis: Redis;
let sweepQueue: Queue;
let deadQueue: Queue;
let url: string;

beforeAll(async () => {
  api = await startApi(
    testConfig({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, LOG_LEVEL: 'silent' }),
    capturingLogger('silent').logger,
  );
  url = `${api.url}/webhooks/interlace`;
  redis = connectTestRedis();
  sweepQueue = new Queue(SWEEP_QUEUE, { connection: redis, prefix });
  deadQueue = new Queue(DEAD_LETTER_QUEUE, { connection: redis, prefix });
});
afterAll(async () => {
  await api.close();
  await sweepQueue.close();
  await deadQueue.close();
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

const ugly = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.string({ unit: 'grapheme', maxLength: 100 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    '\u0000',
    '\uffff',
    '\ud800',
    '1e309',
    'NaN',
    '-0',
    '💸'.repeat(50),
  ),
  fc.string({ minLength: 10_000, maxLength: 60_000 }),
);
const jsonish = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.double(),
    fc.integer(),
    ugly,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(
      fc.oneof(ugly, fc.constantFrom('__proto__', 'constructor', 'resource', 'eventType', 'id')),
      tie('value'),
      {
        maxKeys: 5,
      },
    ),
  ),
})).value;

const deepNesting = fc
  .integer({ min: 100, max: 20_000 })
  .map((depth) => '['.repeat(depth) + ']'.repeat(depth));
const brokenJson = fc.oneof(
  fc.string({ maxLength: 300 }),
  fc.constantFrom('{', '{"a":', '[1,2', '{"resource": "x"', '\u0000{}', 'null', '""', '1'),
);
const envelopeWithJunk = fc.record(
  {
    eventType: jsonish,
    id: jsonish,
    resource: fc.oneof(jsonish, ugly),
    apiVersion: jsonish,
    __proto__: jsonish,
    constructor: jsonish,
  },
  { requiredKeys: [] },
);
const signatureHeader = fc.oneof(
  fc.constant(undefined),
  fc.string({ maxLength: 100 }),
  fc.base64String({ maxLength: 44 }),
  // A genuine signature, but of another resource: a replayed header on a forged body.
  fc.constant(signResource(JSON.stringify(depositResource()), TEST_CLIENT_SECRET)),
);
const contentType = fc.oneof(
  fc.constant('application/json'),
  fc.constantFrom(
    'text/plain',
    'application/x-www-form-urlencoded',
    'multipart/form-data',
    'application/json; charset=utf-16',
    '',
  ),
  fc.string({ maxLength: 40 }),
);
const hostileRequest = fc.record({
  body: fc.oneof(
    brokenJson,
    deepNesting,
    envelopeWithJunk.map((value) => JSON.stringify(value)),
    jsonish.map((value) => JSON.stringify(value) ?? ''),
  ),
  signature: signatureHeader,
  signatureMethod: fc.option(fc.constantFrom('HMAC-SHA256', 'hmac-sha256', 'HMAC-MD5', 'none', ''), {
    nil: undefined,
  }),
  contentType,
});

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

function headersOf(request: {
  signature?: string;
  signatureMethod?: string;
  contentType: string;
}): Record<string, string> {
  const headers: Record<string, string> = {};
  // Header values that fetch itself refuses (control characters) are not requests a server can receive.
  const safe = (value: string) => value.replace(/[^\t\x20-\x7e]/g, '');
  if (request.contentType) headers['content-type'] = safe(request.contentType);
  if (request.signature !== undefined) headers.signature = safe(request.signature);
  if (request.signatureMethod !== undefined) headers['signature-method'] = request.signatureMethod;
  return headers;
}

function collectGarbage(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

async function storedState() {
  return {
    deposits: (await redis.eval(`return #redis.call('KEYS', ARGV[1])`, 0, `${prefix}:deposit:*`)) as number,
    events: await redis.xlen(keys.events),
    jobs: await sweepQueue.count(),
    dead: await deadQueue.count(),
  };
}

describe('POST /webhooks/interlace under hostile input', () => {
  // 10,000 requests take ~20 s on an idle 2-core machine; the timeout leaves room for a loaded CI run.
  it(
    'answers 10,000 generated unsigned or forged requests with a 4xx, stores nothing, and keeps its memory',
    { timeout: 240_000 },
    async () => {
      const statuses = new Map<number, number>();
      const send = async (request: ValueOf<typeof hostileRequest>) => {
        const response = await fetch(url, {
          method: 'POST',
          body: request.body,
          headers: headersOf(request),
        });
        await response.arrayBuffer();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        return response.status;
      };
      // Warm-up, then a heap baseline: what the run adds beyond that must be collectable.
      await fc.assert(
        fc.asyncProperty(hostileRequest, async (request) => (await send(request)) < 500),
        { numRuns: 300, seed: 7 },
      );
      collectGarbage();
      const heapBefore = process.memoryUsage().heapUsed;

      await fc.assert(
        fc.asyncProperty(hostileRequest, async (request) => {
          const status = await send(request);
          return status >= 400 && status < 500;
        }),
        { numRuns: 10_000, seed: 20261122 },
      );

      collectGarbage();
      const growthMb = (process.memoryUsage().heapUsed - heapBefore) / 1024 / 1024;
      expect(growthMb).toBeLessThan(30);
      expect(await storedState()).toEqual({ deposits: 0, events: 0, jobs: 0, dead: 0 });
      expect([...statuses.keys()].every((status) => status >= 400 && status < 500)).toBe(true);
      expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    },
  );

  it('never answers 5xx to signed notifications with hostile resources, and never sweeps an invalid one', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(jsonish, ugly),
        fc.oneof(fc.constant('CRYPTO_CONNECT_TRANSFER.UPDATED'), fc.string({ maxLength: 60 })),
        async (resource, eventType) => {
          const body = typeof resource === 'string' ? resource : (JSON.stringify(resource) ?? 'null');
          const notification = signedNotification(body, { secret: TEST_CLIENT_SECRET, eventType });
          const response = await fetch(url, {
            method: 'POST',
            body: notification.body,
            headers: notification.headers,
          });
          await response.arrayBuffer();
          // 200 (acknowledged, perhaps dead-lettered) or 400 for a malformed envelope: never a 5xx.
          return response.status === 200 || response.status === 400;
        },
      ),
      { numRuns: 500, seed: 42 },
    );
    // Arbitrary JSON is never a valid deposit: nothing may have been queued for a sweep.
    expect(await sweepQueue.count()).toBe(0);
  });

  it('keeps serving while many clients trickle bodies that never finish', async () => {
    const sockets = await Promise.all(
      Array.from({ length: 50 }, async () => {
        const socket = connect(Number(new URL(api.url).port), '127.0.0.1');
        socket.on('error', () => {});
        await new Promise((resolve) => socket.once('connect', resolve));
        socket.write(
          'POST /webhooks/interlace HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"eventType":',
        );
        return socket;
      }),
    );
    try {
      const good = signedNotification(depositResource(), { secret: TEST_CLIENT_SECRET });
      const response = await fetch(url, { method: 'POST', body: good.body, headers: good.headers });
      expect(response.status).toBe(200);
    } finally {
      for (const socket of sockets) socket.destroy();
    }
  });
});
