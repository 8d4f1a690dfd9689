import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import { loadSimulatorEnv, SimulatorEnvError } from '../../simulator/env.js';

const ROOT = resolve(import.meta.dirname, '../..');
const MAIN = resolve(ROOT, 'simulator/main.ts');
// `node --import tsx` rather than the tsx CLI: the CLI relays signals to a child process and
// SIGKILLs it when it does not acknowledge within 30 ms, which a loaded test machine can miss.
const NODE_ARGS = ['--import', 'tsx', MAIN];

describe('loadSimulatorEnv', () => {
  it('applies the defaults of npm run simulator', () => {
    expect(loadSimulatorEnv({})).toEqual({
      port: 4010,
      host: '127.0.0.1',
      options: {
        clientId: 'sim-client',
        clientSecret: 'sim-secret',
        seed: 1,
        latencyMs: 0,
        tokenTtlSeconds: 86_400,
        feeRate: '0.005',
        authFailure: 'http-401',
      },
    });
  });

  it('reads every variable', () => {
    const env = loadSimulatorEnv({
      SIMULATOR_PORT: '5000',
      SIMULATOR_HOST: '0.0.0.0',
      INTERLACE_CLIENT_ID: 'id',
      INTERLACE_CLIENT_SECRET: 'secret',
      INTERLACE_WEBHOOK_SECRET: 'hook',
      SIMULATOR_SEED: '42',
      SIMULATOR_LATENCY_MS: '25',
      SIMULATOR_TOKEN_TTL_S: '60',
      SIMULATOR_FEE_RATE: '0.01',
      SIMULATOR_AUTH_FAILURE: 'code-401003',
    });

    expect(env).toEqual({
      port: 5000,
      host: '0.0.0.0',
      options: {
        clientId: 'id',
        clientSecret: 'secret',
        webhookSecret: 'hook',
        seed: 42,
        latencyMs: 25,
        tokenTtlSeconds: 60,
        feeRate: '0.01',
        authFailure: 'code-401003',
      },
    });
  });

  it('names every bad variable in one error', () => {
    const read = () =>
      loadSimulatorEnv({
        SIMULATOR_PORT: '70000',
        SIMULATOR_SEED: 'x',
        SIMULATOR_LATENCY_MS: '-1',
        SIMULATOR_TOKEN_TTL_S: '0',
        SIMULATOR_FEE_RATE: '1.5',
      });

    expect(read).toThrow(SimulatorEnvError);
    try {
      read();
    } catch (error) {
      expect((error as SimulatorEnvError).problems.map((p) => p.variable)).toEqual([
        'SIMULATOR_PORT',
        'SIMULATOR_SEED',
        'SIMULATOR_LATENCY_MS',
        'SIMULATOR_TOKEN_TTL_S',
        'SIMULATOR_FEE_RATE',
      ]);
    }
  });
});

describe('npm run simulator (simulator/main.ts)', () => {
  it('prints its base URL, serves, and exits 0 on SIGTERM', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, NODE_ARGS, {
      cwd: ROOT,
      env: { ...process.env, SIMULATOR_PORT: '0', SIMULATOR_SEED: '5' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
    const url = /(http:\/\/127\.0\.0\.1:\d+)/.exec(line)?.[1];

    const health = await fetch(`${url}/_sim/healthz`);
    const authorize = await fetch(`${url}/open-api/v3/oauth/authorize?clientId=sim-client`);
    child.kill('SIGTERM');
    const [code] = (await exited) as [number | null];

    expect(health.status).toBe(200);
    expect(((await authorize.json()) as { code: string }).code).toBe('000000');
    expect(code).toBe(0);
  });

  it('exits 1 naming the variable when a value is bad', { timeout: 30_000 }, async () => {
    const child = spawn(process.execPath, NODE_ARGS, {
      cwd: ROOT,
      env: { ...process.env, SIMULATOR_PORT: 'eighty' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));

    const [code] = (await once(child, 'exit')) as [number | null];

    expect(code).toBe(1);
    expect(stderr).toContain('SIMULATOR_PORT');
  });
});
