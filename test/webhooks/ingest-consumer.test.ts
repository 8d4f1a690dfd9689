import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import { deliverUnawaited, startStack, type Stack } from '../helpers/stack.js';
import { startApi, type Api } from '../../src/server.js';
import { createKeys } from '../../src/keys.js';
import { INGEST_GROUP, ensureIngestGroup, trimEventLog } from '../../src/webhooks/ingest-log.js';
import { ingestFinished } from '../../src/webhooks/ingest-consumer.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';
import type { ReplayOutcome } from '../../src/ops/dlq-replay.js';
import { cli } from '../ops/cli-harness.js';
import { watchLedgerPipelines } from '../helpers/ledger-pipelines.js';

async function pendingCount(stack: Stack): Promise<number> {
  return ((await stack.redis.xpending(stack.keys.events, INGEST_GROUP)) as [number])[0];
}

describe('ingest: the answer waits for the append only', () => {
  let stack: Stack;
  let next: Api | undefined;
  beforeAll(async () => {
    stack = await startStack('ingest-handover', {
      workers: false,
      env: { INGEST_RECLAIM_IDLE_MS: '500' },
    });
  });
  afterAll(async () => {
    await next?.close();
    await stack?.close();
  });

  it('acknowledges a notification no consumer is reading; the next receiver stores it and its job', async () => {
    await stack.api.ingest.close();
    const depositId = stack.deposit('25');

    expect((await deliverUnawaited(stack, depositId)).status).toBe(200);

    // Interlace has its answer; the notification is in the log, waiting for the group.
    expect(await stack.redis.exists(stack.keys.deposit(depositId))).toBe(0);
    const [entry] = await stack.redis.xrevrange(stack.keys.events, '+', '-', 'COUNT', 1);
    expect(entry?.[1].join(' ')).toContain(depositId);
    expect(await ingestFinished(stack.redis, stack.keys.events)).toBe(false);

    next = await startApi(stack.config, stack.logger);
    await next.ingest.caughtUp();
    expect(await ingestFinished(stack.redis, stack.keys.events)).toBe(true);
    expect((await stack.record(depositId)).state).toBe('queued');
    expect(await stack.sweepQueue.getJob(`deposit-${depositId}`)).toBeDefined();
  });

  it("takes over a crashed receiver's unfinished entries after INGEST_RECLAIM_IDLE_MS, and stores each once", async () => {
    await next!.ingest.close();
    const deposits = [stack.deposit('31'), stack.deposit('32'), stack.deposit('33')];
    for (const id of deposits) expect((await deliverUnawaited(stack, id)).status).toBe(200);
    // A receiver read them, then died before it stored anything: they are pending under its name.
    const crashed = (await stack.redis.xreadgroup(
      'GROUP',
      INGEST_GROUP,
      'crashed-receiver',
      'COUNT',
      10,
      'STREAMS',
      stack.keys.events,
      '>',
    )) as [string, [string, string[]][]][];
    expect(crashed[0]![1]).toHaveLength(3);
    expect(await pendingCount(stack)).toBe(3);

    const third = await startApi(stack.config, stack.logger);
    try {
      await third.ingest.caughtUp(15_000);
      for (const id of deposits) {
        expect((await stack.record(id)).state).toBe('queued');
        expect((await stack.record(id)).notifications).toBe('1');
      }
      const jobs = await stack.sweepQueue.getJobs(['waiting', 'delayed', 'active', 'completed']);
      for (const id of deposits) expect(jobs.filter((job) => job.data.depositId === id)).toHaveLength(1);
      expect(await pendingCount(stack)).toBe(0);
      expect(stack.logLines.some((line) => line.includes('another receiver left unfinished'))).toBe(true);
    } finally {
      await third.close();
    }
  });
});

