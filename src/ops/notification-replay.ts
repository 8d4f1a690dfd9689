import { envelopeSchema, parseDepositNotification } from '../interlace/deposit-event.js';
import type { WebhookEnvelope } from '../interlace/types.js';
import {
  decideCredited,
  DEPOSIT_TRANSITIONS,
  notificationEvent,
  ownedWalletModes,
  unownedWalletEvent,
} from '../policy/deposit-policy.js';
import { transition } from '../policy/transition-table.js';
import { sweepTransactionId } from '../sweep/transaction-id.js';
import { acceptNotification } from '../webhooks/accept-notification.js';
import type { OpsDeps } from './ops-context.js';
import { ensureSweepJob } from './sweep-job.js';

export type ParsedBody = { ok: true; envelope: WebhookEnvelope } | { ok: false; reason: string };

/** A stored raw notification body back into an envelope; its signature was checked when it arrived. */
export function parseStoredBody(body: string): ParsedBody {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'invalid envelope: body is not valid JSON' };
  }
  const parsed = envelopeSchema.safeParse(json);
  if (!parsed.success) {
    const reason = parsed.error.issues.map((issue) => `${issue.path.join('.') || 'body'}: ${issue.message}`);
    return { ok: false, reason: `invalid envelope: ${reason.join('; ')}` };
  }
  return { ok: true, envelope: parsed.data as WebhookEnvelope };
}

export type FeedOutcome =
  | {
      outcome: 'deposit';
      depositId: string;
      /** The ledger state before, or 'missing'. */
      before: string;
      state: string;
      change: string;
      sweep: 'enqueued' | 'already-queued' | 'none';
      clientTransactionId: string;
    }
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'dead-lettered'; reason: string; depositId?: string };

/**
 * Feeds a stored notification through the live path (without logging it again), then makes sure a
 * queued deposit really has a job to run it.
 */
export async function feedNotification(
  deps: OpsDeps,
  envelope: WebhookEnvelope,
  body: string,
): Promise<FeedOutcome> {
  const parsed = parseDepositNotification(envelope, deps.config.interlace.depositEventTypes);
  const before = parsed.kind === 'deposit' ? await deps.deposits.get(parsed.deposit.depositId) : undefined;
  const result = await acceptNotification(deps.receiver, envelope, body, { source: 'replay' });
  if (result.outcome === 'ignored') return result;
  // A payout's transfer notification: the payout moved (or not) through its own path.
  if (result.outcome === 'payout')
    return { outcome: 'ignored', reason: `payout ${result.payoutId} ${result.change} (${result.state})` };
  if (result.outcome === 'dead-lettered')
    return {
      ...result,
      ...(parsed.kind === 'invalid' && parsed.depositId ? { depositId: parsed.depositId } : {}),
    };
  // The live path enqueues a deposit it has just queued (replacing a stale finished job); ensureSweepJob
  // is the safety net for one that was already queued without a live job.
  const job = result.state === 'queued' ? await ensureSweepJob(deps.queues, result.depositId) : 'none';
  const sweep = job === 'already-queued' && result.change !== 'unchanged' ? 'enqueued' : job;
  return {
    outcome: 'deposit',
    depositId: result.depositId,
    before: before?.state ?? 'missing',
    state: result.state,
    change: result.change,
    sweep,
    clientTransactionId: sweepTransactionId(result.depositId),
  };
}

export type FeedPrediction =
  | {
      outcome: 'deposit';
      depositId: string;
      currency: string;
      amount: string;
      status: string;
      before: string;
      state: string;
      wouldSweep: boolean;
      clientTransactionId: string;
    }
  | { outcome: 'ignored'; reason: string }
  | { outcome: 'dead-lettered'; reason: string; depositId?: string };

/**
 * What feedNotification would do, read-only. Mirrors the ledger's accept script: a new deposit takes the
 * notification's state, a pending one moves on the first non-PENDING notification, any other stays put.
 */
export async function predictNotification(deps: OpsDeps, envelope: WebhookEnvelope): Promise<FeedPrediction> {
  const parsed = parseDepositNotification(envelope, deps.config.interlace.depositEventTypes);
  if (parsed.kind === 'ignored') return { outcome: 'ignored', reason: parsed.reason };
  if (parsed.kind === 'invalid')
    return {
      outcome: 'dead-lettered',
      reason: parsed.reason,
      ...(parsed.depositId ? { depositId: parsed.depositId } : {}),
    };
  const deposit = parsed.deposit;
  const record = await deps.deposits.get(deposit.depositId);
  const before = record?.state ?? 'missing';
  // The same table the ledger script applies: the preview cannot disagree with what a replay does.
  const judged = notificationEvent(deposit.status, decideCredited(deposit, deps.config.sweep));
  // The unknown-wallet rule as the accept script reads it: the owner record of the deposit's own wallet
  // (the record's, else this notification's), counted only in a mode that owns it.
  const walletId = record?.walletId || deposit.walletId;
  const [ownerId, ownerMode] = await deps.redis.hmget(deps.keys.walletOwner(walletId), 'id', 'mode');
  const owned = ownerId !== null && ownedWalletModes(deps.config.merchantApi.mode).includes(ownerMode ?? '');
  const { event } = owned ? judged : unownedWalletEvent(judged, deps.config.unknownWalletDeposits, walletId);
  // Without a record, a deposit the swept-ids record knows is rebuilt as swept, never swept again.
  const from = record?.state ?? ((await deps.deposits.sweptTransfer(deposit.depositId)) ? 'swept' : 'new');
  const state: string = transition(DEPOSIT_TRANSITIONS, from, event).to;
  return {
    outcome: 'deposit',
    depositId: deposit.depositId,
    currency: deposit.currency,
    amount: deposit.amount,
    status: deposit.status,
    before,
    state,
    wouldSweep: state === 'queued',
    clientTransactionId: sweepTransactionId(deposit.depositId),
  };
}
