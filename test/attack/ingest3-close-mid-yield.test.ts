import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { deliverUnawaited, startStack, type Stack } from '../helpers/stack.js';
import { watchLedgerPipelines } from '../helpers/ledger-pipelines.js';
import { startApi, type Api } from '../../src/server.js';
import { INGEST_GROUP } from '../../src/webhooks/ingest-log.js';

// Attack round 3 (yielding batches): the consumer is closed while a batch is between two chunks.
// Invariant: an acknowledged entry has its ledger record and sweep job; the rest stay pending and the
// next receiver stores every deposit exactly once.

let stack: Stack;
let first: Api | undefined;
let second: Api | undefined;
beforeAll(async () => {
  stack = await startStack('attack3-close-mid-yield', {
    workers: false,
    env: { INGEST_BATCH_SIZE: '50', INGEST_RECLAIM_IDLE_MS: '500' },
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await second?.close();
  await first?.close();
  await stack?.close();
});

it('a close between chunks acks only stored entries; the rest are stored by the next receiver', async () => {
  await stack.api.ingest.close();
  const deposits = Array.from({ length: 30 }, (_, i) => stack.deposit(String(20 + i)));
  for (const id of deposits) expect((await deliverUnawaited(stack, id)).status).toBe(200);

  let closing: Promise<void> | undefined;
  // Once the first ledger pipeline (chunk 1) is sent, the batch is yielding: close then.
  watchLedgerPipelines(stack.prefix, () => {
    if (closing === undefined && first) closing = first.ingest.close();
  });
  first = await startApi(stack.config, stack.logger);
  await vi.waitFor(() => expect(closing).toBeDefined(), { timeout: 10_000, interval: 5 });
  await closing;
  vi.restoreAllMocks();

  const pending = (await stack.redis.xpending(stack.keys.events, INGEST_GROUP, '-', '+', 100)) as [string][];
  const pendingIds = new Set(pending.map(([id]) => id));
  const entries = await stack.redis.xrange(stack.keys.events, '-', '+');
  for (const [streamId, fields] of entries) {
    if (pendingIds.has(streamId)) continue;
    const depositId = deposits.find((id) => fields.join(' ').includes(id))!;
    expect((await stack.record(depositId)).state).toBe('queued');
    expect(await stack.sweepQueue.getJob(`deposit-${depositId}`)).toBeDefined();
  }

  second = await startApi(stack.config, stack.logger);
  await second.ingest.caughtUp(15_000);
  for (const id of deposits) expect((await stack.record(id)).state).toBe('queued');
  const jobs = await stack.sweepQueue.getJobs(['waiting', 'delayed', 'active', 'paused', 'prioritized']);
  expect(jobs.filter((job) => deposits.includes(job.data.depositId)).length).toBe(30);
});
