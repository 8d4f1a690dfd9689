import { once } from 'node:events';
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { startApi, type Api } from '../../src/server.js';
import { createKeys } from '../../src/keys.js';
import { DEAD_LETTER_QUEUE, SWEEP_QUEUE } from '../../src/queues/names.js';
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { capturingLogger, testConfig, TEST_CLIENT_SECRET } from '../helpers/config.js';
import { depositResource, post, signedNotification } from '../helpers/notifications.js';
import { freePort } from '../helpers/ports.js';

/** What the receiver stores of a signed notification: the signed resource, its signature headers, id, type. */
function stored(notification: { id: string; resource: string; headers: Record<string, string> }) {
  return JSON.stringify({
    eventType: 'CRYPTO_CONNECT_TRANSFER.UPDATED',
    id: notification.id,
    resource: notification.resource,
    signature: {
      signature: notification.headers.signature,
      method: 'HMAC-SHA256',
      timestamp: notification.headers.timestamp,
    },
  });
}

const prefix = uniquePrefix('webhook');
const keys = createKeys(prefix);
let api: Api;
let redis: Redis;
let sweepQueue: Queue;
let deadQueue: Queue;
let url: string;
let logLines: string[];
const secret = TEST_CLIENT_SECRET;

beforeAll(async () => {
  const config = testConfig({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, SWEEP_MIN_AMOUNT: '1' });
  const log = capturingLogger();
  logLines = log.lines;
  api = await startApi(config, log.logger);
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

/**
 * POSTs like Interlace, then waits for the receiver's ingest consumer: the 200 says the notification is
 * in the event log, and what a test reads next is what storing it did.
 */
async function send(target: string, body: string | Buffer, headers: Record<string, string>) {
  const response = await post(target, body, headers);
  if (response.status === 200) await api.ingest.caughtUp();
  return response;
}

async function sweepJob(depositId: string) {
  return sweepQueue.getJob(`deposit-${depositId}`);
}

/** What the service has stored, once its ingest consumer has stored everything appended so far. */
async function snapshot() {
  await api.ingest.caughtUp();
  const [events, keyCount, jobs, dead] = await Promise.all([
    redis.xlen(keys.events),
    redis.eval(`return #redis.call('KEYS', ARGV[1])`, 0, `${prefix}:deposit:*`) as Promise<number>,
    sweepQueue.getJobCountByTypes('waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized'),
    deadQueue.getJobCountByTypes('waiting'),
  ]);
  return { events, keyCount, jobs, dead };
}

describe('POST /webhooks/interlace', () => {
  it('answers {"received": true} once the notification is in the event log; its consumer stores the deposit and its sweep job', async () => {
    const resource = depositResource({ amount: '10.25' });
    const notification = signedNotification(resource, { secret });

    const response = await send(url, notification.body, notification.headers);

    expect(response).toEqual({ status: 200, body: { received: true } });
    const record = await redis.hgetall(keys.deposit(resource.id));
    expect(record).toMatchObject({
      state: 'queued',
      amount: '10.25',
      currency: 'USDC',
      walletId: 'wallet-test',
      notifications: '1',
    });
    expect(record.clientTransactionId).toMatch(/^[0-9a-f-]{36}$/);
    const job = await sweepJob(resource.id);
    expect(job?.data).toEqual({ depositId: resource.id });
    const [entry] = await redis.xrevrange(keys.events, '+', '-', 'COUNT', 1);
    expect(entry?.[1]).toEqual(expect.arrayContaining(['id', notification.id, 'body', stored(notification)]));
  });

  it('turns the same notification sent 5 times at once into one job', async () => {
    const resource = depositResource();
    const notification = signedNotification(resource, { secret });

    const responses = await Promise.all(
      Array.from({ length: 5 }, () => send(url, notification.body, notification.headers)),
    );

    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 200, 200]);
    expect(await redis.hget(keys.deposit(resource.id), 'notifications')).toBe('5');
    const jobs = await sweepQueue.getJobs(['waiting', 'active', 'delayed', 'completed']);
    expect(jobs.filter((job) => job.data.depositId === resource.id)).toHaveLength(1);
  });

  it.each([
    ['PENDING', 'pending'],
    ['ON_HOLD', 'held'],
    ['FAIL', 'failed'],
  ])('records a %s deposit as %s without a sweep job', async (status, state) => {
    const resource = depositResource({ status });
    const notification = signedNotification(resource, { secret });
    expect((await send(url, notification.body, notification.headers)).status).toBe(200);
    expect(await redis.hget(keys.deposit(resource.id), 'state')).toBe(state);
    expect(await sweepJob(resource.id)).toBeUndefined();
  });

  it('records dust and unsupported currencies without a sweep job', async () => {
    const dust = depositResource({ amount: '0.5' });
    const btc = depositResource({ currency: 'BTC', amount: '0.01' });
    for (const resource of [dust, btc]) {
      const notification = signedNotification(resource, { secret });
      expect((await send(url, notification.body, notification.headers)).status).toBe(200);
      expect(await sweepJob(resource.id)).toBeUndefined();
    }
    expect(await redis.hget(keys.deposit(dust.id), 'state')).toBe('dust');
    expect(await redis.hget(keys.deposit(btc.id), 'state')).toBe('unsupported');
  });

  it('acknowledges and counts other event types without a deposit record', async () => {
    const before = Number((await redis.hget(keys.eventCounts, 'CARD_TRANSACTION.CREATED|ignored')) ?? 0);
    const notification = signedNotification(
      { id: 'card-1', accountId: 'acc' },
      { secret, eventType: 'CARD_TRANSACTION.CREATED' },
    );
    expect(await send(url, notification.body, notification.headers)).toEqual({
      status: 200,
      body: { received: true },
    });
    expect(await redis.hget(keys.eventCounts, 'CARD_TRANSACTION.CREATED|ignored')).toBe(String(before + 1));
    expect(await redis.exists(keys.deposit('card-1'))).toBe(0);
  });

  it.each([
    ['exponent amount', { amount: '1e3' }],
    ['negative amount', { amount: '-1' }],
    ['NaN amount', { amount: 'NaN' }],
    ['7 decimals for USDC', { amount: '0.1234567' }],
    ['numeric amount', { amount: 10 }],
    ['no wallet id', { walletId: undefined }],
  ])('keeps a signed deposit with %s as a dead letter and acknowledges it', async (_name, patch) => {
    const resource = depositResource(patch as never);
    const notification = signedNotification(resource, { secret });

    const response = await send(url, notification.body, notification.headers);

    expect(response).toEqual({ status: 200, body: { received: true } });
    expect(await redis.exists(keys.deposit(resource.id))).toBe(0);
    expect(await sweepJob(resource.id)).toBeUndefined();
    const dead = (await deadQueue.getJobs(['waiting'])).find(
      (job) => job.data.notification?.id === notification.id,
    );
    expect(dead?.data).toMatchObject({
      kind: 'invalid-notification',
      notification: { body: stored(notification) },
    });
    expect(dead?.data.reason).toMatch(/invalid deposit notification/);
  });

  it('stores only the signed resource, its signature headers, the envelope id and type: never unsigned padding', async () => {
    const resource = depositResource();
    const notification = signedNotification(resource, { secret });
    const padded = JSON.stringify({
      ...(JSON.parse(notification.body) as object),
      message: 'm'.repeat(4_000),
      pad: 'x'.repeat(200 * 1024),
    });

    expect((await send(url, padded, notification.headers)).status).toBe(200);

    const [entry] = await redis.xrevrange(keys.events, '+', '-', 'COUNT', 1);
    const fields = entry![1];
    const body = fields[fields.indexOf('body') + 1]!;
    expect(body).toBe(stored(notification));
    expect(body).not.toContain('xxxx');
    expect(body.length).toBeLessThan(1_000);
    // Also in a dead letter.
    const invalid = depositResource({ amount: '1e3' });
    const signedInvalid = signedNotification(invalid, { secret });
    const paddedInvalid = JSON.stringify({
      ...(JSON.parse(signedInvalid.body) as object),
      pad: 'y'.repeat(100_000),
    });
    expect((await send(url, paddedInvalid, signedInvalid.headers)).status).toBe(200);
    const letter = (await deadQueue.getJobs(['waiting'])).find(
      (job) => job.data.notification?.id === signedInvalid.id,
    );
    expect(letter?.data.notification?.body).toBe(stored(signedInvalid));
  });

  it('answers an unauthenticated caller a bare 400, never the schema messages', async () => {
    for (const body of [
      JSON.stringify({ eventType: 'X', id: '1' }),
      JSON.stringify({ eventType: 'X'.repeat(500), id: '1', resource: '{}' }),
      '{"eventType":',
    ]) {
      const response = await send(url, body, { 'content-type': 'application/json' });
      expect(response.status).toBe(400);
      expect(Object.keys(response.body).sort()).toEqual(['error', 'received']);
    }
  });

  describe('refuses bad requests with a 4xx, stores nothing, and keeps serving', () => {
    const resource = depositResource();
    const good = signedNotification(resource, { secret });
    const unauthorized = { status: 401, body: { received: false, error: 'invalid-signature' } };

    it.each([
      [
        'a signature made with another key',
        () => ({ ...good, headers: signedNotification(resource, { secret, signWith: 'wrong' }).headers }),
        unauthorized,
      ],
      [
        'a tampered resource',
        () => ({ ...good, body: good.body.replace('\\"10\\"', '\\"1000\\"') }),
        unauthorized,
      ],
      [
        'no Signature header',
        () => ({ ...good, headers: { 'content-type': 'application/json', timestamp: '1' } }),
        unauthorized,
      ],
      [
        'an unknown Signature-Method',
        () => ({ ...good, headers: { ...good.headers, 'signature-method': 'HMAC-MD5' } }),
        unauthorized,
      ],
      [
        'a body that is not JSON',
        () => ({ ...good, body: '{"eventType":' }),
        { status: 400, body: expect.objectContaining({ error: 'invalid-json' }) },
      ],
      [
        'an envelope without resource',
        () => ({ ...good, body: JSON.stringify({ eventType: 'X', id: '1' }) }),
        { status: 400, body: expect.objectContaining({ error: 'invalid-envelope' }) },
      ],
      [
        'a resource that is an object, not a string',
        () => ({ ...good, body: JSON.stringify({ eventType: 'X', id: '1', resource: {} }) }),
        { status: 400, body: expect.objectContaining({ error: 'invalid-envelope' }) },
      ],
      [
        'a gzip Content-Encoding',
        () => ({ ...good, headers: { ...good.headers, 'content-encoding': 'gzip' } }),
        { status: 415, body: expect.objectContaining({ error: 'unsupported-encoding' }) },
      ],
      [
        'text/plain',
        () => ({ ...good, headers: { ...good.headers, 'content-type': 'text/plain' } }),
        { status: 415, body: expect.objectContaining({ error: 'unsupported-media-type' }) },
      ],
      [
        'no content type',
        () => ({ ...good, headers: { signature: good.headers.signature! } }),
        { status: 415, body: expect.objectContaining({ error: 'unsupported-media-type' }) },
      ],
      [
        'a body over 256 KiB',
        () => ({ ...good, body: JSON.stringify({ pad: 'x'.repeat(300 * 1024) }) }),
        { status: 413, body: expect.objectContaining({ error: 'payload-too-large' }) },
      ],
    ])('%s', async (_name, make, expected) => {
      const before = await snapshot();
      const request = make();

      const response = await send(url, request.body, request.headers);

      expect(response).toEqual(expected);
      expect(await snapshot()).toEqual(before);
      expect(await redis.exists(keys.deposit(resource.id))).toBe(0);
      expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    });
  });
});

