import type { IncomingHttpHeaders } from 'node:http';
import type { Request, RequestHandler, Response } from 'express';
import getRawBody from 'raw-body';
import { StorageUnavailableError, withTimeout } from '../errors.js';
import { envelopeSchema } from '../interlace/deposit-event.js';
import { verifyResourceSignature } from '../interlace/webhook-signature.js';
import { signatureFromHeaders, storedNotificationBody } from '../interlace/stored-notification.js';
import type { WebhookEnvelope } from '../interlace/types.js';
import type { WebhookOutcome } from '../metrics/metrics.js';
import type { ReceiverDeps } from './accept-notification.js';
import type { IngestLog } from './ingest-log.js';
import { remoteAddress } from '../remote-address.js';

export const WEBHOOK_PATH = '/webhooks/interlace';
export const MAX_WEBHOOK_BYTES = 256 * 1024;

const RECEIVED = '{"received":true}';
// One body for every signature failure, so a caller learns nothing about which check failed.
const UNAUTHORIZED = JSON.stringify({ received: false, error: 'invalid-signature' });
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\b/i;

type RequestIds = { reqId: string; notificationId: string; eventType: string };

type Refusal = { status: number; error: string; message: string; outcome: WebhookOutcome; bare?: boolean };

/**
 * The `POST /webhooks/interlace` route: read the body (256 KiB at most), verify, validate, append the
 * notification to the event log, then answer `{"received": true}`: one durable write per notification.
 * The ingest consumer (ingest-consumer.ts) builds the ledger record and the sweep job from the entry. It needs none of the app's middleware, so it reads the
 * body itself: body-parser reads an oversized body to its end before answering 413, and this route
 * answers as soon as the limit is passed and closes the connection.
 */
