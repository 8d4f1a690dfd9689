import { Decimal } from './money.js';
import type { AuthFailureMode, SimulatorOptions } from './types.js';

export type SimulatorEnv = {
  port: number;
  host: string;
  options: SimulatorOptions;
  /** SIMULATOR_DRIVE_WEBHOOK_URL: deposits created and notified to this receiver by themselves (demo). */
  drive?: { webhookUrl: string; intervalMs: number };
};

export type EnvProblem = { variable: string; message: string };

/** One error naming every bad variable, so a wrong setup is fixed in one go. */
export class SimulatorEnvError extends Error {
  constructor(readonly problems: EnvProblem[]) {
    super(`invalid environment: ${problems.map((p) => `${p.variable} ${p.message}`).join('; ')}`);
    this.name = 'SimulatorEnvError';
  }
}

/** Reads the `npm run simulator` settings from the environment; throws SimulatorEnvError on a bad value. */
export function loadSimulatorEnv(env: NodeJS.ProcessEnv): SimulatorEnv {
  const problems: EnvProblem[] = [];
  const read = (variable: string): string | undefined => {
    const value = env[variable];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (variable: string, fallback: number, min: number, max: number): number => {
    const raw = read(variable);
    if (raw === undefined) return fallback;
    const value = /^-?\d+$/.test(raw) ? Number(raw) : NaN;
    if (!Number.isSafeInteger(value) || value < min || value > max) {
      problems.push({ variable, message: `must be an integer from ${min} to ${max} (got "${raw}")` });
      return fallback;
    }
    return value;
  };

  const port = int('SIMULATOR_PORT', 4010, 0, 65_535);
  const host = read('SIMULATOR_HOST') ?? '127.0.0.1';
  const seed = int('SIMULATOR_SEED', 1, 0, 0xffffffff);
  const latencyMs = int('SIMULATOR_LATENCY_MS', 0, 0, 600_000);
  const tokenTtlSeconds = int('SIMULATOR_TOKEN_TTL_S', 86_400, 1, 31_536_000);

  const feeRate = read('SIMULATOR_FEE_RATE') ?? '0.005';
  if (!/^\d+(\.\d+)?$/.test(feeRate) || new Decimal(feeRate).gte(1)) {
    problems.push({
      variable: 'SIMULATOR_FEE_RATE',
      message: `must be a decimal from 0 to below 1 (got "${feeRate}")`,
    });
  }
  const authFailure = read('SIMULATOR_AUTH_FAILURE') ?? 'http-401';
  if (authFailure !== 'http-401' && authFailure !== 'code-401003') {
    problems.push({
      variable: 'SIMULATOR_AUTH_FAILURE',
      message: `must be http-401 or code-401003 (got "${authFailure}")`,
    });
  }

  const driveUrl = read('SIMULATOR_DRIVE_WEBHOOK_URL');
  const driveIntervalMs = int('SIMULATOR_DRIVE_INTERVAL_MS', 5_000, 100, 3_600_000);
  if (driveUrl !== undefined && !/^https?:\/\/\S+$/.test(driveUrl)) {
    problems.push({
      variable: 'SIMULATOR_DRIVE_WEBHOOK_URL',
      message: `must be an http(s) URL (got "${driveUrl}")`,
    });
  }

  if (problems.length > 0) throw new SimulatorEnvError(problems);
  const webhookSecret = read('INTERLACE_WEBHOOK_SECRET');
  const depositEventType = read('SIMULATOR_DEPOSIT_EVENT_TYPE');
  return {
    port,
    host,
    ...(driveUrl === undefined ? {} : { drive: { webhookUrl: driveUrl, intervalMs: driveIntervalMs } }),
    options: {
      clientId: read('INTERLACE_CLIENT_ID') ?? 'sim-client',
      clientSecret: read('INTERLACE_CLIENT_SECRET') ?? 'sim-secret',
      ...(webhookSecret === undefined ? {} : { webhookSecret }),
      ...(depositEventType === undefined ? {} : { depositEventType }),
      seed,
      latencyMs,
      tokenTtlSeconds,
      feeRate,
      authFailure: authFailure as AuthFailureMode,
    },
  };
}
