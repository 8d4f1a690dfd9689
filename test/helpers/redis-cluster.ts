import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { freePort } from './ports.js';

export type RedisClusterHandle = { url: string; ports: number[]; stop(): Promise<void> };

/**
 * A throw-away Redis Cluster of `masters` redis-server processes on loopback (no replicas), created
 * with `redis-cli --cluster create`. Resolves once every node reports cluster_state:ok.
 */
export async function startRedisCluster(masters = 3): Promise<RedisClusterHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'isweep-cluster-'));
  const ports: number[] = [];
  const children: ChildProcess[] = [];
  const stop = async () => {
    await Promise.all(
      children.map(async (child) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const exited = once(child, 'exit');
        child.kill('SIGKILL');
        await exited;
      }),
    );
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    for (let i = 0; i < masters; i += 1) {
      // A free port can be taken by a parallel test before redis-server binds it: retry on another one.
      for (let attempt = 1; ; attempt += 1) {
        const port = await freePort();
        // Each node also listens on its cluster bus port, port + 10000, which must exist.
        if (port > 55_535) continue;
        const child = spawn(
          'redis-server',
          [
            '--port',
            String(port),
            '--bind',
            '127.0.0.1',
            '--cluster-enabled',
            'yes',
            '--cluster-config-file',
            `nodes-${port}.conf`,
            '--save',
            '',
            '--appendonly',
            'no',
            '--dir',
            dir,
          ],
          { stdio: ['ignore', 'pipe', 'pipe'] },
        );
        const ready = await new Promise<string | true>((resolve) => {
          let seen = '';
          const onData = (chunk: Buffer) => {
            seen += chunk.toString();
            if (seen.includes('Ready to accept connections')) resolve(true);
          };
          child.stdout!.on('data', onData);
          child.stderr!.on('data', onData);
          child.once('exit', (code) =>
            resolve(`cluster node on ${port} exited with ${code}: ${seen.slice(-500)}`),
          );
        });
        if (ready === true) {
          ports.push(port);
          children.push(child);
          break;
        }
        if (attempt >= 5) throw new Error(ready);
      }
    }
    const create = spawn(
      'redis-cli',
      [
        '--cluster',
        'create',
        ...ports.map((port) => `127.0.0.1:${port}`),
        '--cluster-replicas',
        '0',
        '--cluster-yes',
      ],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    const [code] = (await once(create, 'exit')) as [number];
    if (code !== 0) throw new Error(`redis-cli --cluster create exited with ${code}`);
    await waitForClusterOk(ports);
    return { url: `redis+cluster://${ports.map((port) => `127.0.0.1:${port}`).join(',')}`, ports, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

// Slot assignment propagates by gossip: each node must see all slots covered before clients connect.
async function waitForClusterOk(ports: number[], deadlineMs = 20_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (const port of ports) {
    const node = new Redis(port, '127.0.0.1', { maxRetriesPerRequest: null });
    try {
      while (!(await node.cluster('INFO')).includes('cluster_state:ok')) {
        if (Date.now() > until) throw new Error(`cluster node ${port} not ok within ${deadlineMs} ms`);
        await delay(50);
      }
    } finally {
      node.disconnect();
    }
  }
}
