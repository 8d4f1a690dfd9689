import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { connectTestRedis, testRedisUrl } from '../helpers/redis.js';
import { freePort } from '../helpers/ports.js';

const ROOT = resolve(import.meta.dirname, '../..');
// `node --import tsx` as npm run demo does, without npm in between to swallow the exit code.
const DEMO = [process.execPath, ['--import', 'tsx', resolve(ROOT, 'scripts/demo.ts')]] as const;
const DEMO_TIMEOUT_MS = 50_000;

type Run = { code: number | null; stdout: string; stderr: string };

/** Runs the demo to completion; kills it and fails when it outlives `timeoutMs`. */
function runDemo(env: NodeJS.ProcessEnv, timeoutMs = DEMO_TIMEOUT_MS): Promise<Run> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(DEMO[0], DEMO[1], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the demo ran longer than ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    // 'close', not 'exit': every byte of output has been read by then.
    child.once('close', (code) => {
      clearTimeout(timer);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== '0');
  return found;
}

function section(output: string, from: string, to: string): string {
  const start = output.indexOf(from);
  const end = output.indexOf(to, start);
  return start === -1 ? '' : output.slice(start, end === -1 ? undefined : end);
}

describe('npm run demo (scripts/demo.ts)', () => {
  let redis: Redis;

  beforeAll(() => {
    redis = connectTestRedis();
  });
  afterAll(async () => {
    await redis?.quit();
  });

  it('sweeps every credited deposit exactly once, reports it, and leaves no key behind', async () => {
    const run = await runDemo({
      ...process.env,
      REDIS_URL: testRedisUrl(),
      LOG_LEVEL: 'warn',
      DEMO_PORT: '',
    });

    expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
    expect(run.stdout).toContain('exactly once: OK');
    expect(run.stdout).toMatch(/confirmed +Closed, tx \S+: 24\.68 USDC arrived/);
    expect(run.stdout).toContain('payout exactly once: OK');
    // Two customers' wallets made through the merchant API, paid to their addresses, totalled per customer.
    const customers = section(run.stdout, 'Per customer', 'Payout:');
    expect(customers).toMatch(
      /cust-alice +Alice +2 deposit\(s\), 2 swept: 150\.5 USDC received, \d+\.\d\d USD net/,
    );
    expect(customers).toMatch(/cust-bob +Bob +1 deposit\(s\), 1 swept: 75 USDT received, \d+\.\d\d USD net/);
    expect(customers).toMatch(/every deposit attributed +yes/);
    // Every deposit's signed events reached a receiver that verified them with standardwebhooks.
    expect(section(run.stdout, 'Merchant events', 'Payout:')).toMatch(
      /every event arrived and verified +yes/,
    );
    expect(run.stdout).toMatch(/http:\/\/demo:[A-Za-z0-9_-]+@127\.0\.0\.1:\d+\/admin\/queues/);
    const swept = /swept deposits\s+(\d+)/.exec(run.stdout)?.[1];
    const transfers = /transfers in Interlace ledger\s+(\d+)/.exec(run.stdout)?.[1];
    expect(Number(swept)).toBeGreaterThan(0);
    expect(transfers).toBe(swept);
    const deadLetters = section(run.stdout, 'Dead letters', 'Dashboard');
    expect(deadLetters).toMatch(/invalid deposit notification: amount "1e3"/);
    const prefix = /keys under "(demo-[0-9a-f]+):"/.exec(run.stdout)?.[1];
    expect(prefix).toBeDefined();
    expect(await keysUnder(redis, prefix!)).toEqual([]);
  });

  it('exits 1 and says how to get a Redis when there is none', async () => {
    // An empty PATH directory: the node binary's own directory may well hold redis-server too.
    const emptyDir = mkdtempSync(join(tmpdir(), 'demo-no-path-'));
    try {
      const port = await freePort();
      const run = await runDemo({ ...process.env, REDIS_URL: `redis://127.0.0.1:${port}`, PATH: emptyDir });

      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`No Redis answers at redis://127.0.0.1:${port}`);
      expect(run.stderr).toContain('Get one with: apt-get install redis-server');
      expect(run.stdout).not.toContain('exactly once');
    } finally {
      rmSync(emptyDir, { recursive: true, force: true });
    }
  });
});
