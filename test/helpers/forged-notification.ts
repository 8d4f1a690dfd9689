import { storedNotificationBody } from '../../src/interlace/stored-notification.js';
import type { Stack } from './stack.js';

/**
 * A deposit notification for real money in the stack's wallet (a deposit whose notification has not
 * come yet), signed with a secret that is not Interlace's, under a fresh deposit id: `built` as it
 * would be POSTed, `body` as the receiver would store it in the event log.
 */
export function forgedDepositNotification(stack: Stack) {
  const real = stack.deposit('100');
  const resource = { ...stack.sim.depositResource(real), id: `forged-${Date.now()}` };
  const built = stack.sim.buildRawNotification(stack.config.interlace.depositEventTypes[0]!, resource, {
    secret: 'not-the-interlace-secret',
  });
  const body = storedNotificationBody(built.envelope, {
    signature: built.headers.Signature!,
    method: 'HMAC-SHA256',
    timestamp: built.headers.Timestamp!,
  });
  return { forgedId: resource.id, built, body };
}
