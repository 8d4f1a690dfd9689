import { createHttpClient, HttpCallError } from '../http-client.js';
import type { MerchantWebhookConfig } from '../config.js';
import { signMerchantEvent, type MerchantEventJobData } from './merchant-event.js';

export type MerchantEventDelivery = { deliver(event: MerchantEventJobData): Promise<void>; close(): void };

/**
 * POSTs one signed event to MERCHANT_WEBHOOK_URL over axios (the service's one HTTP client), signed
 * afresh at each attempt (Standard Webhooks: the timestamp is the attempt's). 2xx: delivered. Anything
 * else throws, so the job is retried with backoff and, after its last attempt, dead-lettered: a 4xx may
 * be the merchant's misconfiguration that they fix, and at least once matters more than a quick verdict.
 * The URL is never put in errors (it may carry a token).
 */
export function createMerchantEventDelivery(
  webhook: MerchantWebhookConfig,
  now: () => number = Date.now,
): MerchantEventDelivery {
  const http = createHttpClient({
    baseUrl: webhook.url,
    deadlineMs: webhook.timeoutMs,
    maxAnswerBytes: 64 * 1024,
  });
  return {
    async deliver(event) {
      const headers = {
        'content-type': 'application/json',
        ...signMerchantEvent(webhook.secret, event, now() / 1000),
      };
      let status: number;
      try {
        // A string body is sent as is: the bytes signed are the bytes sent.
        ({ status } = await http.send({ method: 'POST', path: '', headers, body: event.body }));
      } catch (error) {
        const code = error instanceof HttpCallError ? error.code : 'ENETWORK';
        throw new Error(`merchant endpoint unreachable (${code === 'ETIMEDOUT' ? 'timeout' : code})`);
      }
      if (status < 200 || status >= 300) throw new Error(`merchant endpoint answered HTTP ${status}`);
    },
    close() {
      http.close();
    },
  };
}
