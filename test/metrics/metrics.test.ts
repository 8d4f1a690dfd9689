import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../helpers/stack.js';
import { freePort } from '../helpers/ports.js';
import { post, signedNotification, depositResource } from '../helpers/notifications.js';
import { TEST_CLIENT_SECRET } from '../helpers/config.js';
import { sample, scrape, sum } from './prom.js';

let stack: Stack;
let workerMetricsUrl: string;

beforeAll(async () => {
  const port = await freePort();
  stack = await startStack('metrics', { env: { METRICS_PORT: String(port), SWEEP_ATTEMPTS: '3' } });
  workerMetricsUrl = `http://127.0.0.1:${port}/metrics`;
});
afterAll(async () => {
  await stack?.close();
});

const TRANSFER = 'POST /business/transfer/internal';

describe('/metrics', () => {
  it('counts a signed deposit that is swept, on the receiver and on the worker metrics server', async () => {
    const [apiBefore, workerBefore] = [
      await scrape(`${stack.api.url}/metrics`),
      await scrape(workerMetricsUrl),
    ];
    const depositId = stack.deposit('12');

    expect(await stack.notify(depositId)).toMatchObject({ status: 200 });
    expect(await stack.settled(depositId)).toMatchObject({ status: 'completed' });

    const api = await scrape(`${stack.api.url}/metrics`);
    const worker = await scrape(workerMetricsUrl);
    const delta = (after: string, before: string, name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);

    expect(delta(api, apiBefore, 'isweep_webhook_requests_total', { outcome: 'accepted' })).toBe(1);
    expect(delta(api, apiBefore, 'isweep_webhook_store_seconds_count')).toBe(1);
    expect(delta(worker, workerBefore, 'isweep_sweeps_total', { outcome: 'swept', reason: '' })).toBe(1);
    expect(delta(worker, workerBefore, 'isweep_deposit_to_swept_seconds_count')).toBe(1);
    expect(
      sum(worker, 'isweep_interlace_call_seconds_count', { endpoint: TRANSFER, status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(sample(worker, 'isweep_token_renewals_total')).toBeGreaterThanOrEqual(1);
    // Scrape-time gauges and default process metrics.
    expect(worker).toMatch(/^isweep_queue_jobs\{queue="sweep",state="waiting"\} \d+$/m);
    expect(api).toMatch(/^isweep_queue_jobs\{queue="sweep-dead",state="failed"\} \d+$/m);
    expect(api).toMatch(/^isweep_dead_letters \d+$/m);
    expect(api).toMatch(/^process_cpu_user_seconds_total /m);
    // Never a deposit id, account id or secret in a label.
    for (const text of [api, worker]) {
      expect(text).not.toContain(depositId);
      expect(text).not.toContain(stack.account.accountId);
      expect(text).not.toContain(TEST_CLIENT_SECRET);
    }
  });

  it('counts a redelivered notification as a duplicate', async () => {
    const before = await scrape(`${stack.api.url}/metrics`);
    const depositId = stack.deposit('13');
    const notification = stack.sim.buildNotification(depositId);
    await stack.sim.postNotification(stack.webhookUrl, notification);
    await stack.sim.postNotification(stack.webhookUrl, notification);
    await stack.settled(depositId);
    const after = await scrape(`${stack.api.url}/metrics`);
    // The receiver answers both alike (appended); its ingest consumer tells the repeat apart.
    const labels = { outcome: 'duplicate' };
    expect(sample(after, 'isweep_ingest_processed_total', labels)).toBe(
      sample(before, 'isweep_ingest_processed_total', labels) + 1,
    );
    expect(sample(after, 'isweep_webhook_requests_total', { outcome: 'accepted' })).toBe(
      sample(before, 'isweep_webhook_requests_total', { outcome: 'accepted' }) + 2,
    );
  });

  it('counts a request with a bad signature as unauthorized, and a non-JSON one as unsupported', async () => {
    const before = await scrape(`${stack.api.url}/metrics`);
    const bad = signedNotification(depositResource(), { secret: TEST_CLIENT_SECRET, signWith: 'wrong' });
    expect((await post(stack.webhookUrl, bad.body, bad.headers)).status).toBe(401);
    expect((await post(stack.webhookUrl, 'x', { 'content-type': 'text/plain' })).status).toBe(415);
    const after = await scrape(`${stack.api.url}/metrics`);
    for (const outcome of ['unauthorized', 'unsupported_media_type'])
      expect(sample(after, 'isweep_webhook_requests_total', { outcome })).toBe(
        sample(before, 'isweep_webhook_requests_total', { outcome }) + 1,
      );
  });

  it('counts a dead letter, with a bounded reason label, and the dead-letter gauge sees it', async () => {
    const before = await scrape(workerMetricsUrl);
    const depositId = stack.deposit('14');
    stack.failTransfers('010021');
    await stack.notify(depositId);
    expect(await stack.settled(depositId)).toMatchObject({ status: 'failed' });

    const after = await scrape(workerMetricsUrl);
    const labels = { outcome: 'dead_lettered', reason: 'business-error' };
    expect(sample(after, 'isweep_sweeps_total', labels)).toBe(
      sample(before, 'isweep_sweeps_total', labels) + 1,
    );
    expect(sample(after, 'isweep_dead_letters')).toBe(await stack.deadQueue.count());
    expect(sample(after, 'isweep_dead_letters')).toBeGreaterThanOrEqual(1);
    expect(
      sum(after, 'isweep_interlace_call_seconds_count', { endpoint: TRANSFER, status: '200' }),
    ).toBeGreaterThanOrEqual(1);
    expect(after).not.toContain(depositId);
  });

  it('serves nothing but /metrics on the worker metrics port', async () => {
    expect((await fetch(workerMetricsUrl.replace('/metrics', '/other'))).status).toBe(404);
    expect((await fetch(workerMetricsUrl, { method: 'POST' })).status).toBe(404);
  });
});

describe('/readyz', () => {
  it('is 200 with a connected sweep worker', async () => {
    const response = await fetch(`${stack.api.url}/readyz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      ok: true,
      failed: [],
      checks: { redis: { ok: true }, workers: { ok: true } },
    });
  });

  it('is 503 naming the failed check when no sweep worker is connected', async () => {
    const bare = await startStack('readyz', { workers: false });
    try {
      const response = await fetch(`${bare.api.url}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toMatchObject({
        ok: false,
        failed: ['workers'],
        checks: { redis: { ok: true }, workers: { ok: false, count: 0 } },
      });
      expect((await fetch(`${bare.api.url}/healthz`)).status).toBe(200);
    } finally {
      await bare.close();
    }
  });
});
