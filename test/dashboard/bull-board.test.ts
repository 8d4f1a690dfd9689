import { afterAll, describe, expect, it } from 'vitest';
import { startApi, type Api } from '../../src/server.js';
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { capturingLogger, testConfig } from '../helpers/config.js';
import { freePort } from '../helpers/ports.js';

const started: { api: Api; prefix: string }[] = [];

async function start(env: Record<string, string>) {
  const prefix = uniquePrefix('dashboard');
  const log = capturingLogger('info');
  const api = await startApi(
    testConfig({ REDIS_URL: testRedisUrl(), QUEUE_PREFIX: prefix, ...env }),
    log.logger,
  );
  started.push({ api, prefix });
  return { api, lines: log.lines };
}

afterAll(async () => {
  const redis = connectTestRedis();
  for (const { api, prefix } of started) {
    await api.close();
    await deleteKeysWithPrefix(redis, prefix);
  }
  await redis.quit();
});

const basic = (user: string, password: string) =>
  `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

describe('Bull Board at /admin/queues', () => {
  it('asks for credentials, refuses wrong ones, and shows both queues with the right ones', async () => {
    const { api } = await start({ DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 's3cret-pass' });

    const anonymous = await fetch(`${api.url}/admin/queues`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic/);
    expect(
      (await fetch(`${api.url}/admin/queues`, { headers: { authorization: basic('ops', 'wrong') } })).status,
    ).toBe(401);
    expect(
      (
        await fetch(`${api.url}/admin/queues/api/queues`, {
          headers: { authorization: basic('ops', 'nope') },
        })
      ).status,
    ).toBe(401);

    const page = await fetch(`${api.url}/admin/queues`, {
      headers: { authorization: basic('ops', 's3cret-pass') },
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const queues = await fetch(`${api.url}/admin/queues/api/queues`, {
      headers: { authorization: basic('ops', 's3cret-pass') },
    });
    expect(queues.status).toBe(200);
    const names = ((await queues.json()) as { queues: { name: string }[] }).queues.map((queue) => queue.name);
    expect(names.sort()).toEqual(['payout', 'sweep', 'sweep-dead']);
  });

  it('also shows the alert queue when alerts are on', async () => {
    const { api } = await start({
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 's3cret-pass',
      ALERT_WEBHOOK_URL: 'http://127.0.0.1:9/hooks/alerts',
    });
    const queues = await fetch(`${api.url}/admin/queues/api/queues`, {
      headers: { authorization: basic('ops', 's3cret-pass') },
    });
    const names = ((await queues.json()) as { queues: { name: string }[] }).queues.map((queue) => queue.name);
    expect(names.sort()).toEqual(['alerts', 'payout', 'sweep', 'sweep-dead']);
  });

  it('also shows the merchant events when they are on, and leaves their replay to the CLI', async () => {
    // Writes opted in (DASHBOARD_READ_ONLY=false): a replay is still refused, naming the CLI.
    const { api } = await start({
      DASHBOARD_READ_ONLY: 'false',
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 's3cret-pass',
      MERCHANT_WEBHOOK_URL: 'http://127.0.0.1:9/hooks/merchant',
      MERCHANT_WEBHOOK_SECRET: `whsec_${Buffer.alloc(32, 7).toString('base64')}`,
    });
    const headers = { authorization: basic('ops', 's3cret-pass') };
    const queues = await fetch(`${api.url}/admin/queues/api/queues`, { headers });
    const names = ((await queues.json()) as { queues: { name: string }[] }).queues.map((queue) => queue.name);
    expect(names.sort()).toEqual(['merchant-events', 'payout', 'sweep', 'sweep-dead']);
    for (const path of ['/merchant-events/evt_1_0/retry', '/merchant-events/retry/failed']) {
      const refused = await fetch(`${api.url}/admin/queues/api/queues${path}`, { method: 'PUT', headers });
      expect(refused.status).toBe(403);
      expect(await refused.text()).toContain('events merchant replay');
    }
  });

  it('is not mounted without credentials, and the log says so', async () => {
    const { api, lines } = await start({});
    expect((await fetch(`${api.url}/admin/queues`)).status).toBe(404);
    expect(lines.some((line) => line.includes('dashboard not mounted'))).toBe(true);
  });
});

describe('recovery belongs to the CLI', () => {
  it('refuses a Retry of a sweep job and any change to a dead letter, naming the CLI, and keeps the rest', async () => {
    // With writes opted in (DASHBOARD_READ_ONLY=false): recovery stays refused.
    const { api } = await start({
      DASHBOARD_READ_ONLY: 'false',
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 's3cret-pass',
      OPS_COMMAND_HINT: 'docker compose exec worker interlace-sweep-ops',
    });
    const headers = { authorization: basic('ops', 's3cret-pass') };
    const base = `${api.url}/admin/queues/api/queues`;
    for (const [method, path] of [
      ['PUT', '/sweep/deposit-d-1/retry'],
      ['PUT', '/sweep/retry/failed'],
      ['POST', '/sweep/add'],
      ['PUT', '/sweep-dead/deposit-d-1/retry'],
      ['PUT', '/sweep-dead/clean/waiting'],
      ['PUT', '/sweep-dead/deposit-d-1/clean'],
      ['PATCH', '/sweep-dead/deposit-d-1/update-data'],
    ] as const) {
      const answer = await fetch(`${base}${path}`, { method, headers });
      expect(answer.status, `${method} ${path}`).toBe(403);
      expect(await answer.json()).toMatchObject({
        error: 'use-the-cli',
        message: expect.stringContaining('docker compose exec worker interlace-sweep-ops dlq replay'),
      });
    }
    // Not a recovery action: pausing the sweep queue still works (as `sweep pause` does).
    expect((await fetch(`${base}/sweep/pause`, { method: 'PUT', headers })).status).toBeLessThan(300);
    expect((await fetch(`${base}/sweep/resume`, { method: 'PUT', headers })).status).toBeLessThan(300);
  });
});

describe('ADMIN_PORT', () => {
  it('moves metrics, readiness and the dashboard off the public port, which keeps the webhook and /healthz', async () => {
    const { api, lines } = await start({
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 's3cret-pass',
      ADMIN_PORT: String(await freePort()),
    });
    expect(api.adminUrl).not.toBe(api.url);
    expect(api.adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    for (const path of ['/metrics', '/readyz', '/admin/queues'])
      expect((await fetch(`${api.url}${path}`)).status, `public ${path}`).toBe(404);
    expect((await fetch(`${api.url}/healthz`)).status).toBe(200);
    const webhook = await fetch(`${api.url}/webhooks/interlace`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    expect(webhook.status).toBe(400);

    const metrics = await fetch(`${api.adminUrl}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(
      /^isweep_build_info\{version="[^"]+",node_version="v\d+[^"]*",commit="unknown"\} 1$/m,
    );
    expect([200, 503]).toContain((await fetch(`${api.adminUrl}/readyz`)).status);
    expect((await fetch(`${api.adminUrl}/healthz`)).status).toBe(200);
    expect(
      (await fetch(`${api.adminUrl}/admin/queues`, { headers: { authorization: basic('ops', 'x') } })).status,
    ).toBe(401);
    expect(
      (
        await fetch(`${api.adminUrl}/admin/queues`, {
          headers: { authorization: basic('ops', 's3cret-pass') },
        })
      ).status,
    ).toBe(200);
    expect(lines.some((line) => line.includes('"admin":"http://127.0.0.1:'))).toBe(true);
  });
});
