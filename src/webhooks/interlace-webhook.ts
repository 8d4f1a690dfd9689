import type { IncomingMessage, ServerResponse } from 'node:http';
import { StorageUnavailableError, withTimeout } from '../errors.js';
import { envelopeSchema } from '../interlace/deposit-event.js';
import { verifyResourceSignature } from '../interlace/webhook-signature.js';
import type { WebhookEnvelope } from '../interlace/types.js';
import type { WebhookOutcome } from '../metrics/metrics.js';
import { acceptNotification, type ReceiverDeps } from './accept-notification.js';
import { remoteAddress } from '../remote-address.js';

export const WEBHOOK_PATH = '/webhooks/interlace';
export const MAX_WEBHOOK_BYTES = 256 * 1024;

const RECEIVED = '{"received":true}';
// One body for every signature failure, so a caller learns nothing about which check failed.
const UNAUTHORIZED = JSON.stringify({ received: false, error: 'invalid-signature' });
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\b/i;

/** True for `POST /webhooks/interlace` (with or without a trailing slash or query string). */
export function isWebhookRequest(req: IncomingMessage): boolean {
  if (req.method !== 'POST' || req.url === undefined) return false;
  const end = req.url.indexOf('?');
  const path = end === -1 ? req.url : req.url.slice(0, end);
  return path === WEBHOOK_PATH || path === `${WEBHOOK_PATH}/`;
}

/**
 * `POST /webhooks/interlace` on bare node:http: verify, validate, store, enqueue, then answer
 * `{"received": true}`. It is the hot path, so it runs before Express and pays for no middleware: a
 * ~1 KB body needs neither a router, nor body-parser streams, nor per-request child loggers.
 */
export function createWebhookHandler(deps: ReceiverDeps) {
  const reply = (res: ServerResponse, status: number, body: string, outcome: WebhookOutcome) => {
    deps.metrics?.webhookRequests.inc({ outcome });
    if (res.headersSent || res.destroyed) return;
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  const refuse = (
    req: IncomingMessage,
    res: ServerResponse,
    status: number,
    error: string,
    message: string,
    outcome: WebhookOutcome,
  ) => {
    // A client mistake (or a probe): who sent it is what an operator needs to tell the two apart.
    if (status < 500) deps.logger.warn({ ...remoteAddress(req), status, error, message }, 'webhook rejected');
    reply(res, status, JSON.stringify({ received: false, error, message }), outcome);
  };

  async function handle(req: IncomingMessage, res: ServerResponse, raw: string): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      refuse(req, res, 400, 'invalid-json', 'body is not valid JSON', 'bad_request');
      return;
    }
    const envelope = envelopeSchema.safeParse(body);
    if (!envelope.success) {
      const message = envelope.error.issues
        .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
        .join('; ');
      refuse(req, res, 400, 'invalid-envelope', message, 'bad_request');
      return;
    }
    if (!signatureIsValid(req, envelope.data.resource, deps.config.interlace.webhookSecret)) {
      deps.logger.warn(
        { notificationId: envelope.data.id, ...remoteAddress(req), status: 401 },
        'webhook signature rejected',
      );
      reply(res, 401, UNAUTHORIZED, 'unauthorized');
      return;
    }
    const ids = { notificationId: envelope.data.id, eventType: envelope.data.eventType };
    try {
      const stopTimer = deps.metrics?.webhookStoreSeconds.startTimer();
      const result = await withTimeout(
        acceptNotification(deps, envelope.data as WebhookEnvelope, raw),
        deps.config.webhookTimeoutMs,
        () => new Error(`storing the notification took over ${deps.config.webhookTimeoutMs} ms`),
      );
      stopTimer?.();
      if (result.outcome === 'dead-lettered') {
        deps.logger.warn({ ...ids, reason: result.reason }, 'invalid deposit notification dead-lettered');
        reply(res, 200, RECEIVED, 'dead_lettered');
      } else if (result.outcome === 'ignored') {
        deps.logger.debug({ ...ids, ...result }, 'notification acknowledged');
        reply(res, 200, RECEIVED, 'ignored');
      } else {
        if (deps.logger.isLevelEnabled('info'))
          deps.logger.info({ ...ids, ...result }, 'deposit notification accepted');
        reply(res, 200, RECEIVED, result.freshNotification === false ? 'duplicate' : 'accepted');
      }
    } catch (error) {
      const failure = new StorageUnavailableError(error);
      deps.logger.error(
        { ...ids, err: error },
        'notification not stored: answering 503 so Interlace redelivers',
      );
      refuse(req, res, 503, failure.code, failure.message, 'unavailable');
    }
  }

  return (req: IncomingMessage, res: ServerResponse): void => {
    if (!JSON_TYPE.test(req.headers['content-type'] ?? '')) {
      refuse(req, res, 415, 'unsupported-media-type', 'expected application/json', 'unsupported_media_type');
      req.resume();
      return;
    }
    const encoding = req.headers['content-encoding'];
    if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
      refuse(
        req,
        res,
        415,
        'unsupported-encoding',
        `content-encoding ${encoding} is not accepted`,
        'unsupported_media_type',
      );
      req.resume();
      return;
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_WEBHOOK_BYTES) {
      tooLarge(req, res);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (chunk: Buffer) => {
      if (failed) return;
      size += chunk.length;
      if (size > MAX_WEBHOOK_BYTES) {
        failed = true;
        tooLarge(req, res);
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (failed) return;
      handle(req, res, Buffer.concat(chunks, size).toString('utf8')).catch((error: unknown) => {
        deps.logger.error({ err: error }, 'webhook handler failed');
        refuse(req, res, 500, 'internal-error', 'internal error', 'error');
      });
    });
    req.on('error', () => {
      failed = true;
    });
  };

  function tooLarge(req: IncomingMessage, res: ServerResponse): void {
    // Stop reading: close the connection after the answer rather than swallowing 256 KiB+ of junk.
    res.setHeader('connection', 'close');
    refuse(req, res, 413, 'payload-too-large', 'body exceeds 256 KiB', 'too_large');
  }
}

function signatureIsValid(req: IncomingMessage, resource: string, secret: string): boolean {
  const method = req.headers['signature-method'];
  if (method !== undefined && String(method).toUpperCase() !== 'HMAC-SHA256') return false;
  const signature = req.headers['signature'];
  return verifyResourceSignature(resource, typeof signature === 'string' ? signature : undefined, secret);
}
