import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDepositDriver, type DepositDriver } from '../../simulator/deposit-driver.js';
import { loadSimulatorEnv } from '../../simulator/env.js';
import { startStack, type Stack } from '../helpers/stack.js';

let stack: Stack;
let driver: DepositDriver | undefined;

beforeAll(async () => {
  stack = await startStack('deposit-driver');
});
afterAll(async () => {
  driver?.stop();
  await stack?.close();
});

describe('the demo deposit driver (SIMULATOR_DRIVE_WEBHOOK_URL)', () => {
  it('is configured from the environment, and off without a URL', () => {
    expect(loadSimulatorEnv({}).drive).toBeUndefined();
    expect(
      loadSimulatorEnv({
        SIMULATOR_DRIVE_WEBHOOK_URL: 'http://api:3000/webhooks/interlace',
        SIMULATOR_DRIVE_INTERVAL_MS: '2000',
      }).drive,
    ).toEqual({ webhookUrl: 'http://api:3000/webhooks/interlace', intervalMs: 2000 });
    expect(() => loadSimulatorEnv({ SIMULATOR_DRIVE_WEBHOOK_URL: 'api:3000' })).toThrow(
      /SIMULATOR_DRIVE_WEBHOOK_URL must be an http\(s\) URL/,
    );
  });

  it('creates deposits and notifies the receiver by itself, and the service sweeps them', async () => {
    const lines: string[] = [];
    driver = startDepositDriver(stack.sim, {
      webhookUrl: stack.webhookUrl,
      intervalMs: 100,
      log: (line) => lines.push(line),
    });
    expect(await stack.sim.waitUntil(() => stack.sim.transfers().length >= 3, 20_000)).toBe(true);
    driver.stop();
    const swept = stack.sim.transfers()[0]!;
    expect(lines.some((line) => /notified: 200$/.test(line))).toBe(true);
    expect(driver.created()).toBeGreaterThanOrEqual(3);
    expect(swept.clientTransactionId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
