import { performance } from 'node:perf_hooks';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../simulator/simulator.js';
import { available, fundedWallet, startSimulator, sweepBody, type Harness } from './helpers.js';

const TRANSFER = '/business/transfer/internal';
const harnesses: Harness[] = [];

afterEach(async () => {
  await Promise.all(harnesses.splice(0).map((h) => h.sim.close()));
});

async function start(options: Parameters<typeof startSimulator>[0] = {}) {
  const harness = await startSimulator(options);
  harnesses.push(harness);
  const token = await harness.api.token();
  const target = fundedWallet(harness.sim, '100');
  return { ...harness, token, target };
}

function walletsPath(accountId: string): string {
  return `/cards/wallets?accountId=${accountId}&walletType=0`;
}

describe('scripted faults', () => {
  it.each([
    ['http-500', 500],
    ['http-503', 503],
  ] as const)(
    '%s answers HTTP %i with an error envelope, commits nothing, then lets the next call through',
    async (kind, status) => {
      const { sim, api, token, target } = await start();
      sim.faults.enqueue('transfer', kind);

      const failed = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });
      const next = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });

      expect(failed.status).toBe(status);
      expect(failed.body.code).not.toBe('000000');
      expect(next.body.code).toBe('000000');
      expect(sim.transfers()).toHaveLength(1);
      expect(sim.faults.stats()[kind]).toBe(1);
    },
  );

  it('http-502 answers an HTML page, as a gateway would, and commits nothing', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.enqueue('transfer', 'http-502');

    const res = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });

    expect(res.status).toBe(502);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.text).toContain('502 Bad Gateway');
    expect(sim.transfers()).toHaveLength(0);
  });

  it('rate-limit answers 429 with Retry-After in seconds', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.enqueue('wallets', { kind: 'rate-limit', retryAfterSeconds: 7 });
    sim.faults.enqueue('wallets', 'rate-limit');

    const first = await api.call('GET', walletsPath(target.accountId), { token });
    const second = await api.call('GET', walletsPath(target.accountId), { token });

    expect(first.status).toBe(429);
    expect(first.headers.get('retry-after')).toBe('7');
    expect(first.body.code).not.toBe('000000');
    expect(second.headers.get('retry-after')).toBe('1');
  });

  it('latency delays the answer by delayMs and then answers normally', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.enqueue('wallets', { kind: 'latency', delayMs: 150 });

    const started = performance.now();
    const res = await api.call('GET', walletsPath(target.accountId), { token });

    expect(performance.now() - started).toBeGreaterThanOrEqual(145);
    expect(res.body.code).toBe('000000');
    expect(sim.requests().at(-1)).toMatchObject({ fault: 'latency', status: 200 });
  });

  it('reset-after-commit commits the transfer, drops the connection, and a retry returns the original', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.enqueue('transfer', 'reset-after-commit');
    const body = sweepBody(target);

    await expect(api.call('POST', TRANSFER, { token, body })).rejects.toThrow();
    const committed = sim.transfers();
    const retry = await api.call<{ id: string }>('POST', TRANSFER, { token, body });

    expect(committed).toHaveLength(1);
    expect(retry.body.code).toBe('000000');
    expect(retry.body.data.id).toBe(committed[0]?.id);
    expect(sim.transfers()).toHaveLength(1);
    expect(available(sim, target.walletId, 'USDC')).toBe('90');
    expect(
      sim
        .requests()
        .filter((r) => r.endpoint === 'transfer')
        .map((r) => r.outcome),
    ).toEqual(['reset', 'answered']);
  });

  it('timeout-after-commit commits the transfer, holds the answer until the client times out, and a retry returns the original', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.enqueue('transfer', { kind: 'timeout-after-commit', delayMs: 30_000 });
    const body = sweepBody(target);
    const timedOut = sim.waitFor('request', (entry) => entry.outcome === 'timeout');

    await expect(
      api.call('POST', TRANSFER, { token, body, signal: AbortSignal.timeout(200) }),
    ).rejects.toThrow();
    const entry = await timedOut;
    const retry = await api.call<{ id: string }>('POST', TRANSFER, { token, body });

    expect(entry).toMatchObject({
      endpoint: 'transfer',
      status: null,
      code: '000000',
      fault: 'timeout-after-commit',
    });
    expect(retry.body.data.id).toBe(sim.transfers()[0]?.id);
    expect(sim.transfers()).toHaveLength(1);
    expect(sim.transfers()[0]?.replays).toBe(1);
    expect(available(sim, target.walletId, 'USDC')).toBe('90');
  });

  it('timeout-after-commit destroys the socket after delayMs when the client waits longer', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.enqueue('transfer', { kind: 'timeout-after-commit', delayMs: 50 });

    await expect(api.call('POST', TRANSFER, { token, body: sweepBody(target) })).rejects.toThrow();

    expect(sim.transfers()).toHaveLength(1);
  });

  it('token-expired answers as for an expired token, without revoking it', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.enqueue('transfer', 'token-expired');

    const failed = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });
    const next = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });

    expect(failed.status).toBe(401);
    expect(failed.body.code).toBe('401003');
    expect(next.body.code).toBe('000000');
    expect(sim.transfers()).toHaveLength(1);
  });

  it('business-error answers the given code and message, with a default HTTP 200 or the given status', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.enqueue('transfer', { kind: 'business-error', code: '123456', message: 'risk control' });
    sim.faults.enqueue('transfer', { kind: 'business-error', httpStatus: 400 });

    const first = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });
    const second = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });

    expect(first.status).toBe(200);
    expect(first.body).toEqual({ code: '123456', message: 'risk control' });
    expect(second.status).toBe(400);
    expect(second.body.code).not.toBe('000000');
    expect(sim.transfers()).toHaveLength(0);
  });

  it('applies `times`, matches "any" endpoint, and leaves other endpoints alone', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.enqueue('transfer', 'http-503', 2);

    const wallets = await api.call('GET', walletsPath(target.accountId), { token });
    const a = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });
    const b = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });
    sim.faults.enqueue('any', 'http-500');
    const c = await api.call('GET', walletsPath(target.accountId), { token });

    expect([wallets.status, a.status, b.status, c.status]).toEqual([200, 503, 503, 500]);
    expect(sim.faults.pending()).toEqual([]);
  });

  it('never touches the control API', async () => {
    const { sim, api, url, token, target } = await start();
    sim.faults.enqueue('any', 'http-500');

    const control = await fetch(`${url}/_sim/summary`);
    const openApi = await api.call('GET', walletsPath(target.accountId), { token });

    expect(control.status).toBe(200);
    expect(openApi.status).toBe(500);
  });

  it('refuses an unknown fault kind or endpoint', async () => {
    const { sim } = await start();

    expect(() => sim.faults.enqueue('transfer', 'explode' as never)).toThrow(/invalid fault/);
    expect(() => sim.faults.enqueue('payments' as never, 'http-500')).toThrow(/endpoint/);
    expect(() => sim.faults.enqueue('transfer', 'http-500', 0)).toThrow(/times/);
  });
});

