import { UnrecoverableError } from 'bullmq';
import type { SlackMessage } from './alerts.js';

/** Longest one delivery attempt may take; a slow endpoint is retried later, never waited on forever. */
export const ALERT_DELIVERY_TIMEOUT_MS = 10_000;

/**
 * POSTs one Slack-compatible message. 2xx: delivered. Network errors, timeouts, 429 and 5xx throw (the
 * alert job is retried with backoff); any other 4xx means the URL or the body is wrong, so retrying
 * cannot help: UnrecoverableError. The URL is never put in errors (it is a credential for Slack).
 */
export async function deliverAlert(
  url: string,
  message: SlackMessage,
  timeoutMs = ALERT_DELIVERY_TIMEOUT_MS,
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(message),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (error) {
    const name = error instanceof Error ? error.name : 'Error';
    throw new Error(`alert endpoint unreachable (${name === 'TimeoutError' ? 'timeout' : name})`);
  }
  // Drain the body so the socket is released.
  await response.arrayBuffer().catch(() => undefined);
  if (response.ok) return;
  if (response.status === 429 || response.status >= 500)
    throw new Error(`alert endpoint answered HTTP ${response.status}`);
  throw new UnrecoverableError(`alert endpoint refused the alert: HTTP ${response.status}`);
}
