import type { IncomingHttpHeaders } from 'node:http';
import type { WebhookEnvelope } from './types.js';
import { verifyResourceSignature } from './webhook-signature.js';

/** The signature headers of a notification, as received (kept so a replay can verify them again). */
export type NotificationSignature = { signature: string; method?: string; timestamp?: string };

/** What is stored of a notification: the signed resource, its signature headers, the envelope id and type. */
export type StoredNotification = {
  eventType: string;
  id: string;
  resource: string;
  signature?: NotificationSignature;
};

const HEADER_MAX = 128;

/** The signature headers of a request, each bounded (they are not signed either). */
export function signatureFromHeaders(headers: IncomingHttpHeaders): NotificationSignature | undefined {
  const value = (name: string) => {
    const raw = headers[name];
    return typeof raw === 'string' && raw.length > 0 && raw.length <= HEADER_MAX ? raw : undefined;
  };
  const signature = value('signature');
  if (signature === undefined) return undefined;
  const method = value('signature-method');
  const timestamp = value('timestamp');
  return {
    signature,
    ...(method !== undefined ? { method } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
  };
}

/**
 * The body stored in the event log and in dead letters for a notification. Only `resource` is signed:
 * the rest of the envelope (message, code, any extra key an attacker pads it with) never reaches
 * storage. What is kept still parses as an envelope, so replays read it as before.
 */
export function storedNotificationBody(envelope: WebhookEnvelope, signature?: NotificationSignature): string {
  const stored: StoredNotification = {
    eventType: envelope.eventType,
    id: envelope.id,
    resource: envelope.resource,
    ...(signature !== undefined ? { signature } : {}),
  };
  return JSON.stringify(stored);
}

/**
 * Whether a stored body carries a signature that is valid for its resource under `secret`: what a
 * replay checks before it feeds the body through the receiving path again.
 */
export function storedSignatureIsValid(body: string, secret: string): boolean {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return false;
  }
  return parsedSignatureIsValid(parsed, secret);
}

/** storedSignatureIsValid for a body already parsed (the ingest consumer parses each entry once). */
export function parsedSignatureIsValid(parsed: unknown, secret: string): boolean {
  if (parsed === null || typeof parsed !== 'object') return false;
  const { resource, signature } = parsed as { resource?: unknown; signature?: unknown };
  if (typeof resource !== 'string' || signature === null || typeof signature !== 'object') return false;
  const { signature: value, method } = signature as { signature?: unknown; method?: unknown };
  if (method !== undefined && String(method).toUpperCase() !== 'HMAC-SHA256') return false;
  return verifyResourceSignature(resource, typeof value === 'string' ? value : undefined, secret);
}