describe('random faults', () => {
  const rates = {
    http5xx: 0.25,
    rateLimit: 0.15,
    latencySpike: 0.1,
    latencySpikeMs: 1,
    resetAfterCommit: 0.1,
  };

  async function run(sim: Simulator, api: Harness['api'], token: string, accountId: string) {
    const statuses: Array<number | string> = [];
    for (let i = 0; i < 40; i += 1) {
      try {
        statuses.push((await api.call('GET', walletsPath(accountId), { token })).status);
      } catch {
        statuses.push('reset');
      }
    }
    return { statuses, kinds: sim.faults.history().map((f) => f.kind) };
  }

  it('gives the same fault sequence for the same seed, and another for another seed', async () => {
    const a = await start({ seed: 42 });
    const b = await start({ seed: 42 });
    const c = await start({ seed: 43 });
    for (const h of [a, b, c]) h.sim.faults.setRates(rates);

    const runA = await run(a.sim, a.api, a.token, a.target.accountId);
    const runB = await run(b.sim, b.api, b.token, b.target.accountId);
    const runC = await run(c.sim, c.api, c.token, c.target.accountId);

    expect(runA.kinds.length).toBeGreaterThan(5);
    expect(runB).toEqual(runA);
    expect(runC).not.toEqual(runA);
    expect(a.sim.faults.stats().total).toBe(runA.kinds.length);
  });

  it('does not shift the fault sequence when more ids are drawn', async () => {
    const a = await start({ seed: 7 });
    const b = await start({ seed: 7 });
    for (let i = 0; i < 5; i += 1) b.sim.createWallet(b.target.accountId);
    for (const h of [a, b]) h.sim.faults.setRates(rates);

    const runA = await run(a.sim, a.api, a.token, a.target.accountId);
    const runB = await run(b.sim, b.api, b.token, b.target.accountId);

    expect(runB.kinds).toEqual(runA.kinds);
  });

  it('tokenExpiry revokes every token and answers 401003', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.setRates({ tokenExpiry: 1 });

    const res = await api.call('GET', walletsPath(target.accountId), { token });

    expect(res.status).toBe(401);
    expect(res.body.code).toBe('401003');
    expect(sim.tokensIssued().every((t) => t.state === 'revoked')).toBe(true);
    expect(await api.token()).toMatch(/^[0-9a-f]{64}$/);
  });

  it('limits the rates to the listed endpoints', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.setRates({ http5xx: 1, endpoints: ['transfer'] });

    const wallets = await api.call('GET', walletsPath(target.accountId), { token });
    const transfer = await api.call('POST', TRANSFER, { token, body: sweepBody(target) });

    expect(wallets.status).toBe(200);
    expect(transfer.status).toBeGreaterThanOrEqual(500);
  });

  it('stops after clear() but keeps the counts', async () => {
    const { sim, api, token, target } = await start();
    sim.faults.setRates({ http5xx: 1 });
    await api.call('GET', walletsPath(target.accountId), { token });

    sim.faults.clear();
    const res = await api.call('GET', walletsPath(target.accountId), { token });

    expect(res.status).toBe(200);
    expect(sim.faults.stats().total).toBe(1);
  });

  it('refuses probabilities outside 0..1 or adding up to more than 1', async () => {
    const { sim } = await start();

    expect(() => sim.faults.setRates({ http5xx: 1.5 })).toThrow(/invalid fault rates/);
    expect(() => sim.faults.setRates({ http5xx: 0.6, rateLimit: 0.6 })).toThrow(/at most 1/);
    expect(() => sim.faults.setRates({ http5xx: 0.1, rateLimit: 0.2, latencySpike: 0.7 })).not.toThrow();
  });
});

describe('latencyMs', () => {
  it('delays every Open API call but not the control API', async () => {
    const { api, url, token, target } = await start({ latencyMs: 120 });

    const apiStarted = performance.now();
    await api.call('GET', walletsPath(target.accountId), { token });
    const apiMs = performance.now() - apiStarted;
    const controlStarted = performance.now();
    await fetch(`${url}/_sim/summary`);
    const controlMs = performance.now() - controlStarted;

    expect(apiMs).toBeGreaterThanOrEqual(115);
    expect(controlMs).toBeLessThan(115);
  });
});
