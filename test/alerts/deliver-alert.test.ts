import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UnrecoverableError } from 'bullmq';
import { afterEach, describe, expect, it } from 'vitest';
import { createAlertDelivery, type AlertDelivery } from '../../src/alerts/deliver-alert.js';
import { USER_AGENT } from '../../src/version.js';

let server: Server | undefined;
let delivery: AlertDelivery | undefined;

afterEach(async () => {
  delivery?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A loopback alert endpoint answering `status`; resolves with its (secret-looking) URL. */
async function endpoint(status: number, seen: IncomingMessage[] = [], answer = true) {
  server = createServer((req, res) => {
    seen.push(req);
    req.resume();
    if (answer) res.writeHead(status, { location: '/elsewhere' }).end('ok');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/services/T0/B0/secret-path-6c1e`;
}

const message = { text: 'Deposit 1 dead-lettered' };

describe('alert delivery over the service HTTP client', () => {
  it('POSTs the message as JSON with the service User-Agent, and is done on a 2xx', async () => {
    const seen: IncomingMessage[] = [];
    delivery = createAlertDelivery(await endpoint(200, seen));
    await delivery.deliver(message);
    expect(seen[0]?.headers).toMatchObject({ 'content-type': 'application/json', 'user-agent': USER_AGENT });
  });

  it.each([500, 503, 429])('throws a retryable error on HTTP %i', async (status) => {
    delivery = createAlertDelivery(await endpoint(status));
    const error = await delivery.deliver(message).catch((failure: unknown) => failure);
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(UnrecoverableError);
    expect((error as Error).message).toBe(`alert endpoint answered HTTP ${status}`);
  });

  it.each([404, 400, 302])(
    'gives up at once (UnrecoverableError) on HTTP %i, following no redirect',
    async (status) => {
      const seen: IncomingMessage[] = [];
      delivery = createAlertDelivery(await endpoint(status, seen));
      await expect(delivery.deliver(message)).rejects.toBeInstanceOf(UnrecoverableError);
      expect(seen).toHaveLength(1);
    },
  );

  it('throws a retryable error naming no URL when the endpoint is unreachable or silent', async () => {
    const silent = createAlertDelivery(await endpoint(200, [], false), 200);
    const closed = createAlertDelivery('http://127.0.0.1:1/services/T0/B0/secret-path-6c1e');
    try {
      const errors = await Promise.all(
        [silent, closed].map((d) => d.deliver(message).catch((e: unknown) => e)),
      );
      expect(errors.map((error) => (error as Error).message)).toEqual([
        'alert endpoint unreachable (timeout)',
        'alert endpoint unreachable (ECONNREFUSED)',
      ]);
      for (const error of errors) expect(error).not.toBeInstanceOf(UnrecoverableError);
    } finally {
      silent.close();
      closed.close();
    }
  });
});