describe('ingest: seeing what is not stored yet, and what was lost', () => {
  let stack: Stack;
  let next: Api | undefined;
  beforeAll(async () => {
    stack = await startStack('ingest-visibility', { workers: false });
  });
  afterAll(async () => {
    await next?.close();
    await stack?.close();
  });

  it('counts acknowledged notifications not yet stored (isweep_ingest_backlog), and reports entries deleted before the group read them', async () => {
    // One notification stored as usual: the group has read up to it.
    const first = stack.deposit('50');
    expect((await stack.notify(first)).status).toBe(200);
    expect((await stack.record(first)).state).toBe('queued');
    await stack.api.ingest.close();
    const kept = stack.deposit('51');
    const trimmed = [stack.deposit('52'), stack.deposit('53')];
    for (const id of [...trimmed, kept]) expect((await deliverUnawaited(stack, id)).status).toBe(200);
    const scrape = async () => (await fetch(`${stack.api.adminUrl}/metrics`)).text();
    expect(await scrape()).toMatch(/^isweep_ingest_backlog 3$/m);

    // Something other than the service trims the log past what the group has read.
    await stack.redis.xtrim(stack.keys.events, 'MAXLEN', 1);

    next = await startApi(stack.config, stack.logger);
    await next.ingest.caughtUp();
    expect((await stack.record(kept)).state).toBe('queued');
    for (const id of trimmed) expect(await stack.redis.exists(stack.keys.deposit(id))).toBe(0);
    expect(
      stack.logLines.some((line) => line.includes('were deleted before the ingest group read them')),
    ).toBe(true);
    expect(await (await fetch(`${next.adminUrl}/metrics`)).text()).toMatch(
      /^isweep_ingest_processed_total\{outcome="lost"\} 1$/m,
    );
    expect(await (await fetch(`${next.adminUrl}/metrics`)).text()).toMatch(/^isweep_ingest_backlog 0$/m);
  });
});

describe('ingest: a receiver shutting down', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A batch waits half a second to gather: long enough for the close to come first.
    stack = await startStack('ingest-shutdown', { workers: false, env: { INGEST_BATCH_WAIT_MS: '500' } });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('lets its consumer store what it has acknowledged before it stops', async () => {
    const depositId = stack.deposit('61');
    expect((await deliverUnawaited(stack, depositId)).status).toBe(200);

    await stack.api.close();

    expect((await stack.record(depositId)).state).toBe('queued');
    expect(await pendingCount(stack)).toBe(0);
  });
});

describe('ingest: an entry that keeps failing', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('ingest-poison', {
      workers: false,
      env: { INGEST_MAX_FAILURES: '2', RECONCILE_ENABLED: 'false' },
    });
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is dead-lettered with its signed body after INGEST_MAX_FAILURES, never holds up the others, and replays once fixed', async () => {
    const poison = stack.deposit('40');
    const good = [stack.deposit('41'), stack.deposit('42')];
    // A key of the wrong type where the deposit's record goes: its ledger script fails every time.
    await stack.redis.set(stack.keys.deposit(poison), 'not a hash');

    expect((await stack.notify(poison)).status).toBe(200);
    for (const id of good) expect((await stack.notify(id)).status).toBe(200);

    for (const id of good) expect((await stack.record(id)).state).toBe('queued');
    const letters = await stack.deadQueue.getJobs(['waiting']);
    const letter = letters.find((job) => job.data.kind === 'ingest-failed');
    expect(letter?.data.reason).toMatch(/not stored after 2 attempts: WRONGTYPE/);
    expect(letter?.data.notification?.body).toContain(poison);
    expect(await pendingCount(stack)).toBe(0);
    expect(stack.logLines.some((l) => l.includes('notification dead-lettered: it could not be stored'))).toBe(
      true,
    );
    // No log line carries a Redis command's arguments (a BullMQ script is tens of KB).
    expect(stack.logLines.every((line) => line.length < 4_000)).toBe(true);

    // The operator fixes the cause and replays the letter: the deposit is stored and queued, once.
    await stack.redis.del(stack.keys.deposit(poison));
    const run = await cli(stack.env, '--operator', 'ingest-tester', '--json', 'dlq', 'replay', letter!.id!);
    expect(run.code).toBe(0);
    expect(run.json<{ outcomes: ReplayOutcome[] }>().outcomes[0]).toMatchObject({ outcome: 'replayed' });
    expect((await stack.record(poison)).state).toBe('queued');
    expect(await stack.sweepQueue.getJob(`deposit-${poison}`)).toBeDefined();
  });
});

