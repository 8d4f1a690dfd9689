import { UnrecoverableError } from 'bullmq';
import { createHttpClient, HttpCallError } from '../http-client.js';
import type { SlackMessage } from './alerts.js';

/** Longest one delivery attempt may take; a slow endpoint is retried later, never waited on forever. */
export const ALERT_DELIVERY_TIMEOUT_MS = 10_000;

export type AlertDelivery = { deliver(message: SlackMessage): Promise<void>; close(): void };

/**
 * POSTs Slack-compatible messages to one URL over axios (the service's one HTTP client). 2xx: delivered.
 * Network errors, timeouts, 429 and 5xx throw (the alert job is retried with backoff); any other status,
 * a redirect included, means the URL or the body is wrong, so retrying cannot help: UnrecoverableError.
 * The URL is never put in errors (it is a credential for Slack).
 */
export function createAlertDelivery(url: string, deadlineMs = ALERT_DELIVERY_TIMEOUT_MS): AlertDelivery {
  // Slack answers "ok"; a few KiB is plenty for any endpoint's answer.
  const http = createHttpClient({ baseUrl: url, deadlineMs, maxAnswerBytes: 64 * 1024 });
  return {
    async deliver(message) {
      let status: number;
      try {
        ({ status } = await http.send({ method: 'POST', path: '', body: message }));
      } catch (error) {
        const code = error instanceof HttpCallError ? error.code : 'ENETWORK';
        throw new Error(`alert endpoint unreachable (${code === 'ETIMEDOUT' ? 'timeout' : code})`);
      }
      if (status >= 200 && status < 300) return;
      if (status === 429 || status >= 500) throw new Error(`alert endpoint answered HTTP ${status}`);
      throw new UnrecoverableError(`alert endpoint refused the alert: HTTP ${status}`);
    },
    close() {
      http.close();
    },
  };
}
