import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startRedisServer, type RedisServerHandle } from '../helpers/redis-server.js';

let redisServer: RedisServerHandle;
let stack: Stack;

beforeAll(async () => {
  // A Redis of this file's own, with AOF on, so it can be stopped, hung and restarted.
  redisServer = await startRedisServer({ appendonly: true, args: ['--appendfsync', 'always'] });
  stack = await startStack('redis-outage', {
    redisUrl: redisServer.url,
    env: { WEBHOOK_TIMEOUT_MS: '1500' },
  });
});
afterAll(async () => {
  await stack?.close();
  await redisServer?.dispose();
});

describe('Redis unavailable', () => {
  it('answers 503 fast while Redis is down, then accepts the redelivery and sweeps it once', async () => {
    const before = stack.deposit('10');
    await stack.notify(before);
    expect(await stack.settled(before)).toMatchObject({ status: 'completed' });

    await redisServer.stop();
    const depositId = stack.deposit('20');
    const started = Date.now();
    const refused = await stack.notify(depositId);
    expect(refused).toMatchObject({ status: 503, body: { received: false, error: 'storage-unavailable' } });
    expect(Date.now() - started).toBeLessThan(4_500);

    // Not events.once: it rejects on the 'error' of a reconnect attempt made before Redis is back.
    const ready = new Promise<void>((resolve) => stack.api.redis.once('ready', () => resolve()));
    await redisServer.start();
    await ready;
    const redelivered = await stack.notify(depositId);

    expect(redelivered).toMatchObject({ status: 200, body: { received: true } });
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(stack.transfersFor(depositId)).toHaveLength(1);
    // Accepted before the restart, kept by AOF: still recorded as swept, never swept again.
    expect((await stack.record(before)).state).toBe('swept');
    expect(stack.transfersFor(before)).toHaveLength(1);
  });

  it('answers 503 within the deadline when Redis hangs, and serves again when it wakes', async () => {
    const depositId = stack.deposit('30');
    redisServer.pause();
    try {
      const started = Date.now();
      const refused = await stack.notify(depositId);
      expect(refused.status).toBe(503);
      expect(Date.now() - started).toBeLessThan(4_500);
    } finally {
      redisServer.unpause();
    }
    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    expect(stack.transfersFor(depositId)).toHaveLength(1);
  });
});
