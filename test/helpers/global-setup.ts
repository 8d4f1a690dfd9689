import { Redis } from 'ioredis';
import type { TestProject } from 'vitest/node';
import { hasRedisServerBinary, startRedisServer } from './redis-server.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

type Teardown = () => Promise<void>;

/**
 * Picks the Redis every test file shares, in order of preference:
 * 1. `REDIS_URL` (CI starts its own server and passes it in);
 * 2. a throwaway `redis-server` from PATH, on a free loopback port;
 * 3. a `redis:7-alpine` container through testcontainers (laptops with Docker but no local Redis).
 * Tests read it with `inject('redisUrl')` (see ./redis.ts) and isolate themselves with key prefixes.
 */
export default async function setup(project: TestProject): Promise<Teardown> {
  const fromEnv = process.env.REDIS_URL;
  if (fromEnv !== undefined && fromEnv !== '') {
    await assertAnswersPing(fromEnv);
    project.provide('redisUrl', fromEnv);
    console.log(`[global-setup] tests use REDIS_URL=${redact(fromEnv)}`);
    return async () => {};
  }

  if (hasRedisServerBinary()) {
    const server = await startRedisServer();
    project.provide('redisUrl', server.url);
    console.log(`[global-setup] tests use a redis-server from PATH at ${server.url} (pid ${server.pid})`);
    return () => server.dispose();
  }

  const container = await startContainer();
  const url = `redis://${container.getHost()}:${container.getMappedPort(6379)}`;
  project.provide('redisUrl', url);
  console.log(`[global-setup] tests use a redis:7-alpine container at ${url}`);
  return async () => {
    await container.stop();
  };
}

async function assertAnswersPing(url: string): Promise<void> {
  // One attempt, no reconnects: a wrong REDIS_URL should fail the run at once, not hang every test.
  const redis = new Redis(url, {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 5_000,
    retryStrategy: () => null,
  });
  // ioredis rejects connect() with a bare "Connection is closed."; the socket error says why.
  let socketError: Error | undefined;
  redis.on('error', (error: Error) => {
    socketError ??= error;
  });
  try {
    await redis.connect();
    const reply = await redis.ping();
    if (reply !== 'PONG') throw new Error(`PING answered ${JSON.stringify(reply)}`);
  } catch (error) {
    const cause = socketError ?? error;
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new Error(
      `REDIS_URL=${redact(url)} does not answer PING (${reason}). Start that Redis, or unset REDIS_URL ` +
        'to let the tests spawn a redis-server from PATH.',
      { cause },
    );
  } finally {
    redis.disconnect();
  }
}

async function startContainer() {
  try {
    // Loaded only here: most runs never need Docker, and importing testcontainers is not free.
    const { GenericContainer, Wait } = await import('testcontainers');
    return await new GenericContainer('redis:7-alpine')
      .withExposedPorts(6379)
      .withCommand(['redis-server', '--save', '', '--appendonly', 'no'])
      .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
      .start();
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    // testcontainers 12 pulls in an undici that needs Node >= 22 and fails to even load on older Nodes.
    const nodeHint =
      Number(process.versions.node.split('.')[0]) < 22
        ? ` testcontainers 12 needs Node >= 22.22; this is Node ${process.versions.node}.`
        : '';
    throw new Error(
      'No Redis for the tests: REDIS_URL is unset, there is no redis-server on PATH, and a redis:7-alpine ' +
        `container could not be started (${reason}).${nodeHint} Set REDIS_URL, install redis-server, or start Docker.`,
      { cause: error },
    );
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable URL)';
  }
}
