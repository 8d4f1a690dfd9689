import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { SlackMessage } from '../../src/alerts/alerts.js';

export type Received = { body: SlackMessage; status: number; contentType: string | undefined };

/**
 * A Slack-compatible incoming webhook on loopback. Answers the scripted statuses in order, then 200;
 * `next(predicate)` resolves with the first accepted (2xx) message matching it, past or future.
 */
export async function startSlackEndpoint() {
  const received: Received[] = [];
  const scripted: number[] = [];
  const waiters: { match: (m: SlackMessage) => boolean; resolve: (r: Received) => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const status = scripted.shift() ?? 200;
      const entry: Received = {
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')) as SlackMessage,
        status,
        contentType: req.headers['content-type'],
      };
      received.push(entry);
      res.writeHead(status, { 'content-type': 'text/plain' }).end(status === 200 ? 'ok' : 'error');
      if (status >= 200 && status < 300)
        for (const waiter of [...waiters])
          if (waiter.match(entry.body)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(entry);
          }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/services/T000/B000/hook`,
    received,
    /** The next `count` answers use these statuses. */
    failNext(status: number, count: number) {
      for (let i = 0; i < count; i += 1) scripted.push(status);
    },
    next(match: (message: SlackMessage) => boolean): Promise<Received> {
      const past = received.find((entry) => entry.status < 300 && match(entry.body));
      if (past) return Promise.resolve(past);
      return new Promise((resolve) => waiters.push({ match, resolve }));
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
