import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createKeys } from '../../src/keys.js';
import { FORGET_CONSUMERS, INGEST_GROUP, ensureIngestGroup } from '../../src/webhooks/ingest-log.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

// Attack (ingest, reclaim forgetting a live consumer): the consumer used to read XINFO CONSUMERS and then
// send XGROUP DELCONSUMER in a second round trip. DELCONSUMER drops the consumer's pending entries, and
// on Redis before 7.2 an empty blocking read does not refresh `idle`: after a quiet hour every live
// receiver looked gone, and a notification delivered to one between the check and the delete, whose
// storing then failed once, was pending nowhere (no retry, no XAUTOCLAIM, no dead letter). The attack's
// test timed a delivery into that gap by wrapping the client's XINFO and XGROUP calls; the check and
// the delete now run in one script (FORGET_CONSUMERS), so there is no gap to time. What remains to
// hold is the script's rule: a consumer with anything pending is never forgotten.

describe('forgetting ingest consumers', () => {
  const keys = createKeys(uniquePrefix('attack-ingest-forget'));
  let redis: Redis;
  beforeAll(async () => {
    redis = connectTestRedis();
    await ensureIngestGroup(redis, keys);
  });
  afterAll(async () => {
    await deleteKeysWithPrefix(redis, keys.prefix);
    await redis.quit();
  });

  const consumers = async () =>
    ((await redis.call('XINFO', 'CONSUMERS', keys.events, INGEST_GROUP)) as unknown[][])
      .map((c) => String(c[c.indexOf('name') + 1]))
      .sort();

  it('never forgets a consumer holding a pending entry, however idle, nor itself', async () => {
    await redis.xadd(keys.events, '*', 'id', 'n-1', 'body', '{}');
    // `busy` reads the entry and never acknowledges it; `gone` and `self` read nothing.
    await redis.xreadgroup('GROUP', INGEST_GROUP, 'busy', 'COUNT', 1, 'STREAMS', keys.events, '>');
    for (const name of ['gone', 'self'])
      await redis.xgroup('CREATECONSUMER', keys.events, INGEST_GROUP, name);
    expect(await consumers()).toEqual(['busy', 'gone', 'self']);

    // Every consumer counts as idle for longer than -1 ms: only the pending entry and `self` protect.
    const forgotten = await FORGET_CONSUMERS<number>(redis, {
      keys: { events: keys.events },
      args: { group: INGEST_GROUP, self: 'self', idleMs: -1 },
    });

    expect(forgotten).toBe(1);
    expect(await consumers()).toEqual(['busy', 'self']);
    const [count] = (await redis.xpending(keys.events, INGEST_GROUP)) as [number];
    expect(count).toBe(1);
  });
});
