import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { startSlackEndpoint } from '../alerts/slack-endpoint.js';
import { startStack, type Stack } from '../helpers/stack.js';

/** The keys of a JSON line's top-level object that appear more than once (JSON.parse would hide them). */
function duplicatedKeys(line: string): string[] {
  const keys: string[] = [];
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < line.length; i += 1) {
    const char = line[i];
    if (char === '"') {
      let end = i + 1;
      while (line[end] !== '"') end += line[end] === '\\' ? 2 : 1;
      if (depth === 1 && expectKey) keys.push(line.slice(i + 1, end));
      expectKey = false;
      i = end;
    } else if (char === '{' || char === '[') {
      depth += 1;
      expectKey = char === '{' && depth === 1;
    } else if (char === '}' || char === ']') {
      depth -= 1;
    } else if (char === ',' && depth === 1) {
      expectKey = true;
    }
  }
  return keys.filter((key, index) => keys.indexOf(key) !== index);
}

type Line = { level: number; msg: string; component?: string; remoteAddress?: string; status?: number };

let stack: Stack;
let slack: Awaited<ReturnType<typeof startSlackEndpoint>>;

beforeAll(async () => {
  slack = await startSlackEndpoint();
  // Receiver, sweep worker, alert worker and reconciliation: every component that logs.
  stack = await startStack('log-lines', {
    env: { ALERT_WEBHOOK_URL: slack.url, SWEEP_ATTEMPTS: '2', RECONCILE_ENABLED: 'true' },
  });
});
afterAll(async () => {
  await stack?.close();
  await slack?.close();
});

const parsed = () => stack.logLines.map((line) => JSON.parse(line) as Line);

describe('log lines', () => {
  it('never repeat a key, whichever component writes them', async () => {
    const swept = stack.deposit('30');
    await stack.notify(swept);
    expect(await stack.settled(swept)).toMatchObject({ status: 'completed' });
    stack.failTransfers('010021');
    const dead = stack.deposit('31');
    const alerted = slack.next((message) => message.text.includes(dead));
    await stack.notify(dead);
    expect(await stack.settled(dead)).toMatchObject({ status: 'failed' });
    await alerted;
    // The alert worker logs its delivery once the endpoint has answered.
    await expect
      .poll(() => parsed().some((line) => line.component === 'alerts' && line.msg === 'alert delivered'))
      .toBe(true);

    const components = new Set(parsed().map((line) => line.component));
    expect([...components]).toEqual(expect.arrayContaining(['receiver', 'worker', 'reconcile', 'alerts']));
    const repeated = stack.logLines
      .map((line) => ({ line, keys: duplicatedKeys(line) }))
      .filter(({ keys }) => keys.length > 0);
    expect(repeated).toEqual([]);
  });

  it('warn about a rejected webhook with where it came from', async () => {
    await fetch(stack.webhookUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: 'x' });
    await fetch(stack.webhookUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{',
    });
    const notification = stack.sim.buildNotification(stack.deposit('32'), { secret: 'not-the-secret' });
    expect((await stack.sim.postNotification(stack.webhookUrl, notification)).status).toBe(401);

    const rejected = parsed().filter((line) => /^webhook (rejected|signature rejected)$/.test(line.msg));
    expect(rejected.map((line) => line.status)).toEqual(expect.arrayContaining([415, 400, 401]));
    for (const line of rejected) expect(line).toMatchObject({ level: 40, remoteAddress: '127.0.0.1' });
  });
});

describe('LOG_FORMAT=pretty', () => {
  it('renders lines for a human instead of JSON, secrets still redacted', () => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        out += chunk.toString('utf8');
        done();
      },
    });
    const logger = createLogger({ level: 'info', format: 'pretty' }, sink);
    logger.info({ depositId: 'd-1', password: 'hunter2' }, 'deposit swept');
    expect(out).toMatch(/INFO.*deposit swept/);
    expect(out).toMatch(/depositId: "d-1"/);
    expect(out).not.toContain('hunter2');
    expect(out.trimStart().startsWith('{')).toBe(false);
  });
});
