import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/ports.js';
import { startStack, type Stack } from '../helpers/stack.js';

// Debian's chromium (`apt-get install chromium`); playwright never downloads a browser here.
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
const inCi = process.env.CI === 'true';
if (!available && !inCi)
  console.warn(`[browser.test] skipped: no chromium at ${CHROMIUM} (apt-get install chromium); CI runs it`);

const USER = 'ops';
const PASSWORD = 'browser-test-pass';
const OPS_COMMAND = 'docker compose exec worker interlace-sweep-ops';
const SCREENSHOTS = process.env.BROWSER_TEST_SCREENSHOTS;
// A page renders in a blink on an idle machine; CI shares its cores, so the waits are generous.
const SEEN = { timeout: 30_000 };

let stack: Stack;
let profile: string;
let context: BrowserContext;
let deadDepositId: string;
let invalidDepositId: string;

/** A fresh, quiet, offline-friendly Chromium: no GPU, QUIC, sync, updates or first-run screens. */
async function launch(credentials?: { username: string; password: string }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(mkdtempSync(join(profile, 'run-')), {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    viewport: { width: 1280, height: 900 },
    ...(credentials ? { httpCredentials: credentials } : {}),
  });
}

describe.skipIf(!available && !inCi)('the Bull Board dashboard in a real browser', () => {
  beforeAll(async () => {
    if (!available) throw new Error(`CI must run the browser test: no chromium at ${CHROMIUM}`);
    profile = mkdtempSync(join(tmpdir(), 'isweep-chromium-'));
    stack = await startStack('browser', {
      env: {
        // Writes opted in: the test shows that even then the board offers no Retry of a sweep.
        DASHBOARD_READ_ONLY: 'false',
        DASHBOARD_USER: USER,
        DASHBOARD_PASSWORD: PASSWORD,
        DASHBOARD_ENVIRONMENT: 'production',
        ADMIN_PORT: String(await freePort()),
        OPS_COMMAND_HINT: OPS_COMMAND,
        SWEEP_ATTEMPTS: '2',
      },
    });
    // A sweep Interlace refuses for good: a failed sweep job and a dead letter.
    stack.failTransfers('010021');
    deadDepositId = stack.deposit('42.5');
    await stack.notify(deadDepositId);
    expect(await stack.settled(deadDepositId)).toMatchObject({ status: 'failed' });
    // A signed notification with an invalid amount and a long field: a dead letter with a big body.
    const invalid = await stack.notifyInvalid({ memo: 'x'.repeat(6_000) });
    expect(invalid.status).toBe(200);
    invalidDepositId = invalid.depositId;
    context = await launch({ username: USER, password: PASSWORD });
  }, 120_000);

  afterAll(async () => {
    await context?.close();
    await stack?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it('is served on the admin port only, not next to the public webhook', async () => {
    const page = await context.newPage();
    expect((await page.goto(`${stack.api.url}/admin/queues`))?.status()).toBe(404);
    expect((await page.goto(`${stack.api.adminUrl}/admin/queues`))?.status()).toBe(200);
    await page.close();
  });

  it('shows a readable title, the environment badge and the three kinds of queue', async () => {
    const page = await context.newPage();
    await page.goto(`${stack.api.adminUrl}/admin/queues`);
    await expect
      .poll(() => page.getByText('Interlace sweep', { exact: true }).first().isVisible(), SEEN)
      .toBe(true);
    await expect
      .poll(() => page.getByText('production', { exact: true }).first().isVisible(), SEEN)
      .toBe(true);
    await expect.poll(() => page.getByText('sweep-dead (dead letters)').first().isVisible(), SEEN).toBe(true);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'overview.png'), fullPage: true });
    await page.close();
  });

  it('heads each dead letter with its reason, deposit, amount, ISO time and the CLI to recover it', async () => {
    const page = await context.newPage();
    await page.goto(`${stack.api.adminUrl}/admin/queues/queue/sweep-dead?status=waiting`);
    await expect.poll(() => page.getByText(deadDepositId).first().isVisible(), SEEN).toBe(true);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'dead-letters.png'), fullPage: true });
    const text = await page.locator('body').innerText();
    // The data viewer prints keys bare: `reason:"…"`, in the order the view puts them.
    const head = text.slice(text.indexOf(deadDepositId) - 400);
    expect(head).toMatch(/reason:\s*"business-error[^"]*010021/);
    expect(text).toMatch(/amount:\s*"42.5 USDC"/);
    expect(text).toMatch(/deadAt:\s*"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z"/);
    expect(text.indexOf('reason:')).toBeLessThan(text.indexOf('attempts:'));
    expect(text).toContain(`${OPS_COMMAND} dlq show|replay ${deadDepositId}`);
    // The invalid notification's 6 KB body is cut, so the page keeps a readable length.
    expect(text).toContain(invalidDepositId);
    expect(text).toMatch(/\d+ characters, in full: docker compose exec worker interlace-sweep-ops dlq show/);
    expect(text).toMatch(/memo:\s*"x{40}… \(\+5960\)"/);
    expect(text).not.toContain('x'.repeat(100));
    // The card of the invalid notification stays within the window (Bull Board's own cards may not:
    // it does not wrap a long reason), and the page stays short.
    const size = await page.evaluate<{ cardRight: number; height: number }>(`({
      cardRight: Math.max(...[...document.querySelectorAll('h5')]
        .filter((h) => h.textContent === 'invalid-notification')
        .map((h) => h.parentElement.getBoundingClientRect().right)),
      height: document.documentElement.scrollHeight,
    })`);
    expect(size.cardRight).toBeGreaterThan(0);
    expect(size.cardRight).toBeLessThanOrEqual(1280);
    expect(size.height).toBeLessThan(4_000);
    await page.close();
  });

  it('offers no Retry on a failed sweep job, and the server refuses one pointing at the CLI', async () => {
    const page = await context.newPage();
    await page.goto(`${stack.api.adminUrl}/admin/queues/queue/sweep?status=failed`);
    await expect.poll(() => page.getByText(`deposit-${deadDepositId}`).first().isVisible(), SEEN).toBe(true);
    expect(await page.getByRole('button', { name: /retry/i }).count()).toBe(0);
    if (SCREENSHOTS) await page.screenshot({ path: join(SCREENSHOTS, 'failed-sweeps.png'), fullPage: true });
    const answer = await page.evaluate(async (url) => {
      const response = await fetch(url, { method: 'PUT' });
      return { status: response.status, body: (await response.json()) as { message: string } };
    }, `${stack.api.adminUrl}/admin/queues/api/queues/sweep/deposit-${deadDepositId}/retry`);
    expect(answer.status).toBe(403);
    expect(answer.body.message).toContain(`${OPS_COMMAND} dlq replay`);
    expect(await stack.sweepQueue.getJobState(`deposit-${deadDepositId}`)).toBe('failed');
    await page.close();
  });

  it('turns away wrong credentials and logs the attempt at warn with the remote address', async () => {
    const intruder = await launch({ username: USER, password: 'guess' });
    try {
      const page = await intruder.newPage();
      expect((await page.goto(`${stack.api.adminUrl}/admin/queues`))?.status()).toBe(401);
    } finally {
      await intruder.close();
    }
    const warnings = stack.logLines
      .map((line) => JSON.parse(line) as { level: number; msg: string; remoteAddress?: string })
      .filter((entry) => entry.msg === 'dashboard login failed');
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]).toMatchObject({ level: 40, remoteAddress: '127.0.0.1' });
    expect(stack.logLines.join('\n')).not.toContain('guess');
  });
});
