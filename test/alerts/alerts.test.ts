import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue, QueueEvents } from 'bullmq';
import { startStack, type Stack } from '../helpers/stack.js';
import { ALERT_ATTEMPTS, ALERT_QUEUE, formatAlert, sendAlert } from '../../src/alerts/alerts.js';
import { testRedisUrl } from '../helpers/redis.js';
import { startSlackEndpoint } from './slack-endpoint.js';

// How the shipped compose stack sets it: a command that works in the image.
const OPS_COMMAND = 'docker compose exec worker interlace-sweep-ops';
let stack: Stack;
let slack: Awaited<ReturnType<typeof startSlackEndpoint>>;
let alertQueue: Queue;
let alertEvents: QueueEvents;

beforeAll(async () => {
  slack = await startSlackEndpoint();
  stack = await startStack('alerts', {
    env: {
      ALERT_WEBHOOK_URL: slack.url,
      DASHBOARD_ENVIRONMENT: 'staging',
      SWEEP_ATTEMPTS: '3',
      OPS_COMMAND_HINT: OPS_COMMAND,
    },
  });
  alertQueue = new Queue(ALERT_QUEUE, { connection: stack.redis, prefix: stack.prefix });
  alertEvents = new QueueEvents(ALERT_QUEUE, { connection: { url: testRedisUrl() }, prefix: stack.prefix });
  await alertEvents.waitUntilReady();
});
afterAll(async () => {
  await alertEvents?.close();
  await alertQueue?.close();
  await stack?.close();
  await slack?.close();
});

function deadLetterNext() {
  stack.failTransfers('010021');
}

describe('alerts to ALERT_WEBHOOK_URL', () => {
  it('posts a Slack-compatible alert when a deposit is dead-lettered', async () => {
    const depositId = stack.deposit('70');
    deadLetterNext();
    const delivered = slack.next((message) => message.text.includes(depositId));

    await stack.notify(depositId);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
    const { body, contentType } = await delivered;

    expect(contentType).toMatch(/^application\/json/);
    expect(body.text).toContain(`Deposit ${depositId}`);
    expect(body.text).toContain('70 USDC');
    expect(body.text).toContain('dead-lettered');
    expect(body.text).toContain('010021');
    expect(body.text).toContain('[staging]');
    expect(body.text).toContain(`Inspect: \`${OPS_COMMAND} deposits show ${depositId}\``);
    expect(body.attachments?.[0]?.fields).toEqual(
      expect.arrayContaining([{ title: 'Deposit', value: depositId, short: true }]),
    );
    expect(JSON.stringify(body)).not.toContain('test-client-secret');
  });

  it('retries an endpoint that fails twice with 500, and delivers the alert once', async () => {
    const depositId = stack.deposit('71');
    deadLetterNext();
    slack.failNext(500, 2);
    const delivered = slack.next((message) => message.text.includes(depositId));

    await stack.notify(depositId);
    // The sweep is settled (dead-lettered) whatever the alert endpoint does.
    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });
    await delivered;

    const attempts = slack.received.filter((entry) => entry.body.text.includes(depositId));
    expect(attempts.map((entry) => entry.status)).toEqual([500, 500, 200]);
    const [job] = (await alertQueue.getJobs(['completed', 'active', 'waiting', 'delayed'])).filter((j) =>
      JSON.stringify(j.data).includes(depositId),
    );
    expect(job).toBeDefined();
    await job!.waitUntilFinished(alertEvents, 10_000);
    const finished = await alertQueue.getJob(job!.id!);
    expect(finished?.attemptsMade).toBe(3);
    expect(finished?.opts.attempts).toBe(ALERT_ATTEMPTS);
    expect(finished?.opts.backoff).toMatchObject({ type: 'exponential' });
    expect(slack.received.filter((e) => e.body.text.includes(depositId) && e.status === 200)).toHaveLength(1);
  });

  it('alerts when a deposit is held (ON_HOLD), and only on the change', async () => {
    const depositId = stack.deposit('25', 'USDT', 'ON_HOLD');
    const delivered = slack.next((message) => message.text.includes(depositId));

    expect(await stack.notify(depositId, 'ON_HOLD')).toMatchObject({ status: 200 });
    const { body } = await delivered;
    expect(body.text).toContain('ON_HOLD');
    expect(body.text).toContain('25 USDT');
    expect(body.text).toContain(`Inspect: \`${OPS_COMMAND} deposits show ${depositId}\``);
    expect((await stack.record(depositId)).state).toBe('held');

    // A redelivery does not change the ledger state: no second alert job.
    await stack.notify(depositId, 'ON_HOLD');
    const jobs = (await alertQueue.getJobs(['completed', 'active', 'waiting', 'delayed', 'failed'])).filter(
      (job) => JSON.stringify(job.data).includes(depositId),
    );
    expect(jobs).toHaveLength(1);
  });

  it('delivers a reconcile-discrepancy alert sent with sendAlert, saying nothing moved and how to move it', async () => {
    const deps = stack.workers!.deps;
    const delivered = slack.next((message) => message.text.includes('wallet-bf-1'));
    expect(
      await sendAlert(deps, {
        kind: 'reconcile-discrepancy',
        accountId: 'acct-bf',
        walletId: 'wallet-bf-1',
        currency: 'USDC',
        amount: '42.5',
      }),
    ).toBe(true);
    const { body } = await delivered;
    expect(body.text).toContain('42.5 USDC');
    expect(body.text).toContain('Nothing was moved');
    expect(body.text).toContain('reconcile sweep wallet-bf-1 USDC');
  });
});

describe('without ALERT_WEBHOOK_URL', () => {
  it('queues nothing, for a dead letter nor a hold', async () => {
    const quiet = await startStack('alerts-off', { env: { SWEEP_ATTEMPTS: '2' } });
    try {
      const dead = quiet.deposit('72');
      quiet.failTransfers('010021');
      await quiet.notify(dead);
      expect(await quiet.settled(dead)).toMatchObject({ status: 'failed' });
      const held = quiet.deposit('26', 'USDC', 'ON_HOLD');
      await quiet.notify(held, 'ON_HOLD');
      expect((await quiet.record(held)).state).toBe('held');
      expect((await quiet.record(dead)).state).toBe('dead');

      expect(await quiet.redis.keys(`${quiet.prefix}:${ALERT_QUEUE}:*`)).toEqual([]);
      expect(
        await sendAlert(quiet.workers!.deps, { kind: 'held', depositId: 'x', amount: '1', currency: 'USD' }),
      ).toBe(false);
    } finally {
      await quiet.close();
    }
  });
});

describe('formatAlert', () => {
  it("escapes Slack's control characters", () => {
    const { text } = formatAlert(
      { kind: 'dead-lettered', depositId: '1', reason: 'bad <b> & co', amount: '1', currency: 'USDC' },
      'prod',
    );
    expect(text).toContain('bad &lt;b&gt; &amp; co');
  });

  it('names the CLI as it is installed in the image when no command is configured', () => {
    const { text } = formatAlert({ kind: 'held', depositId: 'd-1', amount: '5', currency: 'USDT' }, 'prod');
    expect(text).toContain('Inspect: `interlace-sweep-ops deposits show d-1`');
  });
});
