import { describe, expect, it } from 'vitest';
import { createSimulator } from '../../simulator/simulator.js';
import { CLIENT_ID, CLIENT_SECRET, fundedWallet, startSimulator, sweepBody } from './helpers.js';

describe('Simulator.listen / close', () => {
  it('listens on a free loopback port and serves the Open API under /open-api/v3', async () => {
    const sim = createSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });

    const { url, port } = await sim.listen(0);
    const res = await fetch(`${url}/open-api/v3/oauth/authorize?clientId=${CLIENT_ID}`);
    await sim.close();

    expect(url).toBe(`http://127.0.0.1:${port}`);
    expect(port).toBeGreaterThan(0);
    expect(res.status).toBe(200);
    expect(sim.url).toBeUndefined();
  });

  it('returns from close() while a timeout-after-commit answer is held, and the client sees the connection drop', async () => {
    const { sim, api } = await startSimulator();
    const token = await api.token();
    const target = fundedWallet(sim);
    sim.faults.enqueue('transfer', { kind: 'timeout-after-commit', delayMs: 60_000 });
    const held = sim.waitFor('held');

    const pending = api.call('POST', '/business/transfer/internal', { token, body: sweepBody(target) });
    const heldEntry = await held;
    await sim.close();

    await expect(pending).rejects.toThrow();
    expect(heldEntry).toMatchObject({ endpoint: 'transfer', fault: 'timeout-after-commit', code: '000000' });
    expect(sim.transfers()).toHaveLength(1);
    expect(sim.requests().at(-1)?.outcome).toBe('timeout');
  });

  it('returns from close() while a call waits out an injected latency', async () => {
    const { sim, api } = await startSimulator();
    const token = await api.token();
    const target = fundedWallet(sim);
    sim.faults.enqueue('transfer', { kind: 'latency', delayMs: 60_000 });
    const fault = sim.waitFor('fault');

    const pending = api.call('POST', '/business/transfer/internal', { token, body: sweepBody(target) });
    await fault;
    await sim.close();

    await expect(pending).rejects.toThrow();
    expect(sim.transfers()).toHaveLength(0);
    expect(sim.requests().at(-1)?.outcome).toBe('aborted');
  });

  it('rejects pending waitFor calls on close, and is harmless before listen or twice', async () => {
    const sim = createSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });
    await sim.close();
    await sim.listen(0);
    const waiting = sim.waitFor('transfer');

    await sim.close();
    await sim.close();

    await expect(waiting).rejects.toThrow(/closed/);
  });

  it('refuses to listen twice', async () => {
    const { sim } = await startSimulator();

    await expect(sim.listen(0)).rejects.toThrow(/already listening/);
    await sim.close();
  });
});

describe('Simulator.reset', () => {
  it('forgets all state and replays the same ids for the same seed', async () => {
    const sim = createSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, seed: 99 });
    const first = sim.createAccount();
    sim.createWallet(first.accountId);
    sim.faults.enqueue('any', 'http-500');

    sim.reset();
    const again = sim.createAccount();

    expect(again).toEqual(first);
    expect(sim.wallet(first.accountId)).toBeUndefined();
    expect(sim.faults.pending()).toEqual([]);
    expect(sim.summary()).toMatchObject({ deposits: 0, transfers: 0, requests: 0 });
    await sim.close();
  });

  it('gives other ids for another seed', () => {
    const a = createSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, seed: 1 }).createAccount();
    const b = createSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, seed: 2 }).createAccount();

    expect(a.accountId).not.toBe(b.accountId);
  });
});

describe('createSimulator options', () => {
  it.each([
    [{ clientId: '' }, /clientId/],
    [{ feeRate: '1' }, /feeRate/],
    [{ feeRate: '-0.1' }, /feeRate/],
    [{ tokenTtlSeconds: 0 }, /tokenTtlSeconds/],
    [{ latencyMs: 1.5 }, /latencyMs/],
    [{ authFailure: 'http-403' as never }, /authFailure/],
  ])('refuses %o', (bad, message) => {
    expect(() => createSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...bad })).toThrow(
      message,
    );
  });

  it('applies the documented defaults', () => {
    const sim = createSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET });

    expect(sim.options).toMatchObject({
      webhookSecret: CLIENT_SECRET,
      tokenTtlSeconds: 86_400,
      invalidatePreviousTokens: true,
      authFailure: 'http-401',
      feeRate: '0.005',
      seed: 1,
      latencyMs: 0,
      depositEventType: 'CRYPTO_CONNECT_TRANSFER.UPDATED',
    });
  });
});
