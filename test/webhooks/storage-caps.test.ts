import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Queue } from 'bullmq';
import { startStack, type Stack } from '../helpers/stack.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';
import { capturingLogger, testConfig } from '../helpers/config.js';
import { signedNotification, post, depositResource } from '../helpers/notifications.js';
import { createKeys } from '../../src/keys.js';
import { createMetrics } from '../../src/metrics/metrics.js';
import { ALERT_QUEUE, createAlerts } from '../../src/alerts/alerts.js';
import { enforceEventLogBytes, watchEventLog } from '../../src/webhooks/storage-caps.js';
import { ensureIngestGroup, INGEST_GROUP } from '../../src/webhooks/ingest-log.js';

const MiB = 1024 * 1024;

describe('the event log is capped by bytes as well as count', () => {
  let redis: Redis;
  const prefix = uniquePrefix('event-log-cap');
  const keys = createKeys(prefix);

  beforeAll(async () => {
    redis = await connectTestRedis();
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    redis.disconnect();
  });

  async function fill(entries: number, bytesEach: number, maxLen?: number) {
    const pipeline = redis.pipeline();
    for (let i = 0; i < entries; i += 1)
      pipeline.xadd(
        keys.events,
        ...((maxLen ? ['MAXLEN', String(maxLen)] : []) as []),
        '*',
        'id',
        `n-${i}`,
        'body',
        'b'.repeat(bytesEach),
      );
    await pipeline.exec();
    await consumeAll();
  }

  /** The ingest group has stored everything: the caps may trim any of it. */
  async function consumeAll() {
    await ensureIngestGroup(redis, keys);
    for (;;) {
      const reply = (await redis.xreadgroup(
        'GROUP',
        INGEST_GROUP,
        'test',
        'COUNT',
        5_000,
        'STREAMS',
        keys.events,
        '>',
      )) as [string, [string, string[]][]][] | null;
      const ids = reply?.[0]?.[1].map(([id]) => id) ?? [];
      if (ids.length === 0) return;
      await redis.xack(keys.events, INGEST_GROUP, ...ids);
    }
  }

  it('trims the oldest entries once the stream takes more memory than the cap, keeping the newest', async () => {
    await fill(2_000, 2_048);
    const [[newest]] = (await redis.xrevrange(keys.events, '+', '-', 'COUNT', 1)) as [[string, string[]]];

    const result = await enforceEventLogBytes(redis, keys, MiB);

    expect(result.bytes).toBeGreaterThan(MiB);
    expect(result.droppedForBytes).toBeGreaterThan(0);
    expect(await redis.xlen(keys.events)).toBe(2_000 - result.droppedForBytes);
    expect(Number(await redis.call('MEMORY', 'USAGE', keys.events, 'SAMPLES', '5'))).toBeLessThanOrEqual(MiB);
    expect((await redis.xrevrange(keys.events, '+', '-', 'COUNT', 1))[0]![0]).toBe(newest);
    // Under the cap, nothing goes.
    expect((await enforceEventLogBytes(redis, keys, MiB)).droppedForBytes).toBe(0);
  });

  it('counts what either cap dropped in a metric and alerts once an hour, not on every drop', async () => {
    await redis.del(keys.events);
    const config = testConfig({ QUEUE_PREFIX: prefix, ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/alerts' });
    const alerts = createAlerts(redis, config)!;
    const metrics = createMetrics({ defaultMetrics: false });
    const { logger, lines } = capturingLogger();
    const watch = watchEventLog({ redis, keys, logger, metrics, alerts }, MiB, 3_600_000);
    const alertQueue = new Queue(ALERT_QUEUE, { connection: redis, prefix });
    try {
      await fill(10, 100);
      await watch.check(); // the baseline
      // The count cap (XADD's MAXLEN) drops entries as new ones come.
      await fill(50, 100, 20);
      await watch.check();
      // And the byte cap.
      await fill(2_000, 2_048);
      await watch.check();

      const dropped = await metrics.storageDropped.get();
      const value = (cap: string) =>
        dropped.values.find((v) => v.labels.store === 'event-log' && v.labels.cap === cap)?.value ?? 0;
      expect(value('count')).toBe(40);
      expect(value('bytes')).toBeGreaterThan(0);
      const queued = await alertQueue.getJobs(['waiting', 'delayed', 'active', 'failed', 'completed']);
      expect(queued.filter((job) => job.name === 'storage-capped')).toHaveLength(1);
      expect(lines.some((line) => line.includes('a storage cap dropped data'))).toBe(true);
    } finally {
      watch.stop();
      await alertQueue.close();
      await alerts.queue.close();
    }
  });
});

describe("a dead letter's notification body is capped by bytes", () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('dead-letter-cap', {
      env: { DEAD_LETTER_MAX_BODY_BYTES: '2048', RECONCILE_ENABLED: 'false' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('keeps the size and hash of a body over DEAD_LETTER_MAX_BODY_BYTES, counted in a metric', async () => {
    // Signed, invalid (the amount), and large: the resource itself carries the bulk.
    const resource = { ...depositResource({ amount: '1e3' }), note: 'z'.repeat(10_000) };
    const notification = signedNotification(resource, { secret: stack.config.interlace.webhookSecret });

    expect((await post(stack.webhookUrl, notification.body, notification.headers)).status).toBe(200);
    await stack.api.ingest.caughtUp();

    const letter = (await stack.deadQueue.getJobs(['waiting'])).find(
      (job) => job.data.notification?.id === notification.id,
    );
    const body = JSON.parse(letter!.data.notification!.body) as Record<string, unknown>;
    expect(body).toMatchObject({
      id: notification.id,
      truncated: true,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    expect(body.bytes).toBeGreaterThan(10_000);
    expect(letter!.data.notification!.body.length).toBeLessThan(2_048);
    const dropped = await stack.api.metrics.storageDropped.get();
    expect(dropped.values).toContainEqual(
      expect.objectContaining({ labels: { store: 'dead-letter', cap: 'bytes' }, value: 1 }),
    );
  });
});
