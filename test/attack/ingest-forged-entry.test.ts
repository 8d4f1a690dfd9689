import { createIngestLog } from '../../src/webhooks/ingest-log.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { forgedDepositNotification } from '../helpers/forged-notification.js';
import { sweepJobId } from '../../src/queues/names.js';

// Attack (ingest, forged event-log entries): the receiver verifies a notification's signature and
// appends it to the event log; the ingest consumer then builds the ledger record and the sweep job from
// whatever entry it reads, without checking the signature the stored body carries. The project treats
// data written to Redis as untrusted elsewhere (dlq replay re-verifies the stored signature and refuses
// an unsigned body unless --allow-unsigned, audited), but an entry added to `<prefix>:events` by anything
// other than the receiver (a compromised or misconfigured process with Redis access, a copy of another
// environment's log, a test tool pointed at the wrong prefix) is now swept like a verified notification:
// money moves that no notification from Interlace proves, and the merchant is told of a deposit.

describe('an event-log entry whose stored signature does not verify', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack('attack-ingest-forged');
  });
  afterAll(async () => {
    await stack?.close();
  });

  it('is not turned into a ledger record and a sweep', async () => {
    // Real money in the service's wallet, notified under a forged id with another secret.
    const { forgedId, built, body } = forgedDepositNotification(stack);
    // The receiver would answer 401 to this notification.
    expect((await stack.sim.postNotification(stack.webhookUrl, built)).status).toBe(401);

    // Appended to the event log by the receiver's own appender.
    await createIngestLog(stack.redis, stack.keys).append({
      id: built.envelope.id,
      eventType: built.envelope.eventType,
      body,
    });
    await stack.api.ingest.caughtUp();
    if (await stack.sweepQueue.getJob(sweepJobId(forgedId))) await stack.settled(forgedId);

    expect(stack.transfersFor(forgedId)).toHaveLength(0);
    expect(await stack.record(forgedId)).toEqual({});
    // Not silently dropped either: a dead letter says why, for an operator to look at.
    const letter = (await stack.deadQueue.getJobs(['waiting'])).find(
      (job) => job.data.notification?.id === built.envelope.id,
    );
    expect(letter?.data).toMatchObject({ kind: 'ingest-failed' });
    expect(letter?.data.reason).toMatch(/stored signature is not valid/);
  });
});