/** Sends raw HTTP/1.1 (fetch always adds a Content-Type to a string body) and answers status and text. */
async function rawRequest(head: string, chunks: string[]): Promise<{ status: number; text: string }> {
  const socket = connect(Number(new URL(api.url).port), '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  let answer = '';
  socket.on('data', (chunk: Buffer) => (answer += chunk.toString('utf8')));
  const closed = once(socket, 'close');
  socket.write(head);
  for (const chunk of chunks) socket.write(chunk);
  // The answer is complete once its declared body length has arrived; then the test closes.
  const deadline = Date.now() + 5_000;
  while (!/\r\n\r\n[\s\S]*\}$/.test(answer) && Date.now() < deadline)
    await new Promise((r) => setImmediate(r));
  socket.end();
  await closed;
  return { status: Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0), text: answer };
}

describe('POST /webhooks/interlace: content type, encoding and chunked bodies', () => {
  it('answers 415 to a request with no Content-Type header at all, and stores nothing', async () => {
    const notification = signedNotification(depositResource(), { secret });
    const before = await snapshot();

    const response = await rawRequest(
      'POST /webhooks/interlace HTTP/1.1\r\nHost: x\r\nConnection: close\r\n' +
        `Signature: ${notification.headers.signature}\r\nContent-Length: ${Buffer.byteLength(notification.body)}\r\n\r\n`,
      [notification.body],
    );

    expect(response.status).toBe(415);
    expect(response.text).toContain('"error":"unsupported-media-type"');
    expect(await snapshot()).toEqual(before);
  });

  it.each(['deflate', 'br', 'GZIP', 'gzip, identity'])(
    'answers 415 to Content-Encoding %s, and stores nothing',
    async (encoding) => {
      const notification = signedNotification(depositResource(), { secret });
      const before = await snapshot();
      const response = await send(url, notification.body, {
        ...notification.headers,
        'content-encoding': encoding,
      });
      expect(response).toMatchObject({ status: 415, body: { error: 'unsupported-encoding' } });
      expect(await snapshot()).toEqual(before);
    },
  );

  it('accepts Content-Encoding identity (the body as is)', async () => {
    const resource = depositResource();
    const notification = signedNotification(resource, { secret });
    const response = await send(url, notification.body, {
      ...notification.headers,
      'content-encoding': 'identity',
    });
    expect(response).toEqual({ status: 200, body: { received: true } });
    expect(await redis.hget(keys.deposit(resource.id), 'state')).toBe('queued');
  });

  it('accepts a chunked body under the limit (the limit is on the bytes received, not a missing length)', async () => {
    const resource = depositResource();
    const notification = signedNotification(resource, { secret });
    const half = Math.floor(notification.body.length / 2);
    const parts = [notification.body.slice(0, half), notification.body.slice(half)];

    const response = await rawRequest(
      'POST /webhooks/interlace HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: application/json\r\n' +
        `Signature: ${notification.headers.signature}\r\nTransfer-Encoding: chunked\r\n\r\n`,
      [...parts.map((part) => `${Buffer.byteLength(part).toString(16)}\r\n${part}\r\n`), '0\r\n\r\n'],
    );

    expect(response.status).toBe(200);
    expect(response.text).toContain('{"received":true}');
    await api.ingest.caughtUp();
    expect(await redis.hget(keys.deposit(resource.id), 'state')).toBe('queued');
  });
});