export function interlaceWebhook(deps: ReceiverDeps & { ingestLog: IngestLog }): RequestHandler {
  const reply = (res: Response, status: number, body: string, outcome: WebhookOutcome) => {
    deps.metrics?.webhookRequests.inc({ outcome });
    if (res.headersSent || res.destroyed) return;
    // writeHead/end rather than res.json: this is the hot path, and the body is a constant or tiny.
    res.writeHead(status, {
      'content-type': 'application/json; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(body);
  };
  const refuse = (req: Request, res: Response, { status, error, message, outcome, bare }: Refusal) => {
    // A client mistake (or a probe): who sent it is what an operator needs to tell the two apart.
    if (status < 500) deps.logger.warn({ ...remoteAddress(req), status, error, message }, 'webhook rejected');
    // Before the signature is checked the caller is nobody: the log has the details, the answer none.
    reply(
      res,
      status,
      JSON.stringify(bare ? { received: false, error } : { received: false, error, message }),
      outcome,
    );
  };

  async function handle(req: Request, res: Response, raw: string): Promise<void> {
    let body: unknown;
    try {
      body = JSON.parse(raw);
    } catch {
      refuse(req, res, {
        status: 400,
        error: 'invalid-json',
        message: 'body is not valid JSON',
        outcome: 'bad_request',
        bare: true,
      });
      return;
    }
    const envelope = envelopeSchema.safeParse(body);
    if (!envelope.success) {
      const message = envelope.error.issues
        .map((i) => `${i.path.join('.') || 'body'}: ${i.message}`)
        .join('; ');
      refuse(req, res, {
        status: 400,
        error: 'invalid-envelope',
        message,
        outcome: 'bad_request',
        bare: true,
      });
      return;
    }
    // The notification id is this request's id: every line logged for it carries it (also as
    // notificationId, the name the operator docs use). Fields rather than a child logger, which costs
    // ~20 µs per request with redaction on, for lines that are mostly never written.
    const { id, eventType } = envelope.data;
    const ids: RequestIds = { reqId: id, notificationId: id, eventType };
    if (!signatureIsValid(req.headers, envelope.data.resource, deps.config.interlace.webhookSecret)) {
      deps.logger.warn({ ...ids, ...remoteAddress(req), status: 401 }, 'webhook signature rejected');
      reply(res, 401, UNAUTHORIZED, 'unauthorized');
      return;
    }
    const verified = envelope.data as WebhookEnvelope;
    // Only the signed resource, its signature headers and the envelope's id and type are stored.
    await store(req, res, ids, verified, storedNotificationBody(verified, signatureFromHeaders(req.headers)));
  }

  async function store(
    req: Request,
    res: Response,
    ids: RequestIds,
    envelope: WebhookEnvelope,
    stored: string,
  ) {
    try {
      const stopTimer = deps.metrics?.webhookAppendSeconds.startTimer();
      await withTimeout(
        deps.ingestLog.append({ id: envelope.id, eventType: envelope.eventType, body: stored }),
        deps.config.webhookTimeoutMs,
        () => new Error(`storing the notification took over ${deps.config.webhookTimeoutMs} ms`),
      );
      stopTimer?.();
      if (deps.logger.isLevelEnabled('debug')) deps.logger.debug(ids, 'notification appended');
      reply(res, 200, RECEIVED, 'accepted');
    } catch (error) {
      const failure = new StorageUnavailableError(error);
      deps.logger.error(
        { ...ids, err: error },
        'notification not stored: answering 503 so Interlace redelivers',
      );
      refuse(req, res, {
        status: 503,
        error: failure.code,
        message: failure.message,
        outcome: 'unavailable',
      });
    }
  }

  return async (req, res) => {
    const unsupported = unsupportedContent(req.headers);
    if (unsupported) {
      refuse(req, res, unsupported);
      req.resume();
      return;
    }
    let raw: string;
    try {
      // Checks the declared length up front and the received bytes while streaming (chunked too).
      const bytes = await getRawBody(req, {
        length: req.headers['content-length'],
        limit: MAX_WEBHOOK_BYTES,
      });
      raw = bytes.toString('utf8');
    } catch (error) {
      if ((error as { type?: string }).type === 'entity.too.large') {
        // raw-body has stopped reading: close the connection after the answer rather than swallow the rest.
        res.setHeader('connection', 'close');
        refuse(req, res, TOO_LARGE);
      } else if (!req.destroyed) {
        // Not a client that went away (nobody to answer then): a body that does not match its length.
        refuse(req, res, {
          status: 400,
          error: 'invalid-body',
          message: 'the body could not be read',
          outcome: 'bad_request',
        });
      }
      return;
    }
    try {
      await handle(req, res, raw);
    } catch (error) {
      deps.logger.error({ err: error }, 'webhook handler failed');
      refuse(req, res, { status: 500, error: 'internal-error', message: 'internal error', outcome: 'error' });
    }
  };
}

const TOO_LARGE: Refusal = {
  status: 413,
  error: 'payload-too-large',
  message: 'body exceeds 256 KiB',
  outcome: 'too_large',
};

/** 415 unless the body is JSON sent as is: a compressed body could expand far past the limit. */
function unsupportedContent(headers: IncomingHttpHeaders): Refusal | undefined {
  if (!JSON_TYPE.test(headers['content-type'] ?? '')) {
    return {
      status: 415,
      error: 'unsupported-media-type',
      message: 'expected application/json',
      outcome: 'unsupported_media_type',
    };
  }
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding.toLowerCase() !== 'identity') {
    return {
      status: 415,
      error: 'unsupported-encoding',
      message: `content-encoding ${encoding} is not accepted`,
      outcome: 'unsupported_media_type',
    };
  }
  return undefined;
}

function signatureIsValid(headers: IncomingHttpHeaders, resource: string, secret: string): boolean {
  const method = headers['signature-method'];
  if (method !== undefined && String(method).toUpperCase() !== 'HMAC-SHA256') return false;
  const signature = headers['signature'];
  return verifyResourceSignature(resource, typeof signature === 'string' ? signature : undefined, secret);
}
