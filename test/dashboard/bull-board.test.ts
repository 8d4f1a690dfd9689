import { afterAll, describe, expect, it } from 'vitest';
import { startApi, type Api } from '../../src/server.js';
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { capturingLogger, testConfig } from '../helpers/config.js';

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
    expect(names.sort()).toEqual(['sweep', 'sweep-dead']);
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
    expect(names.sort()).toEqual(['alerts', 'sweep', 'sweep-dead']);
  });

  it('is not mounted without credentials, and the log says so', async () => {
    const { api, lines } = await start({});
    expect((await fetch(`${api.url}/admin/queues`)).status).toBe(404);
    expect(lines.some((line) => line.includes('dashboard not mounted'))).toBe(true);
  });
});
