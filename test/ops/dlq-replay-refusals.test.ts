import { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { createRedis } from '../../src/redis.js';
import { writeDeadLetter } from '../../src/queues/dead-letter.js';
import { SWEEP_QUEUE, sweepJobId } from '../../src/queues/names.js';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';
import { signResource } from '../../src/interlace/webhook-signature.js';
import type { AuditEntry } from '../../src/ops/audit-log.js';
import type { ReplayOutcome } from '../../src/ops/dlq-replay.js';
import { cli } from './cli-harness.js';

let stack: Stack;
const ops = (...argv: string[]) => cli(stack.env, '--operator', 'replay-tester', ...argv);
const outcomes = (run: { json<T>(): T }) => run.json<{ outcomes: ReplayOutcome[] }>().outcomes;

beforeAll(async () => {
  stack = await startStack('dlq-refusals', { env: { SWEEP_ATTEMPTS: '2', RECONCILE_ENABLED: 'false' } });
});
afterAll(async () => {
  await stack?.close();
});

async function deadDeposit(amount: string): Promise<string> {
  stack.failTransfers('010021');
  const depositId = stack.deposit(amount);
  expect((await stack.notify(depositId)).status).toBe(200);
  expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
  expect((await stack.record(depositId)).state).toBe('dead');
  return depositId;
}

/** A stale "sweep failed" letter for a deposit that is not dead (written by hand, as a bug or a race could). */
async function staleLetter(depositId: string) {
  await writeDeadLetter(stack.deadQueue, {
    kind: 'sweep-failed',
    depositId,
    reason: 'retries-exhausted: network: socket hang up',
    attempts: [],
    deadAt: new Date().toISOString(),
  });
  return `deposit-${depositId}`;
}

describe('dlq replay refuses, and moves no money', () => {
  it('a letter whose deposit is not dead (held)', async () => {
    const held = stack.deposit('7', 'USDC', 'ON_HOLD');
    await stack.notify(held, 'ON_HOLD');
    expect((await stack.record(held)).state).toBe('held');
    const letter = await staleLetter(held);

    const run = await ops('--json', 'dlq', 'replay', letter);

    expect(run.code).toBe(1);
    expect(outcomes(run)[0]).toMatchObject({
      outcome: 'refused',
      message: 'deposit is held, not dead',
      state: 'held',
    });
    expect((await stack.record(held)).state).toBe('held');
    expect(stack.sim.transferCalls(sweepTransactionId(held)).calls).toBe(0);
    expect(await stack.deadQueue.getJob(letter)).toBeDefined();
  });

  it('a letter whose deposit is no longer in the ledger', async () => {
    const depositId = await deadDeposit('8');
    const callsBefore = stack.sim.transferCalls(sweepTransactionId(depositId)).calls;
    await stack.redis.del(stack.keys.deposit(depositId));

    const run = await ops('--json', 'dlq', 'replay', `deposit-${depositId}`);

    expect(run.code).toBe(1);
    expect(outcomes(run)[0]).toMatchObject({
      outcome: 'refused',
      message: 'deposit is not in the ledger (expired?)',
    });
    expect(stack.sim.transferCalls(sweepTransactionId(depositId)).calls).toBe(callsBefore);
  });

  it('a letter whose sweep job is still running', async () => {
    const depositId = await deadDeposit('9');
    const callsBefore = stack.sim.transferCalls(sweepTransactionId(depositId)).calls;
    // Its job runs again somewhere (a worker picked up a re-added job): this worker holds it active.
    await stack.workers!.worker.pause();
    const connection = createRedis(stack.config.redisUrl, 'worker', 'test-holder');
    let release = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    let started = () => {};
    const active = new Promise<void>((resolve) => (started = resolve));
    const holder = new Worker(
      SWEEP_QUEUE,
      async () => {
        started();
        await released;
      },
      { connection, prefix: stack.prefix, autorun: false },
    );
    try {
      await stack.sweepQueue.remove(sweepJobId(depositId));
      await stack.sweepQueue.add('sweep', { depositId }, { jobId: sweepJobId(depositId) });
      void holder.run();
      await active;

      const run = await ops('--json', 'dlq', 'replay', `deposit-${depositId}`);

      expect(run.code).toBe(1);
      expect(outcomes(run)[0]).toMatchObject({
        outcome: 'refused',
        message: 'its sweep job is still running; try again shortly',
      });
      expect((await stack.record(depositId)).state).toBe('dead');
    } finally {
      release();
      await holder.close();
      connection.disconnect();
      stack.workers!.worker.resume();
    }
    expect(stack.sim.transferCalls(sweepTransactionId(depositId)).calls).toBe(callsBefore);
  });

  it('--all replays only what may be replayed: one dead deposit swept once, the rest refused and kept', async () => {
    const dead = await deadDeposit('10');
    const callsBefore = stack.sim.transferCalls(sweepTransactionId(dead)).calls;
    const swept = stack.deposit('11');
    await stack.notify(swept);
    expect(await stack.settled(swept)).toMatchObject({ status: 'completed' });
    const sweptLetter = await staleLetter(swept);

    const run = await ops('--json', 'dlq', 'replay', '--all');

    expect(run.code).toBe(1);
    const byDeposit = new Map(outcomes(run).map((o) => [o.depositId, o]));
    expect(byDeposit.get(dead)).toMatchObject({ outcome: 'replayed' });
    expect(byDeposit.get(swept)).toMatchObject({
      outcome: 'refused',
      message: expect.stringMatching(/^already swept/),
    });
    expect(await stack.settled(dead)).toMatchObject({ status: 'completed' });
    expect(await stack.record(dead)).toMatchObject({ state: 'swept' });
    expect(stack.sim.transferCalls(sweepTransactionId(dead)).calls).toBe(callsBefore + 1);
    expect(stack.sim.transferCalls(sweepTransactionId(swept)).calls).toBe(1);
    expect(await stack.deadQueue.getJob(sweptLetter)).toBeDefined();
    const [audit] = (await ops('--json', 'audit', 'list', '--limit', '1')).json<AuditEntry[]>();
    expect(audit).toMatchObject({ command: 'dlq replay', targets: ['--all'] });
  });
});

describe('dlq replay of a stored notification re-verifies its signature', () => {
  /** An invalid-notification letter holding a deposit resource that would be valid now. */
  async function notificationLetter(signature: string | undefined) {
    const depositId = stack.deposit('12');
    const resource = JSON.stringify(stack.sim.depositResource(depositId));
    const id = `n-${depositId}`;
    const body = JSON.stringify({
      eventType: 'CRYPTO_CONNECT_TRANSFER.UPDATED',
      id,
      resource,
      ...(signature !== undefined ? { signature: { signature, method: 'HMAC-SHA256' } } : {}),
    });
    const letterId = await writeDeadLetter(stack.deadQueue, {
      kind: 'invalid-notification',
      depositId,
      reason: 'invalid deposit notification: written by hand',
      attempts: [],
      notification: { id, eventType: 'CRYPTO_CONNECT_TRANSFER.UPDATED', body },
      deadAt: new Date().toISOString(),
    });
    return { depositId, letterId, resource };
  }

  it.each([
    ['no signature', () => undefined],
    ['a signature made with another secret', (resource: string) => signResource(resource, 'not-the-secret')],
  ])(
    'refuses a letter with %s (dry run too), and --allow-unsigned replays it, audited',
    async (_name, sign) => {
      const { depositId, letterId } = await notificationLetter(undefined);
      // Rewrite the body with the signature of this case.
      const letter = (await stack.deadQueue.getJob(letterId))!;
      const body = JSON.parse(letter.data.notification!.body) as { resource: string };
      const signature = sign(body.resource);
      await letter.updateData({
        ...letter.data,
        notification: {
          ...letter.data.notification!,
          body: JSON.stringify({ ...body, ...(signature ? { signature: { signature } } : {}) }),
        },
      });

      for (const argv of [['--dry-run'], []]) {
        const refused = await ops('--json', 'dlq', 'replay', letterId, ...argv);
        expect(refused.code).toBe(1);
        expect(outcomes(refused)[0]).toMatchObject({
          outcome: 'refused',
          message: expect.stringMatching(/no valid signature.*--allow-unsigned/),
        });
      }
      expect(await stack.redis.exists(stack.keys.deposit(depositId))).toBe(0);

      const allowed = await ops('--json', 'dlq', 'replay', letterId, '--allow-unsigned');
      expect(allowed.code).toBe(0);
      expect(outcomes(allowed)[0]).toMatchObject({ outcome: 'replayed', depositId });
      expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
      const [audit] = (await ops('--json', 'audit', 'list', '--limit', '1')).json<AuditEntry[]>();
      expect(audit).toMatchObject({ command: 'dlq replay', targets: [letterId, '--allow-unsigned'] });
    },
  );

  it('replays a letter whose stored signature verifies, without the flag', async () => {
    const { depositId, letterId, resource } = await notificationLetter('placeholder');
    const letter = (await stack.deadQueue.getJob(letterId))!;
    const body = JSON.parse(letter.data.notification!.body) as Record<string, unknown>;
    await letter.updateData({
      ...letter.data,
      notification: {
        ...letter.data.notification!,
        body: JSON.stringify({
          ...body,
          signature: { signature: signResource(resource, stack.config.interlace.webhookSecret) },
        }),
      },
    });
    const run = await ops('--json', 'dlq', 'replay', letterId);
    expect(run.code).toBe(0);
    expect(outcomes(run)[0]).toMatchObject({ outcome: 'replayed', depositId });
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
  });
});