describe('POST /webhooks/interlace, the connection and the logs', () => {
  it('answers 413 to a chunked body as soon as it passes 256 KiB, and closes the connection', async () => {
    const before = await snapshot();
    const socket = connect(Number(new URL(api.url).port), '127.0.0.1');
    // The server may close while the client is still writing: EPIPE/ECONNRESET here are expected.
    socket.on('error', () => {});
    await once(socket, 'connect');
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString('latin1')));
    const closed = once(socket, 'close');
    socket.write(
      'POST /webhooks/interlace HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n',
    );
    const chunk = `{"pad":"${'x'.repeat(64 * 1024)}`;
    // 5 × 64 KiB and never the final zero-length chunk: only a check while streaming can answer.
    for (let i = 0; i < 5; i += 1) socket.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);

    await closed;

    expect(answer).toMatch(/^HTTP\/1\.1 413 /);
    expect(answer.toLowerCase()).toContain('connection: close');
    expect(answer).toContain('"error":"payload-too-large"');
    expect(await snapshot()).toEqual(before);
  });

  it("logs each request's lines with the notification id as the request id", async () => {
    const accepted = signedNotification(depositResource(), { secret });
    const forged = signedNotification(depositResource(), { secret, signWith: 'wrong' });

    expect((await send(url, accepted.body, accepted.headers)).status).toBe(200);
    expect((await send(url, forged.body, forged.headers)).status).toBe(401);

    const linesOf = (id: string) =>
      logLines.map((line) => JSON.parse(line) as Record<string, unknown>).filter((line) => line.reqId === id);
    expect(linesOf(accepted.id).map((line) => line.msg)).toContain('deposit notification accepted');
    expect(linesOf(forged.id).map((line) => line.msg)).toEqual(['webhook signature rejected']);
    expect(linesOf(accepted.id)[0]).toMatchObject({ notificationId: accepted.id });
  });
});

describe('POST /webhooks/interlace with ADMIN_PORT set', () => {
  it('is served on the public port only, beside /healthz; the admin port serves the rest', async () => {
    const split = await startApi(
      testConfig({
        REDIS_URL: testRedisUrl(),
        QUEUE_PREFIX: prefix,
        ADMIN_PORT: String(await freePort()),
        ADMIN_HOST: '127.0.0.1',
      }),
      capturingLogger('silent').logger,
    );
    try {
      const notification = signedNotification(depositResource(), { secret });
      const at = (base: string) => `${base}/webhooks/interlace`;

      expect((await post(at(split.url), notification.body, notification.headers)).status).toBe(200);
      expect((await post(at(split.adminUrl), notification.body, notification.headers)).status).toBe(404);
      expect((await fetch(`${split.url}/metrics`)).status).toBe(404);
      expect((await fetch(`${split.adminUrl}/metrics`)).status).toBe(200);
    } finally {
      await split.close();
    }
  });
});
