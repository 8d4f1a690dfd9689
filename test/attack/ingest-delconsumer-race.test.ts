import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startApi, type Api } from '../../src/server.js';
import { INGEST_GROUP } from '../../src/webhooks/ingest-log.js';
import { sweepJobId } from '../../src/queues/names.js';

// Attack (ingest, forgetting consumers): reclaim() reads XINFO CONSUMERS, then DELCONSUMERs every other
// consumer that had nothing pending and an idle time over an hour, in two separate round trips.
// DELCONSUMER drops the consumer's pending entries with it. On Redis before 7.2 (this test Redis is
// 7.0) a consumer's `idle` is not refreshed by a blocking XREADGROUP that returns nothing, so on a quiet
// service (an hour without a notification) every live receiver looks "gone" to the others, and each of
// them deletes the others every reclaim round (INGEST_RECLAIM_IDLE_MS / 2). When the first notification
// after the quiet hour is delivered to a receiver between another one's XINFO and its DELCONSUMER, the
// entry leaves the pending list while the receiver is still processing it. If that processing fails
// (the receiver retries its own pending entries), there is nothing left to retry: no XAUTOCLAIM sees it
// either, and no dead letter or alert is written. Interlace was answered 200.
//
// The test fast-forwards the quiet hour by adding an hour to the idle time reclaim() reads for the
// victim (Redis cannot be made to age a consumer); everything else runs on the real Redis.

describe('a live receiver forgotten by another receiver just as it reads a notification', () => {
  let stack: Stack;
  let other: Api | undefined;
  beforeAll(async () => {
    stack = await startStack('attack-ingest-delconsumer', {
      workers: false,
      env: { INGEST_MAX_FAILURES: '1000', INGEST_RECLAIM_IDLE_MS: '500' },
    });
  });
  afterAll(async () => {
    await other?.close();
    await stack?.close();
  });

  it('does not lose the notification', async () => {
    stack.sim.afterDelivery = undefined;
    const victim = stack.api.ingest.name;
    other = await startApi(stack.config, stack.logger);
    const redis = other.redis;
    const depositId = stack.deposit('31');

    // The quiet hour: in the other receiver's view the victim (blocked in XREADGROUP) is an hour idle.
    const call = redis.call.bind(redis) as (...args: unknown[]) => Promise<unknown>;
    (redis as unknown as { call: (...args: unknown[]) => Promise<unknown> }).call = async (...args) => {
      const reply = await call(...args);
      if (args[0] !== 'XINFO' || args[1] !== 'CONSUMERS') return reply;
      return (reply as unknown[][]).map((consumer) => {
        if (consumer[consumer.indexOf('name') + 1] !== victim) return consumer;
        const copy = [...consumer];
        copy[copy.indexOf('idle') + 1] = Number(copy[copy.indexOf('idle') + 1]) + 3_600_001;
        return copy;
      });
    };

    // Between the other receiver's XINFO and its DELCONSUMER the notification arrives and the victim
    // reads it; storing it fails this once (the sweep queue's meta hash is broken, as in batched-store).
    const xgroup = redis.xgroup.bind(redis) as (...args: unknown[]) => Promise<unknown>;
    let raced = false;
    (redis as unknown as { xgroup: (...args: unknown[]) => Promise<unknown> }).xgroup = async (...args) => {
      if (!raced && args[0] === 'DELCONSUMER' && args[3] === victim) {
        raced = true;
        await stack.redis.set(stack.sweepQueue.keys.meta!, 'not a hash');
        expect((await stack.notify(depositId)).status).toBe(200);
        await vi.waitFor(
          async () => {
            const pending = (await stack.redis.xpending(stack.keys.events, INGEST_GROUP)) as [
              number,
              string,
              string,
              [string, string][] | null,
            ];
            expect(pending[3]).toEqual([[victim, '1']]);
          },
          { timeout: 5_000, interval: 10 },
        );
      }
      return xgroup(...args);
    };
    await vi.waitFor(() => expect(raced).toBe(true), { timeout: 10_000, interval: 20 });
    await vi.waitFor(
      () => expect(stack.logLines.some((line) => line.includes('storing a notification failed'))).toBe(true),
      { timeout: 5_000, interval: 20 },
    );

    // The cause is fixed: the victim retries its pending entries, the other receiver reclaims idle ones.
    await stack.redis.del(stack.sweepQueue.keys.meta!);
    await vi.waitFor(async () => expect(await stack.sweepQueue.getJob(sweepJobId(depositId))).toBeDefined(), {
      timeout: 10_000,
      interval: 50,
    });
  });
});
