import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

export type LocalRedis = { url: string; started: boolean; stop(): Promise<void> };

/**
 * A Redis for local runs (demo, chaos, bench): the one at `url` if it answers, else a `redis-server`
 * from PATH on a free port in a temp dir, else an error that says how to get one.
 */
export async function findOrStartRedis(url: string): Promise<LocalRedis> {
  if (await answers(url)) return { url, started: false, stop: async () => {} };
  return startOwnRedis().catch((error: Error) => {
    throw new Error(error.message.replace('No Redis answers', `No Redis answers at ${url}`));
  });
}

/**
 * A fresh redis-server from PATH on a free port (benchmarks want one nobody else is using); `settings`
 * are extra `--name value` arguments.
 */
export async function startOwnRedis(settings: readonly string[] = []): Promise<LocalRedis> {
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      'No Redis answers and redis-server is not on PATH.\n' +
        '  Get one with: apt-get install redis-server | brew install redis | docker run -p 6379:6379 redis:7\n' +
        '  or point REDIS_URL at a running Redis.',
    );
  }
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'isweep-redis-'));
  const child = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      ...settings,
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  await ready(child);
  return {
    url: `redis://127.0.0.1:${port}`,
    started: true,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function answers(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 1_000,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  probe.on('error', () => {});
  try {
    await probe.connect();
    return (await probe.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString();
      if (seen.includes('Ready to accept connections')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)));
  });
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}
