import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from './logger.js';
import type { ReceiverDeps } from './webhooks/accept-notification.js';
import type { IngestLog } from './webhooks/ingest-log.js';
import { checkReadiness } from './metrics/readiness.js';
import { interlaceWebhook, WEBHOOK_PATH } from './webhooks/interlace-webhook.js';

export type AppDeps = ReceiverDeps & {
  /** Where the webhook appends verified notifications (the event log). */
  ingestLog: IngestLog;
  /** Mounted before the 404 handler when present (the Bull Board dashboard). */
  extraRouters?: express.Router[];
  /**
   * The merchant API (/wallets, /payouts, /openapi.json; docs/wallets.md), on the public surface: the
   * merchant's backend calls it like Interlace calls the webhook. Absent when no API key is configured.
   */
  merchantApi?: express.Router;
  /**
   * Which routes: `all` (the default, one port); with ADMIN_PORT, `public` (the webhook and /healthz) on
   * the public port and `admin` (everything but the webhook) on the admin port.
   */
  surface?: 'all' | 'public' | 'admin';
};

/**
 * The receiver's HTTP app: the webhook, health, the merchant API when configured, readiness, metrics and
 * the optional dashboard.
 * No side effects until listen.
 */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);

  // First, so the hot path is the first route Express tries.
  if (deps.surface !== 'admin') app.post(WEBHOOK_PATH, interlaceWebhook(deps));
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  if (deps.surface !== 'admin' && deps.merchantApi) app.use(deps.merchantApi);
  if (deps.surface === 'public') {
    app.use((_req, res) => {
      res.status(404).json({ error: 'not-found' });
    });
    return app;
  }
  // Ready: Redis answers PING and at least one sweep worker is connected; 503 names the failed checks.
  app.get('/readyz', async (_req, res) => {
    const readiness = await checkReadiness(deps.redis, deps.queues.sweep);
    res.status(readiness.ok ? 200 : 503).json(readiness);
  });
  const metrics = deps.metrics;
  if (metrics)
    app.get('/metrics', async (_req, res) => {
      const { contentType, body } = await metrics.render();
      res.type(contentType).send(body);
    });
  for (const router of deps.extraRouters ?? []) app.use(router);

  app.use((_req, res) => {
    res.status(404).json({ error: 'not-found' });
  });
  app.use(errorHandler(deps.logger));
  return app;
}

type HttpError = Error & { status?: number; statusCode?: number; type?: string; expose?: boolean };

/** The one place HTTP errors become answers; bodies never carry stacks or internals. */
function errorHandler(logger: Logger) {
  return (error: HttpError, req: Request, res: Response, _next: NextFunction): void => {
    const status = error.status ?? error.statusCode ?? 500;
    if (res.headersSent) return;
    if (error.type === 'entity.too.large') {
      res.status(413).json({ received: false, error: 'payload-too-large', message: 'body exceeds 256 KiB' });
      return;
    }
    if (error.type === 'encoding.unsupported' || error.type === 'charset.unsupported') {
      res.status(415).json({ received: false, error: 'unsupported-encoding', message: error.message });
      return;
    }
    if (status >= 400 && status < 500) {
      res.status(status).json({
        received: false,
        error: 'bad-request',
        message: error.expose ? error.message : 'bad request',
      });
      return;
    }
    logger.error({ err: error, path: req.path }, 'unhandled error');
    res.status(500).json({ error: 'internal-error' });
  };
}
