import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { freePort } from './ports.js';
import { connectTestRedis, deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from './redis.js';
import { hasRedisServerBinary, startRedisServer, type RedisServerHandle } from './redis-server.js';

/** Pids of redis-server processes whose parent is this test process (Linux /proc; empty elsewhere). */
function childRedisServerPids(): number[] {
  if (!existsSync('/proc/self/stat')) return [];
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited while we were listing
    }
    // Format: "pid (comm) state ppid ..."; comm may contain spaces, so split after the last ')'.
    const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (comm.startsWith('redis-server') && ppid === process.pid) pids.push(Number(entry));
  }
  return pids;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw error;
  }
}

async function withClient<T>(url: string, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    return await use(redis);
  } finally {
    redis.disconnect();
  }
}

describe.skipIf(!hasRedisServerBinary())('startRedisServer', () => {
  const servers: RedisServerHandle[] = [];
  const start = async (...args: Parameters<typeof startRedisServer>) => {
    const server = await startRedisServer(...args);
    servers.push(server);
    return server;
  };

  afterEach(async () => {
    await Promise.all(servers.splice(0).map((server) => server.dispose()));
  });

  it('serves on a loopback port and answers PING once started', async () => {
    const server = await start();
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);
    expect(server.running).toBe(true);
    await withClient(server.url, async (redis) => {
      expect(await redis.ping()).toBe('PONG');
    });
  });

  it('keeps data across stop/start when appendonly is on', async () => {
    const server = await start({ appendonly: true });
    await withClient(server.url, (redis) => redis.set('survivor', 'still-here'));

    const firstPid = server.pid;
    await server.stop();
    expect(server.running).toBe(false);
    expect(isProcessAlive(firstPid!)).toBe(false);

    await server.start();
    expect(server.pid).not.toBe(firstPid);
    await withClient(server.url, async (redis) => {
      expect(await redis.get('survivor')).toBe('still-here');
    });
  });

  it('starts without old data when appendonly is off', async () => {
    const server = await start();
    await withClient(server.url, (redis) => redis.set('ephemeral', '1'));
    await server.stop();
    await server.start();
    await withClient(server.url, async (redis) => {
      expect(await redis.get('ephemeral')).toBeNull();
    });
  });

  it('restarts on the same port after kill (SIGKILL), keeping fsynced AOF data', async () => {
    const server = await start({ appendonly: true, args: ['--appendfsync', 'always'] });
    await withClient(server.url, (redis) => redis.set('crash-survivor', 'yes'));

    const pid = server.pid!;
    await server.kill();
    expect(isProcessAlive(pid)).toBe(false);

    await server.start();
    await withClient(server.url, async (redis) => {
      expect(await redis.get('crash-survivor')).toBe('yes');
    });
  });

  it('pause() leaves commands unanswered until unpause()', async () => {
    const server = await start();
    const redis = new Redis(server.url, { maxRetriesPerRequest: 1, commandTimeout: 300 });
    try {
      expect(await redis.ping()).toBe('PONG');
      server.pause();
      await expect(redis.ping()).rejects.toThrow(/timed out/i);
      server.unpause();
      // A client without the short timeout: on a loaded machine a resumed server may take over 300 ms.
      await withClient(server.url, async (fresh) => expect(await fresh.ping()).toBe('PONG'));
    } finally {
      redis.disconnect();
    }
  });

  it('stop() also ends a paused server', async () => {
    const server = await start();
    const pid = server.pid!;
    server.pause();
    await server.stop();
    expect(isProcessAlive(pid)).toBe(false);
  });

  it('honours an explicit port and dir', async () => {
    const port = await freePort();
    const first = await start();
    const server = await start({ port, dir: first.dir });
    expect(server.port).toBe(port);
    expect(server.dir).toBe(first.dir);
    await withClient(server.url, async (redis) => {
      expect(await redis.ping()).toBe('PONG');
    });
  });

  it('rejects with the server output when redis-server cannot start', async () => {
    const server = await start();
    // The port is taken by the first server, and an explicit port is never swapped for another.
    await expect(startRedisServer({ port: server.port })).rejects.toThrow(/address already in use/i);
  });

  it('leaves no process behind after dispose()', async () => {
    const server = await start({ appendonly: true });
    const pid = server.pid!;
    expect(childRedisServerPids()).toContain(pid);
    await server.dispose();
    expect(server.running).toBe(false);
    expect(server.pid).toBeUndefined();
    expect(isProcessAlive(pid)).toBe(false);
    expect(existsSync(server.dir)).toBe(false);
  });

  afterAll(() => {
    // Every test above disposed its servers in afterEach; nothing may outlive the file.
    expect(childRedisServerPids()).toEqual([]);
  });
});

// The shared-Redis helpers, checked against the server test/helpers/global-setup.ts provided.
describe('test Redis helpers', () => {
  it('provides a reachable Redis URL', async () => {
    expect(testRedisUrl()).toMatch(/^rediss?:\/\//);
    const redis = connectTestRedis();
    try {
      expect(await redis.ping()).toBe('PONG');
    } finally {
      redis.disconnect();
    }
  });

  it('makes distinct prefixes from safe characters only', () => {
    const prefixes = new Set(Array.from({ length: 50 }, () => uniquePrefix('deposit store: *weird* [name]')));
    expect(prefixes.size).toBe(50);
    for (const prefix of prefixes) expect(prefix).toMatch(/^t-deposit-store-weird-name-[0-9a-f]{8}$/);
    expect(uniquePrefix('')).toMatch(/^t-test-[0-9a-f]{8}$/);
    expect(uniquePrefix('x'.repeat(200)).length).toBeLessThanOrEqual(64);
  });

  it('deletes every key under a prefix and nothing else', async () => {
    const redis = connectTestRedis();
    const prefix = uniquePrefix('cleanup');
    const neighbour = `${prefix}x`;
    try {
      const keys = Array.from({ length: 1_234 }, (_, i) => `${prefix}:key:${i}`);
      await redis.mset(...keys.flatMap((key) => [key, '1']));
      await redis.set(`${neighbour}:kept`, '1');
      await redis.set(prefix, 'bare prefix, not under it');

      expect(await deleteKeysWithPrefix(redis, prefix)).toBe(1_234);
      expect(await redis.exists(...keys.slice(0, 10))).toBe(0);
      expect(await redis.get(`${neighbour}:kept`)).toBe('1');
      expect(await redis.get(prefix)).not.toBeNull();
      expect(await deleteKeysWithPrefix(redis, prefix)).toBe(0);
    } finally {
      await redis.del(prefix, `${neighbour}:kept`);
      redis.disconnect();
    }
  });
});
