import { afterAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { startApi, type Api } from '../../src/server.js';
import { SWEEP_QUEUE } from '../../src/queues/names.js';
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { capturingLogger, testConfig } from '../helpers/config.js';

const redis = connectTestRedis();
const started: { api: Api; prefix: string; queue: Queue }[] = [];

async function start(env: Record<string, string>) {
  const prefix = uniquePrefix('dashboard-ro');
  const api = await startApi(
    testConfig({
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: 's3cret-pass',
      ...env,
    }),
    capturingLogger('info').logger,
  );
  const queue = new Queue(SWEEP_QUEUE, { connection: redis, prefix });
  started.push({ api, prefix, queue });
  return { api, queue };
}

afterAll(async () => {
  for (const { api, prefix, queue } of started) {
    await queue.close();
    await api.close();
    await deleteKeysWithPrefix(redis, prefix);
  }
  await redis.quit();
});

const auth = { authorization: `Basic ${Buffer.from('ops:s3cret-pass').toString('base64')}` };

describe('DASHBOARD_READ_ONLY=true', () => {
  it('refuses a retry (and every other write) with 403 and leaves the job unchanged, while GET works', async () => {
    const { api, queue } = await start({ DASHBOARD_READ_ONLY: 'true', DASHBOARD_ENVIRONMENT: 'staging' });
    const job = await queue.add('sweep', { depositId: 'd-1' }, { jobId: 'deposit-d-1' });
    const before = await queue.getJob(job.id!);
    const stateBefore = await before!.getState();

    const base = `${api.url}/admin/queues/api/queues`;
    const retry = await fetch(`${base}/sweep/deposit-d-1/retry`, { method: 'PUT', headers: auth });
    expect(retry.status).toBe(403);
    expect(await retry.json()).toMatchObject({ error: 'read-only' });
    for (const [method, path] of [
      ['PUT', '/sweep/retry/failed'],
      ['PUT', '/sweep/clean/waiting'],
      ['PUT', '/sweep/deposit-d-1/clean'],
      ['PUT', '/sweep/pause'],
      ['PUT', '/pause'],
      ['PUT', '/sweep/obliterate'],
      ['POST', '/sweep/add'],
      ['PATCH', '/sweep/deposit-d-1/update-data'],
      ['DELETE', '/sweep/deposit-d-1'],
    ] as const) {
      const response = await fetch(`${base}${path}`, {
        method,
        headers: { ...auth, 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status, `${method} ${path}`).toBe(403);
    }
    // Unauthenticated writes are still a 401: credentials are checked first.
    expect((await fetch(`${base}/sweep/deposit-d-1/retry`, { method: 'PUT' })).status).toBe(401);

    const after = await queue.getJob(job.id!);
    expect(await after!.getState()).toBe(stateBefore);
    expect(after!.data).toEqual({ depositId: 'd-1' });
    expect(after!.attemptsMade).toBe(before!.attemptsMade);
    expect(await queue.isPaused()).toBe(false);

    const list = await fetch(base, { headers: auth });
    expect(list.status).toBe(200);
    const queues = (
      (await list.json()) as { queues: { name: string; readOnlyMode: boolean; description?: string }[] }
    ).queues;
    expect(queues.every((q) => q.readOnlyMode)).toBe(true);
    expect(queues.find((q) => q.name === 'sweep-dead')?.description).toMatch(
      /awaiting an operator's decision: interlace-sweep-ops dlq show\|replay/,
    );
    expect((await fetch(`${base}/sweep/deposit-d-1`, { headers: auth })).status).toBe(200);
    const page = await fetch(`${api.url}/admin/queues`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('staging');
  });

  it('is the default: without DASHBOARD_READ_ONLY a write is refused', async () => {
    const { api, queue } = await start({});
    const response = await fetch(`${api.url}/admin/queues/api/queues/sweep/pause`, {
      method: 'PUT',
      headers: auth,
    });
    expect(response.status).toBe(403);
    expect(await queue.isPaused()).toBe(false);
  });

  it('leaves writes to Bull Board when DASHBOARD_READ_ONLY=false (opt-in)', async () => {
    const { api, queue } = await start({ DASHBOARD_READ_ONLY: 'false' });
    await queue.add('sweep', { depositId: 'd-2' }, { jobId: 'deposit-d-2' });
    const response = await fetch(`${api.url}/admin/queues/api/queues/sweep/pause`, {
      method: 'PUT',
      headers: auth,
    });
    expect(response.status).not.toBe(403);
    expect(await queue.isPaused()).toBe(true);
  });
});
