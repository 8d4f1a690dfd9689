import express, { type Request, type Response, type NextFunction, type Router } from 'express';
import { StorageUnavailableError, withTimeout } from '../errors.js';
import { envelopeSchema } from '../interlace/deposit-event.js';
import { verifyResourceSignature } from '../interlace/webhook-signature.js';
import type { WebhookEnvelope } from '../interlace/types.js';
import { acceptNotification, type ReceiverDeps } from './accept-notification.js';
import type { Metrics, WebhookOutcome } from '../metrics/metrics.js';

export const WEBHOOK_PATH = '/webhooks/interlace';
export const MAX_WEBHOOK_BYTES = 256 * 1024;

const RECEIVED = { received: true } as const;
// One body for every signature failure, so a caller learns nothing about which check failed.
const UNAUTHORIZED = { received: false, error: 'invalid-signature' } as const;

/** `POST /webhooks/interlace`: verify, validate, store, enqueue, then answer `{"received": true}`. */
export function interlaceWebhookRouter(deps: ReceiverDeps): Router {
  const router = express.Router();
  router.post(
    WEBHOOK_PATH,
    countOutcome(deps.metrics),
    requireJson,
    express.raw({ type: () => true, limit: MAX_WEBHOOK_BYTES }),
    async (req: Request, res: Response) => {
      const raw = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
      let body: unknown;
      try {
        body = JSON.parse(raw);
      } catch {
        res.status(400).json({ received: false, error: 'invalid-json', message: 'body is not valid JSON' });
        return;
      }
      const envelope = envelopeSchema.safeParse(body);
      if (!envelope.success) {
        const message = envelope.error.issues
          .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
          .join('; ');
        res.status(400).json({ received: false, error: 'invalid-envelope', message });
        return;
      }
      if (!signatureIsValid(req, envelope.data.resource, deps.config.interlace.webhookSecret)) {
        deps.logger.warn({ notificationId: envelope.data.id, ip: req.ip }, 'webhook signature rejected');
        res.status(401).json(UNAUTHORIZED);
        return;
      }
      const log = deps.logger.child({ notificationId: envelope.data.id, eventType: envelope.data.eventType });
      try {
        const stopTimer = deps.metrics?.webhookStoreSeconds.startTimer();
        const result = await withTimeout(
          acceptNotification(deps, envelope.data as WebhookEnvelope, raw),
          deps.config.webhookTimeoutMs,
          () => new Error(`storing the notification took over ${deps.config.webhookTimeoutMs} ms`),
        );
        stopTimer?.();
        res.locals.webhookOutcome = (
          result.outcome === 'dead-lettered'
            ? 'dead_lettered'
            : result.outcome === 'ignored'
              ? 'ignored'
              : result.freshNotification === false
                ? 'duplicate'
                : 'accepted'
        ) satisfies WebhookOutcome;
        if (result.outcome === 'dead-lettered')
          log.warn({ reason: result.reason }, 'invalid deposit notification dead-lettered');
        else if (result.outcome === 'deposit') log.info(result, 'deposit notification accepted');
        else log.debug(result, 'notification acknowledged');
        res.status(200).json(RECEIVED);
      } catch (error) {
        const failure = new StorageUnavailableError(error);
        log.error({ err: error }, 'notification not stored: answering 503 so Interlace redelivers');
        res.status(503).json({ received: false, error: failure.code, message: failure.message });
      }
    },
  );
  return router;
}

/** Counts every answer of the webhook by outcome, once it is sent (including body-parser errors). */
function countOutcome(metrics: Metrics | undefined) {
  return (_req: Request, res: Response, next: NextFunction): void => {
    if (metrics)
      res.once('finish', () => {
        metrics.webhookRequests.inc({ outcome: outcomeOf(res) });
      });
    next();
  };
}

function outcomeOf(res: Response): WebhookOutcome {
  switch (res.statusCode) {
    case 200:
      return (res.locals.webhookOutcome as WebhookOutcome | undefined) ?? 'accepted';
    case 400:
      return 'bad_request';
    case 401:
      return 'unauthorized';
    case 413:
      return 'too_large';
    case 415:
      return 'unsupported_media_type';
    case 503:
      return 'unavailable';
    default:
      return res.statusCode < 500 ? 'bad_request' : 'error';
  }
}

function requireJson(req: Request, res: Response, next: NextFunction): void {
  const type = req.headers['content-type'] ?? '';
  if (/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    next();
    return;
  }
  res
    .status(415)
    .json({ received: false, error: 'unsupported-media-type', message: 'expected application/json' });
}

function signatureIsValid(req: Request, resource: string, secret: string): boolean {
  const method = req.headers['signature-method'];
  if (method !== undefined && String(method).toUpperCase() !== 'HMAC-SHA256') return false;
  const signature = req.headers['signature'];
  return verifyResourceSignature(resource, typeof signature === 'string' ? signature : undefined, secret);
}
