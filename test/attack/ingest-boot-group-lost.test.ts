import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startApi, type Api } from '../../src/server.js';
import { INGEST_GROUP } from '../../src/webhooks/ingest-log.js';

// Attack (ingest, the group is missing when a receiver starts): startIngestConsumer creates the group at
// '$' at boot, which is right only for the one-time upgrade from the inline receiver (every entry before
// it was stored inline). Any other time the stream exists without its group (a restore or migration
// that copies stream entries but not consumer groups, an operator's XGROUP DESTROY to "reset" a stuck
// consumer, a crash loop while the group was gone), the notifications already acknowledged to Interlace
// and not yet consumed are skipped for good: no ledger record, no sweep job, no dead letter, no alert.
// The same loss at runtime is handled the other way (NOGROUP: recreated from '0', every entry is read).

describe('a receiver starting on an event log that has lost its ingest group', () => {
  let stack: Stack;
  let second: Api | undefined;
  beforeAll(async () => {
    stack = await startStack('attack-ingest-boot-group', { workers: false });
  });
  afterAll(async () => {
    await second?.close();
    await stack?.close();
  });

  it('still stores the notifications Interlace was told were received', async () => {
    // The running receiver's consumer is gone (crashed, or between deploys); its HTTP side still answers.
    await stack.api.ingest.close();
    stack.sim.afterDelivery = undefined;
    const depositId = stack.deposit('25');
    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.record(depositId)).toEqual({});

    // The group is lost while the stream (with the acknowledged entry) is kept.
    await stack.redis.xgroup('DESTROY', stack.keys.events, INGEST_GROUP);

    // The next receiver starts: it creates the group and consumes.
    second = await startApi(stack.config, stack.logger);
    await second.ingest.caughtUp();

    expect(await stack.record(depositId)).toMatchObject({ state: 'queued' });
  });
});
