import { afterAll, beforeAll, expect, it, vi } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { watchLedgerPipelines } from '../helpers/ledger-pipelines.js';
import { startApi, type Api } from '../../src/server.js';
import { INGEST_GROUP } from '../../src/webhooks/ingest-log.js';

// Attack round 5 (chunks of 5): one batch of 15 entries is stored in three chunks (0-4, 5-9, 10-14).
// One deposit's notification and two redeliveries land in all three chunks (indexes 2, 7, 12); another
// deposit's PENDING and CLOSED straddle the first boundary (4 | 5) and its CLOSED redelivery comes two
// chunks later (10). The chain of one resource runs across the boundaries while the other chunks'
// pipelines and addBulks go out around it, and the sweep worker runs while the batch is still going.
// Invariant: one record, one job and one transfer per deposit; every entry acknowledged.

let stack: Stack;
let second: Api | undefined;
beforeAll(async () => {
  stack = await startStack('attack5-dups-chunks', {
    workers: false,
    env: { INGEST_BATCH_SIZE: '50' },
  });
});
afterAll(async () => {
  vi.restoreAllMocks();
  await second?.close();
  await stack?.close();
});

it("one deposit's redeliveries in three chunks and a PENDING/CLOSED pair across a boundary: each swept once", async () => {
  await stack.api.ingest.close();
  // Workers run during the batch: a job added by chunk 1 may be swept before chunk 3's redelivery.
  await stack.restartWorkers();
  stack.sim.afterDelivery = undefined;

  const fillers = Array.from({ length: 10 }, (_, i) => stack.deposit(String(60 + i)));
  const dup = stack.deposit('77');
  const pair = stack.deposit('88');
  // [index]: what is delivered. Chunks: 0-4 | 5-9 | 10-14.
  const plan: (() => Promise<{ status: number | null }>)[] = [
    () => stack.notify(fillers[0]!),
    () => stack.notify(fillers[1]!),
    () => stack.notify(dup), // 2: chunk 1
    () => stack.notify(fillers[2]!),
    () => stack.notify(pair, 'PENDING'), // 4: last of chunk 1
    () => stack.notify(pair, 'CLOSED'), // 5: first of chunk 2
    () => stack.notify(fillers[3]!),
    () => stack.notify(dup), // 7: chunk 2 (Interlace's redelivery: same resource, new envelope id)
    () => stack.notify(fillers[4]!),
    () => stack.notify(fillers[5]!),
    () => stack.notify(pair, 'CLOSED'), // 10: chunk 3
    () => stack.notify(fillers[6]!),
    () => stack.notify(dup), // 12: chunk 3
    () => stack.notify(fillers[7]!),
    () => stack.notify(fillers[8]!),
  ];
  for (const deliver of plan) expect((await deliver()).status).toBe(200);
  expect(await stack.redis.xlen(stack.keys.events)).toBeGreaterThanOrEqual(15);

  const sizes: number[] = [];
  watchLedgerPipelines(stack.prefix, (n) => sizes.push(n));
  second = await startApi(stack.config, stack.logger);
  await second.ingest.caughtUp(15_000);
  vi.restoreAllMocks();
  // The batch really was stored in chunks (never one pipeline of 15).
  expect(Math.max(...sizes)).toBeLessThanOrEqual(5);

  const swept = [...fillers.slice(0, 9), dup, pair];
  for (const id of swept) {
    expect(await stack.settled(id)).toMatchObject({ status: 'completed' });
    expect((await stack.record(id)).state).toBe('swept');
    expect(stack.transfersFor(id)).toHaveLength(1);
    expect(stack.callsFor(id).resentAfterConfirmed).toEqual([]);
  }
  expect(await stack.redis.xpending(stack.keys.events, INGEST_GROUP)).toEqual([0, null, null, null]);
}, 60_000);
