import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { startApi, type Api } from '../../src/server.js';

// Attack (ingest, mixed versions: a rolling upgrade that is rolled back, or old and new receivers side
// by side): the previous receiver (branch main) stored notifications inline and appended them to the
// same stream `<prefix>:events` with `XADD ... MAXLEN ~ EVENT_LOG_MAX_LEN` in its accept script, and its
// byte cap ran `XTRIM MAXLEN` unguarded. Neither knows the ingest group. Once the new receivers have
// acknowledged notifications their consumer has not finished (a backlog: the consumer is failing, which
// is exactly when a deploy is rolled back), the old version (a) never consumes them and (b) trims them
// away as it appends its own. When the new version comes back, the trimmed entries were never delivered
// to the group, so XREADGROUP '>' simply starts after them: not even the `lost` counter or its log line
// (those only cover deleted *pending* entries) records them, there is no dead letter and no alert; the
// deposits Interlace was told were received have no ledger record and are never swept.

describe('notifications acknowledged by the new receiver, then an old-version receiver writes the log', () => {
  let stack: Stack;
  let upgraded: Api | undefined;
  beforeAll(async () => {
    stack = await startStack('attack-ingest-old-trim', {
      workers: false,
      env: { EVENT_LOG_MAX_LEN: '100' },
    });
  });
  afterAll(async () => {
    await upgraded?.close();
    await stack?.close();
  });

  it('are still stored once the new version runs again', async () => {
    // The new receiver answers; its consumer is not keeping up (here: stopped).
    await stack.api.ingest.close();
    stack.sim.afterDelivery = undefined;
    const deposits = [stack.deposit('11'), stack.deposit('12'), stack.deposit('13')];
    for (const id of deposits) expect((await stack.notify(id)).status).toBe(200);

    // Rolled back: the old receiver's accept script appends each notification it stores inline, with
    // the count cap it has always used (src/deposits/scripts.ts on main: XADD ... MAXLEN ~ maxLen).
    for (let i = 0; i < 250; i += 1) {
      const body = JSON.stringify({ eventType: 'OTHER.EVENT', id: `old-${i}`, resource: '{}' });
      await stack.redis.xadd(
        stack.keys.legacyEvents,
        'MAXLEN',
        '~',
        String(stack.config.eventLogMaxLen),
        '*',
        'id',
        `old-${i}`,
        'eventType',
        'OTHER.EVENT',
        'receivedAt',
        String(Date.now()),
        'body',
        body,
      );
    }

    // Upgraded again: the new consumer reads what is left.
    upgraded = await startApi(stack.config, stack.logger);
    await upgraded.ingest.caughtUp(20_000);

    for (const id of deposits) expect((await stack.record(id)).state).toBe('queued');
  });
});
