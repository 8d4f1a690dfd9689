import { randomBytes } from 'node:crypto';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Webhook } from 'standardwebhooks';
import { startStack, type Stack } from '../helpers/stack.js';
import { cli } from '../ops/cli-harness.js';
import { createWalletStore } from '../../src/wallets/wallet-store.js';
import { relayOutbox } from '../../src/merchant-events/merchant-event-queue.js';
import { MERCHANT_EVENT_QUEUE, type MerchantEventJobData } from '../../src/merchant-events/merchant-event.js';
import type { AuditEntry } from '../../src/ops/audit-log.js';
import type { MerchantEventSummary } from '../../src/ops/merchant-events.js';
import { startMerchantEndpoint, type Delivery } from './merchant-endpoint.js';
import { startSlackEndpoint } from '../alerts/slack-endpoint.js';

const SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const WAIT = { timeout: 15_000, interval: 25 };

function merchantEnv(url: string): Record<string, string> {
  return {
    MERCHANT_WEBHOOK_URL: url,
    MERCHANT_WEBHOOK_SECRET: SECRET,
    MERCHANT_WEBHOOK_BACKOFF_MS: '20',
    MERCHANT_WEBHOOK_ATTEMPTS: '3',
  };
}

/** A CryptoConnect wallet of the stack's account, owned by a merchant customer (as POST /wallets leaves it). */
async function customerWallet(stack: Stack, externalId: string, name: string) {
  const wallet = stack.sim.createWallet(stack.account.accountId);
  await createWalletStore(stack.redis, stack.keys).adopt({
    id: `w-${externalId}`,
    externalId,
    name,
    walletId: wallet.id,
    accountId: stack.account.accountId,
    mode: 'mor',
    now: Date.now(),
  });
  return wallet;
}

const forDeposit = (deliveries: Delivery[], depositId: string) =>
  deliveries.filter((d) => d.verified?.data.deposit_id === depositId);

