import { createIngestLog } from '../../src/webhooks/ingest-log.js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { forgedDepositNotification } from '../helpers/forged-notification.js';
import { sweepJobId } from '../../src/queues/names.js';
import { cli } from '../ops/cli-harness.js';
import { startStack, type Stack } from '../helpers/stack.js';

// Attack round 2 (ingest stream, events replay): the first round made the ingest consumer verify each
// event-log entry's stored signature (the log is data in Redis that anything with access could write)
// and dead-letter one that does not verify as `ingest-failed`, with an alert. `ops events replay` reads
// the same log (and the legacy one) and feeds every entry through acceptNotification without that check
// (notification-replay.ts: "its signature was checked when it arrived"). The forged entry the consumer
// refused, alerted on and dead-lettered is swept by the replay an operator runs (to rebuild the ledger,
// or after the alert): real money in the wallet moves on a notification Interlace never signed.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('attack2-events-replay-forged');
});
afterAll(async () => {
  await stack?.close();
});

it('events replay refuses an event-log entry whose stored signature does not verify', async () => {
  const since = Date.now() - 1_000;
  // Real money in the service's wallet, notified under a forged id with another secret.
  const { forgedId, built, body } = forgedDepositNotification(stack);
  // Appended to the event log by the receiver's own appender: the consumer refuses it.
  await createIngestLog(stack.redis, stack.keys).append({
    id: built.envelope.id,
    eventType: built.envelope.eventType,
    body,
  });
  await stack.api.ingest.caughtUp();
  expect(await stack.record(forgedId)).toEqual({});

  // The operator replays the window (the consumer's ingest-failed alert, or a ledger rebuild).
  const replay = await cli(
    stack.env,
    '--operator',
    'tester',
    '--json',
    'events',
    'replay',
    '--since',
    String(since),
  );
  expect(replay.code, replay.err).toBe(0);
  if (await stack.sweepQueue.getJob(sweepJobId(forgedId))) await stack.settled(forgedId);

  expect(stack.transfersFor(forgedId)).toHaveLength(0);
  expect(await stack.record(forgedId)).toEqual({});
});