describe('trimEventLog: the count cap never drops what the ingest group still needs', () => {
  const prefix = uniquePrefix('ingest-trim');
  const keys = createKeys(prefix);
  let redis: Redis;
  beforeAll(() => {
    redis = connectTestRedis();
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, prefix);
    await redis.quit();
  });

  async function append(count: number) {
    for (let i = 0; i < count; i += 1) await redis.xadd(keys.events, '*', 'id', `n-${i}`, 'body', '{}');
  }
  const read = async (count: number) =>
    redis.xreadgroup('GROUP', INGEST_GROUP, 'c1', 'COUNT', count, 'STREAMS', keys.events, '>') as Promise<
      [string, [string, string[]][]][]
    >;

  it('trims a consumed log to the cap, and leaves undelivered entries whatever the cap', async () => {
    await redis.del(keys.events);
    await ensureIngestGroup(redis, keys);
    await append(30);
    // Nothing read yet: all 30 are the group's, the cap of 10 waits.
    expect(await trimEventLog(redis, keys, 10)).toEqual({ removed: 0, length: 30 });
    const [[, first]] = (await read(20)) as [[string, [string, string[]][]]];
    // 20 delivered but pending: still nothing goes.
    expect(await trimEventLog(redis, keys, 10)).toEqual({ removed: 0, length: 30 });
    // 15 of them finished: those 15 may go, never the 5 pending or the 10 undelivered.
    await redis.xack(keys.events, INGEST_GROUP, ...first.slice(0, 15).map(([id]) => id));
    expect(await trimEventLog(redis, keys, 10)).toEqual({ removed: 15, length: 15 });
    const [oldest] = await redis.xrange(keys.events, '-', '+', 'COUNT', 1);
    expect(oldest?.[0]).toBe(first[15]![0]);
    // All finished: down to the cap, newest kept.
    await redis.xack(keys.events, INGEST_GROUP, ...first.slice(15).map(([id]) => id));
    const [[, rest]] = (await read(100)) as [[string, [string, string[]][]]];
    await redis.xack(keys.events, INGEST_GROUP, ...rest.map(([id]) => id));
    expect(await trimEventLog(redis, keys, 10)).toEqual({ removed: 5, length: 10 });
    expect(await trimEventLog(redis, keys, 10)).toEqual({ removed: 0, length: 10 });
  });

  it('trims nothing while the ingest group is missing (nothing tells what is unread)', async () => {
    await redis.del(keys.events);
    await append(12);
    expect(await trimEventLog(redis, keys, 5)).toEqual({ removed: 0, length: 12 });
    await ensureIngestGroup(redis, keys);
    const [[, all]] = (await read(100)) as [[string, [string, string[]][]]];
    await redis.xack(keys.events, INGEST_GROUP, ...all.map(([id]) => id));
    expect(await trimEventLog(redis, keys, 5)).toEqual({ removed: 7, length: 5 });
  });

  it('reads at most maxScan entries for its boundary, so a long excess goes over several calls', async () => {
    await redis.del(keys.events);
    await ensureIngestGroup(redis, keys);
    await append(25);
    const [[, all]] = (await read(100)) as [[string, [string, string[]][]]];
    await redis.xack(keys.events, INGEST_GROUP, ...all.map(([id]) => id));
    expect(await trimEventLog(redis, keys, 5, 8)).toEqual({ removed: 8, length: 17 });
    expect(await trimEventLog(redis, keys, 5, 8)).toEqual({ removed: 8, length: 9 });
    expect(await trimEventLog(redis, keys, 5, 8)).toEqual({ removed: 4, length: 5 });
  });
});

describe('ingest: a batch leaves turns to the answers', () => {
  let stack: Stack;
  let next: Api | undefined;
  beforeAll(async () => {
    stack = await startStack('ingest-yield', { workers: false, env: { INGEST_BATCH_SIZE: '50' } });
  });
  afterAll(async () => {
    vi.restoreAllMocks();
    await next?.close();
    await stack?.close();
  });

  it('stores a batch of 30 in pipelines of at most 5 scripts, started on separate event-loop turns', async () => {
    await stack.api.ingest.close();
    const deposits = Array.from({ length: 30 }, (_, i) => stack.deposit(String(20 + i)));
    for (const id of deposits) expect((await deliverUnawaited(stack, id)).status).toBe(200);

    // The ledger scripts of one event-loop turn go out as one pipeline (deposit-store's micro-batch): their
    // sizes show how much of the batch ran without handing the loop back to the HTTP side.
    const sizes: number[] = [];
    watchLedgerPipelines(stack.prefix, (count) => sizes.push(count));
    next = await startApi(stack.config, stack.logger);
    await next.ingest.caughtUp();
    vi.restoreAllMocks();

    for (const id of deposits) expect((await stack.record(id)).state).toBe('queued');
    expect(Math.max(...sizes)).toBeLessThanOrEqual(5);
    expect(sizes.filter((size) => size === 5).length).toBeGreaterThanOrEqual(6);
  });
});
