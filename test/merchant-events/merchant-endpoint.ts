import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { MerchantEventBody } from '../../src/merchant-events/merchant-event.js';

export type Delivery = {
  /** The raw body, as a receiver must verify it (never a re-serialized object). */
  raw: string;
  headers: Record<string, string>;
  status: number;
  /** The body as the standardwebhooks package verified it; undefined if verification threw. */
  verified: MerchantEventBody | undefined;
};

/**
 * The merchant's backend on loopback, verifying every delivery with the standardwebhooks package as a
 * real receiver would. Answers the scripted statuses in order, then 204; `delivered(predicate)`
 * resolves with the first accepted delivery matching it, past or future.
 */
export async function startMerchantEndpoint(secret: string) {
  const webhook = new Webhook(secret);
  const deliveries: Delivery[] = [];
  const scripted: { status: number; match?: ((body: MerchantEventBody) => boolean) | undefined }[] = [];
  let failAll: number | undefined;
  const waiters: { match: (body: MerchantEventBody) => boolean; resolve: (d: Delivery) => void }[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(req.headers))
        if (typeof value === 'string') headers[name] = value;
      let verified: MerchantEventBody | undefined;
      try {
        verified = webhook.verify(raw, headers) as MerchantEventBody;
      } catch {
        verified = undefined;
      }
      // A receiver refuses what it cannot verify.
      const script =
        verified === undefined ? -1 : scripted.findIndex((s) => s.match === undefined || s.match(verified));
      const status =
        verified === undefined ? 401 : script >= 0 ? scripted.splice(script, 1)[0]!.status : (failAll ?? 204);
      const entry: Delivery = { raw, headers, status, verified };
      deliveries.push(entry);
      res.writeHead(status).end();
      if (status < 300 && verified)
        for (const waiter of [...waiters])
          if (waiter.match(verified)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve(entry);
          }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/interlace-sweep`,
    deliveries,
    /**
     * The next `count` answers use this status: to any delivery, or only to those `match` accepts (a test's
     * own events, while an earlier test's may still be on their way).
     */
    failNext(status: number, count: number, match?: (body: MerchantEventBody) => boolean) {
      for (let i = 0; i < count; i += 1) scripted.push({ status, match });
    },
    /** Every answer uses this status (undefined: back to 204). */
    failAll(status: number | undefined) {
      failAll = status;
    },
    delivered(match: (body: MerchantEventBody) => boolean): Promise<Delivery> {
      const past = deliveries.find((d) => d.status < 300 && d.verified && match(d.verified));
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
