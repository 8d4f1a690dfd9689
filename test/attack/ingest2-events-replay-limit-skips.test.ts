import { afterAll, beforeAll, expect, it } from 'vitest';
import { storedNotificationBody } from '../../src/interlace/stored-notification.js';
import { cli } from '../ops/cli-harness.js';
import { startStack, type Stack } from '../helpers/stack.js';

// Attack round 2 (ingest stream, events replay): readEvents reads the legacy log `<prefix>:events`
// whole, then the new `<prefix>:event-log`. During the upgrade old and new receivers run side by side
// (decision 008), so both logs hold notifications of the same hours. With --limit the replay stops
// inside the legacy log and says "continue with --since <ms of the next one>": the next run starts the
// new log at that millisecond too, and every new-log notification received between the first --since
// and that millisecond is never fed. A ledger rebuilt that way (the command's purpose: "to rebuild
// records lost from the ledger") silently misses those deposits: their money is never swept.

let stack: Stack;
beforeAll(async () => {
  stack = await startStack('attack2-events-replay-limit', { workers: false });
  // Nothing stores the new log's entries here: the replay is what builds the ledger.
  await stack.api.ingest.close();
});
afterAll(async () => {
  await stack?.close();
});

async function append(key: string, ms: number, depositId: string) {
  const built = stack.sim.buildNotification(depositId);
  const body = storedNotificationBody(built.envelope, {
    signature: built.headers.Signature!,
    method: 'HMAC-SHA256',
    timestamp: built.headers.Timestamp!,
  });
  const fields = ['id', built.envelope.id, 'eventType', built.envelope.eventType, 'receivedAt', String(ms)];
  await stack.redis.xadd(key, `${ms}-0`, ...fields, 'body', body);
}

it('events replay continued as its --limit line says feeds every notification of the window', async () => {
  const t0 = Date.now() - 60_000;
  const [a, b, c] = [stack.deposit('10'), stack.deposit('20'), stack.deposit('30')];
  // Rolling upgrade: an old receiver logged A, then a new one C, then the old one B.
  await append(stack.keys.legacyEvents, t0, a);
  await append(stack.keys.events, t0 + 1_000, c);
  await append(stack.keys.legacyEvents, t0 + 2_000, b);

  const ops = (...argv: string[]) => cli(stack.env, '--operator', 'tester', ...argv);
  const first = await ops('events', 'replay', '--since', String(t0), '--limit', '1');
  expect(first.code, first.err).toBe(0);
  const since = /continue with --since (\d+)/.exec(first.out)?.[1];
  expect(since).toBeDefined();
  const rest = await ops('events', 'replay', '--since', since!);
  expect(rest.code, rest.err).toBe(0);

  expect({
    a: (await stack.record(a)).state,
    b: (await stack.record(b)).state,
    c: (await stack.record(c)).state,
  }).toEqual({ a: 'queued', b: 'queued', c: 'queued' });
});
