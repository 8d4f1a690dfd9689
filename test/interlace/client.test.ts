import { inspect } from 'node:util';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import { createInterlaceClient, type InterlaceClient } from '../../src/interlace/client.js';
import { InterlaceError } from '../../src/interlace/errors.js';
import { createKeys } from '../../src/keys.js';
import { createSimulator, type Simulator } from '../../simulator/simulator.js';
import type { SimulatorOptions } from '../../simulator/types.js';
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { capturingLogger, testConfig, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from '../helpers/config.js';

let sim: Simulator;
let accountId: string;
const connections: Redis[] = [];
const clients: InterlaceClient[] = [];
let prefix: string;

async function startSim(options: Partial<SimulatorOptions> = {}) {
  sim = createSimulator({ clientId: TEST_CLIENT_ID, clientSecret: TEST_CLIENT_SECRET, ...options });
  const { url } = await sim.listen(0);
  accountId = sim.createAccount().accountId;
  prefix = uniquePrefix('client');
  return url;
}

/** One client as one process would build it: its own Redis connection, the shared prefix. */
function client(baseUrl: string, env: Record<string, string> = {}) {
  const redis = connectTestRedis();
  connections.push(redis);
  const log = capturingLogger();
  const config = testConfig({
    REDIS_URL: testRedisUrl(),
    QUEUE_PREFIX: prefix,
    INTERLACE_BASE_URL: baseUrl,
    ...env,
  });
  const created = createInterlaceClient({ config, redis, keys: createKeys(prefix), logger: log.logger });
  clients.push(created);
  return { client: created, lines: log.lines };
}

afterEach(async () => {
  vi.useRealTimers();
  for (const created of clients.splice(0)) created.close();
  const cleaner = connectTestRedis();
  await deleteKeysWithPrefix(cleaner, prefix);
  await cleaner.quit();
  await sim.close();
});
afterAll(async () => {
  await Promise.all(connections.map((redis) => redis.quit()));
});

describe('Interlace client: one access token shared by every process', () => {
  it('issues one token for many concurrent calls from two processes', async () => {
    const url = await startSim();
    const a = client(url).client;
    const b = client(url).client;

    const wallets = await Promise.all(
      Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).listInfinityWallets(accountId)),
    );

    expect(wallets.every((list) => list.some((wallet) => wallet.currency === 'USD'))).toBe(true);
    expect(sim.tokensIssued()).toHaveLength(1);
  });

  it.each(['http-401', 'code-401003'] as const)(
    'renews once when a token is rejected with %s, and retries the call',
    async (authFailure) => {
      const url = await startSim({ authFailure });
      const { client: api } = client(url);
      await api.listInfinityWallets(accountId);

      sim.expireTokens();
      const wallets = await api.listInfinityWallets(accountId);

      expect(wallets.length).toBeGreaterThan(0);
      expect(sim.tokensIssued()).toHaveLength(2);
      const rejected = sim.requests().filter((request) => request.code === '401003');
      expect(rejected).toHaveLength(1);
      expect(rejected[0]?.status).toBe(authFailure === 'http-401' ? 401 : 200);
    },
  );

  it('gives up with an authentication error when the renewed token is rejected too', async () => {
    const url = await startSim();
    const { client: api } = client(url);
    sim.faults.enqueue('wallets', 'token-expired', 2);

    const error = await api.listInfinityWallets(accountId).catch((failure: unknown) => failure);

    expect(error).toBeInstanceOf(InterlaceError);
    expect(error).toMatchObject({ category: 'authentication', reason: 'token-invalid' });
    expect(sim.tokensIssued()).toHaveLength(2);
  });

  it('renews ahead of expiry, before Interlace rejects anything', async () => {
    const url = await startSim({ tokenTtlSeconds: 3_600 });
    const { client: api } = client(url, { INTERLACE_TOKEN_RENEW_BEFORE_S: '300' });
    await api.listInfinityWallets(accountId);
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(Date.now() + 3_400 * 1000);

    await api.listInfinityWallets(accountId);

    expect(sim.tokensIssued()).toHaveLength(2);
    expect(sim.requests().filter((request) => request.code === '401003')).toHaveLength(0);
  });

  it('reports refused credentials as an authentication error that names no secret', async () => {
    const url = await startSim();
    const { client: api, lines } = client(url, { INTERLACE_CLIENT_ID: 'unknown-client' });

    const error = (await api
      .listInfinityWallets(accountId)
      .catch((failure: unknown) => failure)) as InterlaceError;

    expect(error).toMatchObject({ category: 'authentication', reason: 'token-request-failed' });
    expect(`${error.message} ${JSON.stringify(error)} ${lines.join('')}`).not.toContain(TEST_CLIENT_SECRET);
  });

  it('names neither the access token nor the client secret when a call fails on the way', async () => {
    const url = await startSim();
    // The secret travels in the token request's body; the token in every later call's headers.
    const { client: api, lines } = client(url, {
      INTERLACE_TOKEN_SEND_SECRET: 'true',
      INTERLACE_TIMEOUT_MS: '300',
    });
    sim.faults.enqueue('access-token', 'reset-after-commit', 1);
    const reset = await api.listInfinityWallets(accountId).catch((failure: unknown) => failure);
    await api.listInfinityWallets(accountId);
    const token = await connections[0]!.hget(createKeys(prefix).token(TEST_CLIENT_ID), 'accessToken');
    sim.faults.enqueue('wallets', { kind: 'timeout-after-commit', delayMs: 2_000 }, 1);
    const timedOut = await api.listInfinityWallets(accountId).catch((failure: unknown) => failure);

    expect(reset).toMatchObject({ category: 'transient', reason: 'network' });
    expect(timedOut).toMatchObject({ category: 'transient', reason: 'timeout' });
    expect(token).toBeTruthy();
    const everything = [
      ...[reset, timedOut].map((error) => `${inspect(error, { showHidden: true, depth: Infinity })}`),
      JSON.stringify([reset, timedOut]),
      ...lines,
    ].join('\n');
    expect(everything).not.toContain(TEST_CLIENT_SECRET);
    expect(everything).not.toContain(token!);
  });

  it('classifies a transfer answered with an unknown code as permanent', async () => {
    const url = await startSim();
    const { client: api } = client(url);
    sim.faults.enqueue('transfer', { kind: 'business-error', code: '123456', message: 'something new' }, 1);
    const error = await api
      .createInternalTransfer(
        {
          clientTransactionId: 'ctx-1',
          accountId,
          from: { businessType: 2, id: 'w', currency: 'USDC' },
          to: { businessType: 0, id: 'i', currency: 'USD' },
          amount: '1',
        },
        { idempotencyKey: 'ctx-1' },
      )
      .catch((failure: unknown) => failure);
    expect(error).toMatchObject({ category: 'permanent', reason: 'business-error', code: '123456' });
  });
});
