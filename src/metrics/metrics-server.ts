import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../logger.js';
import type { Metrics } from './metrics.js';

export type MetricsServer = { server: Server; url: string; close(): Promise<void> };

/**
 * The worker process's own `GET /metrics` (METRICS_PORT > 0): a tiny node:http server, since workers
 * have no Express app. Anything but `GET|HEAD /metrics` is a 404.
 */
export async function startMetricsServer(options: {
  metrics: Metrics;
  port: number;
  host: string;
  logger: Logger;
}): Promise<MetricsServer> {
  const { metrics, logger } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (path !== '/metrics' || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not-found"}');
      return;
    }
    metrics.render().then(
      ({ contentType, body }) => {
        res.writeHead(200, { 'content-type': contentType });
        res.end(req.method === 'HEAD' ? undefined : body);
      },
      (error: unknown) => {
        logger.warn({ err: error }, 'could not render metrics');
        res.writeHead(500, { 'content-type': 'application/json' }).end('{"error":"metrics-unavailable"}');
      },
    );
  });
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${port}/metrics`;
  logger.info({ url }, 'metrics server listening');
  return {
    server,
    url,
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
