import { z } from 'zod';
import { checkAmount } from '../sweep/amounts.js';
import type { DepositStatus, WebhookEnvelope } from './types.js';

/** A validated crypto deposit notification, ready for the ledger. */
export type DepositEvent = {
  notificationId: string;
  eventType: string;
  depositId: string;
  accountId: string;
  walletId: string;
  currency: string;
  amount: string;
  /** One of DepositStatus, or any other status: the ledger keeps an unknown one and never sweeps it. */
  status: DepositStatus | (string & {});
  chain?: string;
  txHash?: string;
  address?: string;
  createTime?: string;
  updateTime?: string;
};

export type ParsedNotification =
  | { kind: 'deposit'; deposit: DepositEvent }
  | { kind: 'ignored'; reason: 'event-type' | 'direction-out' | 'not-a-deposit' }
  | { kind: 'invalid'; reason: string; depositId?: string };

// Ids become Redis keys and BullMQ job ids: a narrow alphabet keeps both safe (no ':' or spaces).
const id = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'must be 1-128 letters, digits, . _ -');
const text = z.string().max(256);
const WITHDRAWAL_KEYS = ['source', 'destination', 'idempotencyKey'];

const resourceSchema = z.object({
  id,
  accountId: id,
  walletId: id,
  // Only the signed resource says what the money is: a deposit says IN (API-NOTES §6). A missing or
  // unknown direction is not IN (a dead letter for an operator, never swept); OUT is not ours to sweep.
  direction: z.enum(['IN', 'OUT'], { message: 'must be IN or OUT (only IN is a deposit)' }),
  currency: z
    .string()
    .regex(/^[A-Za-z0-9]{2,12}$/, 'must be a currency code')
    .transform((value) => value.toUpperCase()),
  amount: z.unknown(),
  // An unknown status is not an invalid notification: it must reach the ledger, where it stops a
  // queued sweep and is kept, never swept (fail closed).
  status: z.string().min(1).max(64),
  chain: text.optional(),
  txHash: text.optional(),
  address: text.optional(),
  createTime: z.union([text, z.number()]).optional(),
  updateTime: z.union([text, z.number()]).optional(),
});

/** The outer v3 envelope: `resource` must be a string, since the signature covers it as received. */
export const envelopeSchema = z.object({
  eventType: z.string().min(1).max(128),
  id: z.string().min(1).max(128),
  resource: z.string(),
  apiVersion: z.string().max(16).optional(),
  code: z.union([z.string(), z.number()]).optional(),
  message: z.string().max(4096).optional(),
  createTime: z.union([z.string(), z.number()]).optional(),
});

/**
 * Turns a verified envelope into a deposit event, or says why it is not one. Never throws: a signed
 * notification with bad fields is a dead letter for an operator, not a crash.
 */
export function parseDepositNotification(
  envelope: WebhookEnvelope,
  depositEventTypes: readonly string[],
): ParsedNotification {
  if (!depositEventTypes.includes(envelope.eventType)) return { kind: 'ignored', reason: 'event-type' };
  let raw: unknown;
  try {
    raw = JSON.parse(envelope.resource);
  } catch {
    return { kind: 'invalid', reason: 'resource is not valid JSON' };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    return { kind: 'invalid', reason: 'resource is not a JSON object' };
  }
  // The envelope's eventType is not signed: a resource shaped like a withdrawal (a blockchain transfer
  // with a source, a destination or an idempotency key, or an amount object) is never a deposit,
  // whatever event type it came under.
  if (
    WITHDRAWAL_KEYS.some((key) => Object.hasOwn(raw, key)) ||
    typeof (raw as { amount?: unknown }).amount === 'object'
  )
    return { kind: 'ignored', reason: 'not-a-deposit' };
  const parsed = resourceSchema.safeParse(raw);
  const maybeId = (raw as { id?: unknown }).id;
  const depositId = typeof maybeId === 'string' && id.safeParse(maybeId).success ? maybeId : undefined;
  if (!parsed.success) {
    const reason = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || 'resource'}: ${issue.message}`)
      .join('; ');
    return { kind: 'invalid', reason, ...(depositId ? { depositId } : {}) };
  }
  const resource = parsed.data;
  if (resource.direction === 'OUT') return { kind: 'ignored', reason: 'direction-out' };
  const amount = checkAmount(resource.amount, resource.currency);
  if (!amount.ok) return { kind: 'invalid', reason: amount.reason, depositId: resource.id };
  return {
    kind: 'deposit',
    deposit: {
      notificationId: envelope.id,
      eventType: envelope.eventType,
      depositId: resource.id,
      accountId: resource.accountId,
      walletId: resource.walletId,
      currency: resource.currency,
      amount: amount.amount,
      status: resource.status,
      ...optional('chain', resource.chain),
      ...optional('txHash', resource.txHash),
      ...optional('address', resource.address),
      ...optional('createTime', resource.createTime?.toString()),
      ...optional('updateTime', resource.updateTime?.toString()),
    },
  };
}

function optional<K extends string>(key: K, value: string | undefined): Partial<Record<K, string>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string>);
}
