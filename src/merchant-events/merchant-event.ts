// The merchant's deposit events: what the outbox entry (written by the ledger's scripts with the state
// change) becomes on the wire, and how it is signed. Pure functions; the relay and the delivery worker
// carry them out. docs/merchant-events.md is the receiver's side of this file.
import { createHmac } from 'node:crypto';
import type { DepositRecord } from '../deposits/deposit-state.js';
import { merchantEventName, merchantReason, type MerchantEventType } from '../policy/deposit-policy.js';
import { nameBasedUuid } from '../sweep/transaction-id.js';

/** BullMQ queue (under QUEUE_PREFIX) of events waiting for, or given up on, delivery. */
export const MERCHANT_EVENT_QUEUE = 'merchant-events';

/** One event as the delivery job keeps it: the body is fixed once, so every retry sends the same bytes. */
export type MerchantEventJobData = {
  eventId: string;
  type: MerchantEventType;
  depositId: string;
  /** The JSON body, exactly as signed and sent. */
  body: string;
  createdAt: string;
};

/** The event body (`data` is the deposit as it was at the state change). */
export type MerchantEventBody = {
  id: string;
  type: MerchantEventType;
  /** When the state changed (ISO 8601). */
  timestamp: string;
  data: MerchantDeposit;
};

/** A deposit as the merchant sees it: snake_case like the merchant API; amounts are decimal strings. */
export type MerchantDeposit = {
  deposit_id: string;
  state: string;
  status: string | null;
  currency: string;
  amount: string;
  chain: string | null;
  tx_hash: string | null;
  address: string | null;
  /** The merchant's customer (the wallet's external_id); null for a wallet this service did not create. */
  external_id: string | null;
  wallet: { id: string | null; wallet_id: string; external_id: string | null; name: string | null };
  account_id: string;
  transfer_id: string | null;
  fee: string | null;
  fee_currency: string | null;
  net_amount: string | null;
  net_currency: string | null;
  reason: string | null;
  first_seen: string | null;
  updated: string | null;
};

/**
 * The event id (webhook-id): a name-based UUID of (deposit, type, state entered), the policy's
 * merchantEventName. Never the outbox stream id: the same state change written again after Redis lost
 * it (a failover, a restore) must reach the merchant under the same id. Also the delivery job's id, so
 * relaying an entry twice (a crash between enqueue and delete) adds one job.
 */
export function merchantEventId(depositId: string, type: MerchantEventType, stateEntered: string): string {
  return `evt_${nameBasedUuid(merchantEventName(depositId, type, stateEntered))}`;
}

/** Builds the delivery job of one outbox entry (its fields as XRANGE gives them). */
export function eventFromOutbox(fields: Readonly<Record<string, string>>): MerchantEventJobData {
  // Written by the ledger's scripts from the policy's MERCHANT_EVENT_RULES: one of MERCHANT_EVENT_TYPES.
  const type = fields.type as MerchantEventType;
  const record = parseRecord(fields.deposit);
  const depositId = fields.depositId ?? record.depositId ?? '';
  // An entry written before the scripts added `state` has it in its snapshot (taken after the change).
  const eventId = merchantEventId(depositId, type, fields.state ?? record.state ?? '');
  const timestamp = isoOf(fields.at) ?? new Date().toISOString();
  const body: MerchantEventBody = { id: eventId, type, timestamp, data: merchantDeposit(record) };
  return {
    eventId,
    type,
    depositId,
    body: JSON.stringify(body),
    createdAt: timestamp,
  };
}

/** The merchant's view of a deposit record: no internal fields (job ids, attempts, notification ids). */
export function merchantDeposit(record: Partial<DepositRecord>): MerchantDeposit {
  const or = (value: string | undefined) => (value === undefined || value === '' ? null : value);
  return {
    deposit_id: record.depositId ?? '',
    state: record.state ?? '',
    status: or(record.upstreamStatus),
    currency: record.currency ?? '',
    amount: record.amount ?? '',
    chain: or(record.chain),
    tx_hash: or(record.txHash),
    address: or(record.address),
    external_id: or(record.externalId),
    wallet: {
      id: or(record.walletRecordId),
      wallet_id: record.walletId ?? '',
      external_id: or(record.externalId),
      name: or(record.walletName),
    },
    account_id: record.accountId ?? '',
    transfer_id: or(record.transferId),
    fee: or(record.feeTotal),
    fee_currency: or(record.feeCurrency),
    net_amount: or(record.netAmount),
    net_currency: or(record.netCurrency),
    reason: merchantReason(record.state ?? '', record.reason),
    first_seen: isoOf(record.firstSeenAt) ?? null,
    updated: isoOf(record.updatedAt) ?? null,
  };
}

/**
 * The Standard Webhooks headers of one delivery: `webhook-signature` is `v1,` and the base64 of
 * HMAC-SHA256(`<id>.<timestamp>.<body>`) keyed with the secret's decoded base64 (after `whsec_`).
 */
export function signMerchantEvent(
  secret: string,
  event: { eventId: string; body: string },
  timestampSeconds: number,
): Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string> {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const timestamp = String(Math.floor(timestampSeconds));
  const signature = createHmac('sha256', key)
    .update(`${event.eventId}.${timestamp}.${event.body}`)
    .digest('base64');
  return {
    'webhook-id': event.eventId,
    'webhook-timestamp': timestamp,
    'webhook-signature': `v1,${signature}`,
  };
}

function parseRecord(json: string | undefined): Partial<DepositRecord> {
  if (json === undefined) return {};
  const parsed = JSON.parse(json) as unknown;
  // cjson encodes an empty Lua table as {} and never an array for a hash; anything else is not a record.
  return parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)
    ? (parsed as Partial<DepositRecord>)
    : {};
}

function isoOf(ms: string | undefined): string | undefined {
  const value = Number(ms);
  return ms !== undefined && ms !== '' && Number.isFinite(value) ? new Date(value).toISOString() : undefined;
}
