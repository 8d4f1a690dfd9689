import type { Redis } from 'ioredis';
import { runCli } from '../../src/ops/run-cli.js';

export type CliRun = { code: number; out: string; err: string; json<T = unknown>(): T };

/** Runs the operator CLI in-process against `env`, capturing what it prints. */
export async function cli(env: Record<string, string | undefined>, ...argv: string[]): Promise<CliRun> {
  return cliOn({ env, tty: false }, ...argv);
}

/** Like `cli`, with stderr a terminal or not (the progress line shows only on a terminal). */
export async function cliOn(
  options: { env: Record<string, string | undefined>; tty: boolean },
  ...argv: string[]
): Promise<CliRun> {
  let out = '';
  let err = '';
  const code = await runCli(argv, {
    env: options.env,
    stdout: { write: (text: string) => (out += text) },
    stderr: { write: (text: string) => (err += text), isTTY: options.tty },
  });
  return { code, out, err, json: <T>() => JSON.parse(out) as T };
}

/** The keys under `prefix` (SCAN, so it works on a busy shared Redis). */
export async function keysUnder(redis: Redis, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  return keys.sort();
}

/**
 * Every key under the prefix with its full value, to prove a dry run wrote nothing. Two BullMQ keys are left
 * out because they change with time alone, whatever the CLI does: the stalled-job check (rewritten by idle
 * workers on a timer) and the rate limiter's window (expires a second after the last sweep started).
 */
export async function snapshotKeys(redis: Redis, prefix: string): Promise<Record<string, unknown>> {
  const snapshot: Record<string, unknown> = {};
  for (const key of await keysUnder(redis, prefix)) {
    if (key.endsWith(':stalled-check') || key.endsWith(':limiter')) continue;
    const type = await redis.type(key);
    if (type === 'string') snapshot[key] = await redis.get(key);
    else if (type === 'hash') snapshot[key] = await redis.hgetall(key);
    else if (type === 'list') snapshot[key] = await redis.lrange(key, 0, -1);
    else if (type === 'set') snapshot[key] = (await redis.smembers(key)).sort();
    else if (type === 'zset') snapshot[key] = await redis.zrange(key, 0, -1, 'WITHSCORES');
    else if (type === 'stream') snapshot[key] = await redis.xrange(key, '-', '+');
    else snapshot[key] = type;
  }
  return snapshot;
}