describe('merchant events: signed, at least once', () => {
  let endpoint: Awaited<ReturnType<typeof startMerchantEndpoint>>;
  let slack: Awaited<ReturnType<typeof startSlackEndpoint>>;
  let stack: Stack;
  beforeAll(async () => {
    endpoint = await startMerchantEndpoint(SECRET);
    slack = await startSlackEndpoint();
    stack = await startStack('merchant-events', {
      env: { ...merchantEnv(endpoint.url), ALERT_WEBHOOK_URL: slack.url },
    });
  });
  afterAll(async () => {
    await stack?.close();
    await endpoint?.close();
    await slack?.close();
  });

  it('tells the merchant a deposit was received and swept: signed, with the customer, amounts and fees', async () => {
    const wallet = await customerWallet(stack, 'cust-bob', 'Bob');
    const depositId = stack.sim.creditDeposit({
      walletId: wallet.id,
      currency: 'USDC',
      amount: '25',
      status: 'CLOSED',
    }).id;

    expect((await stack.notify(depositId)).status).toBe(200);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    const received = await endpoint.delivered(
      (b) => b.type === 'deposit.received' && b.data.deposit_id === depositId,
    );
    const swept = await endpoint.delivered(
      (b) => b.type === 'deposit.swept' && b.data.deposit_id === depositId,
    );

    const record = await stack.record(depositId);
    expect(received.verified).toMatchObject({
      type: 'deposit.received',
      data: {
        deposit_id: depositId,
        state: 'queued',
        status: 'CLOSED',
        currency: 'USDC',
        amount: '25',
        external_id: 'cust-bob',
        wallet: { id: 'w-cust-bob', wallet_id: wallet.id, external_id: 'cust-bob', name: 'Bob' },
        transfer_id: null,
      },
    });
    expect(swept.verified?.data).toMatchObject({
      state: 'swept',
      external_id: 'cust-bob',
      amount: '25',
      transfer_id: record.transferId,
      fee: record.feeTotal,
      fee_currency: record.feeCurrency,
      net_amount: record.netAmount,
      net_currency: record.netCurrency,
    });
    expect(record.netAmount).toBeDefined();
    // Standard Webhooks: the id header is the event's id; every event has its own.
    expect(received.headers['webhook-id']).toBe(received.verified?.id);
    expect(received.verified?.id).toMatch(/^evt_/);
    expect(swept.verified?.id).not.toBe(received.verified?.id);
    expect(received.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    // Exactly these two, once each.
    expect(
      forDeposit(endpoint.deliveries, depositId)
        .map((d) => d.verified?.type)
        .sort(),
    ).toEqual(['deposit.received', 'deposit.swept']);
    // The outbox is emptied by the relay.
    await vi.waitFor(async () => expect(await stack.redis.xlen(stack.keys.merchantOutbox)).toBe(0), WAIT);
  });

  it('signs the exact body: a tampered body or another secret does not verify', async () => {
    const delivery = endpoint.deliveries.find((d) => d.verified !== undefined)!;
    const tampered = delivery.raw.replace('"amount":"25"', '"amount":"2500"');
    expect(tampered).not.toBe(delivery.raw);
    expect(() => new Webhook(SECRET).verify(tampered, delivery.headers)).toThrow();
    const other = `whsec_${randomBytes(32).toString('base64')}`;
    expect(() => new Webhook(other).verify(delivery.raw, delivery.headers)).toThrow();
  });

  it('sends deposit.held and deposit.failed, with external_id null for a wallet of no customer', async () => {
    const held = stack.deposit('11', 'USDC', 'ON_HOLD');
    const failed = stack.deposit('12', 'USDC', 'FAIL');
    await stack.notify(held);
    await stack.notify(failed);
    const onHold = await endpoint.delivered((b) => b.type === 'deposit.held' && b.data.deposit_id === held);
    const onFail = await endpoint.delivered(
      (b) => b.type === 'deposit.failed' && b.data.deposit_id === failed,
    );
    expect(onHold.verified?.data).toMatchObject({ state: 'held', status: 'ON_HOLD', external_id: null });
    expect(onHold.verified?.data.reason).toContain('ON_HOLD');
    expect(onFail.verified?.data).toMatchObject({ state: 'failed', status: 'FAIL' });
    await endpoint.delivered((b) => b.type === 'deposit.received' && b.data.deposit_id === held);
  });

  it('retries a failed delivery with the same id and body until the merchant accepts it', async () => {
    const depositId = stack.deposit('13', 'USDC', 'FAIL');
    endpoint.failNext(500, 2, (body) => body.data.deposit_id === depositId);
    await stack.notify(depositId);
    await endpoint.delivered((b) => b.type === 'deposit.received' && b.data.deposit_id === depositId);
    await endpoint.delivered((b) => b.type === 'deposit.failed' && b.data.deposit_id === depositId);

    const mine = forDeposit(endpoint.deliveries, depositId);
    expect(mine.filter((d) => d.status === 500)).toHaveLength(2);
    for (const id of new Set(mine.map((d) => d.headers['webhook-id']))) {
      const attempts = mine.filter((d) => d.headers['webhook-id'] === id);
      // One body per event, whatever the attempt; accepted once.
      expect(new Set(attempts.map((d) => d.raw)).size).toBe(1);
      expect(attempts.filter((d) => d.status === 204)).toHaveLength(1);
    }
  });

  it('dead-letters an event after every attempt failed; the CLI lists it and replays it (audited)', async () => {
    endpoint.failAll(503);
    const depositId = stack.deposit('14', 'USDC', 'FAIL');
    await stack.notify(depositId);
    const queue = new Queue<MerchantEventJobData>(MERCHANT_EVENT_QUEUE, {
      connection: stack.redis,
      prefix: stack.prefix,
    });
    try {
      let ids: string[] = [];
      await vi.waitFor(async () => {
        ids = [...new Set(forDeposit(endpoint.deliveries, depositId).map((d) => d.headers['webhook-id']!))];
        expect(ids).toHaveLength(2);
        for (const id of ids) expect(await (await queue.getJob(id))?.getState()).toBe('failed');
      }, WAIT);
      // Every one of the 3 attempts was made, then nothing more.
      expect(forDeposit(endpoint.deliveries, depositId)).toHaveLength(6);

      const listed = await cli(stack.env, 'events', 'merchant', 'list', '--state', 'failed', '--json');
      expect(listed.code, listed.err).toBe(0);
      const dead = listed.json<MerchantEventSummary[]>().filter((e) => e.depositId === depositId);
      expect(dead.map((e) => e.eventId).sort()).toEqual([...ids].sort());
      expect(dead[0]).toMatchObject({ state: 'failed', attempts: 3 });
      expect(dead[0]!.lastError).toContain('HTTP 503');
      // Without --state: every state, newest first.
      const all = (await cli(stack.env, 'events', 'merchant', 'list', '--limit', '100', '--json')).json<
        MerchantEventSummary[]
      >();
      expect(all.map((e) => e.createdAt)).toEqual(
        all
          .map((e) => e.createdAt)
          .sort()
          .reverse(),
      );
      expect(new Set(all.map((e) => e.state))).toEqual(new Set(['completed', 'failed']));
      // Visible in the metrics (never the secret).
      const metrics = await (await fetch(`${stack.api.url}/metrics`)).text();
      expect(metrics).toMatch(/^isweep_queue_jobs\{queue="merchant-events",state="failed"\} [1-9]\d*$/m);
      expect(metrics).not.toContain(SECRET);
      // The operator is alerted, with the command that sends it again.
      for (const id of ids) {
        const alert = await slack.next((message) => message.text.includes(id));
        expect(alert.body.text).toContain(`events merchant replay ${id}`);
        expect(alert.body.text).toContain('HTTP 503');
      }

      endpoint.failAll(undefined);
      const eventId = dead.find((e) => e.type === 'deposit.failed')!.eventId;
      const dry = await cli(
        stack.env,
        'events',
        'merchant',
        'replay',
        eventId,
        '--dry-run',
        '--operator',
        'op',
        '--json',
      );
      expect(dry.json()).toMatchObject({ outcome: 'would-requeue', previousState: 'failed' });
      expect(await (await queue.getJob(eventId))?.getState()).toBe('failed');

      const replay = await cli(
        stack.env,
        'events',
        'merchant',
        'replay',
        eventId,
        '--operator',
        'op',
        '--json',
      );
      expect(replay.code, replay.err).toBe(0);
      const delivered = await endpoint.delivered((b) => b.id === eventId);
      expect(delivered.verified?.type).toBe('deposit.failed');
      await vi.waitFor(
        async () => expect(await (await queue.getJob(eventId))?.getState()).toBe('completed'),
        WAIT,
      );

      // A delivered event can be sent again, with the same id (the receiver recognises it).
      const again = await cli(
        stack.env,
        'events',
        'merchant',
        'replay',
        eventId,
        '--operator',
        'op',
        '--json',
      );
      expect(again.json()).toMatchObject({ outcome: 'requeued', previousState: 'completed' });
      await vi.waitFor(
        () =>
          expect(
            endpoint.deliveries.filter((d) => d.headers['webhook-id'] === eventId && d.status === 204),
          ).toHaveLength(2),
        WAIT,
      );

      const unknown = await cli(stack.env, 'events', 'merchant', 'replay', 'evt_nope', '--operator', 'op');
      expect(unknown.code).toBe(1);
      expect(unknown.err).toContain('no merchant event evt_nope');

      const audit = await cli(stack.env, 'audit', 'list', '--json');
      const replays = audit.json<AuditEntry[]>().filter((e) => e.command === 'events merchant replay');
      expect(replays.map((e) => [e.targets[0], e.dryRun])).toEqual([
        [eventId, false],
        [eventId, false],
        [eventId, true],
      ]);
    } finally {
      endpoint.failAll(undefined);
      await queue.close();
    }
  });
  it("an operator's replay tells the merchant as the service would, whatever the operator's shell says", async () => {
    const depositId = stack.deposit('15', 'USDC', 'FAIL');
    await stack.notify(depositId);
    const first = await endpoint.delivered(
      (b) => b.type === 'deposit.received' && b.data.deposit_id === depositId,
    );
    await endpoint.delivered((b) => b.type === 'deposit.failed' && b.data.deposit_id === depositId);
    // Its record is gone (expired, deleted), and so are its delivered events (kept 30 days); the event
    // log still has its notification.
    await stack.redis.del(stack.keys.deposit(depositId));
    const events = new Queue(MERCHANT_EVENT_QUEUE, { connection: stack.redis, prefix: stack.prefix });
    for (const job of await events.getJobs(['completed'])) {
      if ((job.data as MerchantEventJobData).depositId === depositId) await job.remove();
    }
    await events.close();

    const shell = { ...stack.env, MERCHANT_WEBHOOK_URL: undefined, MERCHANT_WEBHOOK_SECRET: undefined };
    const run = await cli(shell, 'events', 'replay', '--since', '1h', '--operator', 'op', '--json');
    expect(run.code, run.err).toBe(0);

    // Rebuilt from its notification, the record is new again: the merchant hears of it again, under the
    // same webhook-id (one event per deposit, type and state entered), so it deduplicates the repeat.
    await vi.waitFor(() => {
      const received = forDeposit(endpoint.deliveries, depositId).filter(
        (d) => d.verified?.type === 'deposit.received' && d.status === 204,
      );
      expect(received).toHaveLength(2);
      expect(new Set(received.map((d) => d.headers['webhook-id']))).toEqual(
        new Set([first.headers['webhook-id']]),
      );
    }, WAIT);
  });
});

describe('merchant events: no event lost across a crash between the state change and the relay', () => {
  let endpoint: Awaited<ReturnType<typeof startMerchantEndpoint>>;
  let stack: Stack;
  beforeAll(async () => {
    endpoint = await startMerchantEndpoint(SECRET);
    // No worker: nothing relays or delivers until one starts, as after a crash of every worker process.
    stack = await startStack('merchant-crash', { env: merchantEnv(endpoint.url), workers: false });
  });
  afterAll(async () => {
    await stack?.close();
    await endpoint?.close();
  });

  it('keeps the events in Redis with the state change, and delivers each once when a worker comes back', async () => {
    const wallet = await customerWallet(stack, 'cust-carol', 'Carol');
    const depositId = stack.sim.creditDeposit({
      walletId: wallet.id,
      currency: 'USDC',
      amount: '20',
      status: 'CLOSED',
    }).id;
    expect((await stack.notify(depositId)).status).toBe(200);
    // The state change and its event were written together, before anything relayed it.
    expect((await stack.record(depositId)).state).toBe('queued');
    const outbox = await stack.redis.xrange(stack.keys.merchantOutbox, '-', '+');
    expect(outbox.map(([, fields]) => fields[1])).toEqual(['deposit.received']);
    expect(endpoint.deliveries).toHaveLength(0);

    // A relay that dies after enqueueing, before deleting the entries: the entries stay.
    const queue = new Queue<MerchantEventJobData>(MERCHANT_EVENT_QUEUE, {
      connection: stack.redis,
      prefix: stack.prefix,
    });
    const dyingRedis = new Proxy(stack.redis, {
      get(target, property, receiver) {
        if (property === 'xdel') return () => Promise.reject(new Error('process killed'));
        const value = Reflect.get(target, property, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    await expect(
      relayOutbox({ redis: dyingRedis, keys: stack.keys, queue, webhook: stack.config.merchantWebhook! }),
    ).rejects.toThrow('process killed');
    expect(await stack.redis.xlen(stack.keys.merchantOutbox)).toBe(1);
    expect(await queue.count()).toBe(1);

    // The worker starts: it relays the same entry again (same job id: no second job), delivers, sweeps.
    await stack.restartWorkers();
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });
    await endpoint.delivered((b) => b.type === 'deposit.swept' && b.data.deposit_id === depositId);
    await vi.waitFor(async () => expect(await stack.redis.xlen(stack.keys.merchantOutbox)).toBe(0), WAIT);
    const mine = forDeposit(endpoint.deliveries, depositId);
    expect(mine.map((d) => d.verified?.type).sort()).toEqual(['deposit.received', 'deposit.swept']);
    expect(mine.every((d) => d.status === 204)).toBe(true);
    expect(mine[0]?.verified?.data.external_id).toBe('cust-carol');
    await queue.close();
  });
});
