import type { WebhookEnvelope } from '../src/interlace/types.js';
import { createHmac } from 'node:crypto';
import type { DeliveryResult } from './types.js';

/** A notification ready to POST: the exact body bytes, the headers Interlace sends, and the parsed envelope. */
export type BuiltNotification = { body: string; headers: Record<string, string>; envelope: WebhookEnvelope };

export type RawNotificationOptions = {
  notificationId?: string;
  /** Signing key; the simulator's webhook secret when absent. */
  secret?: string;
  /** ms epoch of `createTime` and the `Timestamp` header; now when absent. */
  time?: number;
};

/**
 * The v3 envelope (API-NOTES §5): `resource` is a JSON string, signed exactly as sent with
 * base64(HMAC-SHA256(secret, resource)); the timestamp is not part of the signature.
 */
export function buildEnvelope(input: {
  eventType: string;
  resource: string;
  notificationId: string;
  secret: string;
  time: number;
}): BuiltNotification {
  const envelope: WebhookEnvelope = {
    eventType: input.eventType,
    apiVersion: 'v3',
    code: '000000',
    message: '',
    resource: input.resource,
    createTime: String(input.time),
    id: input.notificationId,
  };
  return {
    body: JSON.stringify(envelope),
    headers: {
      'content-type': 'application/json',
      'Signature-Method': 'HMAC-SHA256',
      // Interlace's recipe, written out here rather than borrowed from the service it tests.
      Signature: createHmac('sha256', input.secret).update(input.resource, 'utf8').digest('base64'),
      Timestamp: String(input.time),
    },
    envelope,
  };
}

/** POSTs a built notification; rejects only when no HTTP answer came back (refused, reset, timed out). */
export async function postNotification(
  url: string,
  notification: BuiltNotification,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<DeliveryResult> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const response = await fetch(url, {
    method: 'POST',
    headers: notification.headers,
    body: notification.body,
    signal: signal === undefined ? timeout : AbortSignal.any([timeout, signal]),
  });
  const text = await response.text();
  return { status: response.status, body: parseMaybeJson(text) };
}

function parseMaybeJson(text: string): unknown {
  if (text === '') return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}
