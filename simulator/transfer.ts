import { z } from 'zod';
import type { Envelope, InternalTransfer } from '../src/interlace/types.js';
import { checkAmount, precisionOf as currencyPrecision } from './money.js';
import { Decimal } from './money.js';
import {
  CODE_AMOUNT_TOO_SMALL,
  CODE_BALANCE_NOT_FOUND,
  CODE_IDEMPOTENCY_CONFLICT,
  CODE_INSUFFICIENT_BALANCE,
  CODE_INVALID_PARAMETER,
  fail,
  ok,
  type Reply,
} from './envelope.js';
import type { Fault } from './faults.js';
import type { Prng } from './prng.js';
import type { SimState } from './state.js';
import type { ResolvedOptions, SimTransfer } from './types.js';

const currency = z.string().regex(/^[A-Z0-9]{2,12}$/, 'must be an upper-case currency code');
const id = z.string().min(1, 'is required').max(128);

const common = {
  clientTransactionId: z
    .string()
    .max(128)
    .refine((value) => value.trim() !== '', 'must be non-empty'),
  accountId: id,
  amount: z.string(),
};
/** CryptoConnect -> Infinity USD: the sweep (and a payout's refund). */
const sweepSchema = z.object({
  ...common,
  from: z.object({ businessType: z.literal(2), id, currency }),
  to: z.object({ businessType: z.literal(0), id, currency: z.literal('USD') }),
});
/** Infinity USD -> CryptoConnect, fiat only: a payout's funding (seed 001 "Convert & Withdraw", step 1). */
const fundingSchema = z.object({
  ...common,
  from: z.object({ businessType: z.literal(0), id, currency: z.literal('USD') }),
  to: z.object({ businessType: z.literal(2), id, currency: z.literal('USD') }),
});

export type TransferCall = {
  body: unknown;
  rawBody: string;
  idempotencyKey: string | null;
  /** Answer with this transfer status (a non-success one, for tests of the service's allow-list). */
  status?: Extract<Fault, { kind: 'transfer-status' }>;
};

export type TransferOutcome = {
  reply: Reply;
  /** The transfer this call committed, if it did. */
  committed: SimTransfer | null;
  /** The earlier transfer this call replayed, if it was a repeat. */
  replayed: SimTransfer | null;
};

/**
 * `POST /business/transfer/internal`, CryptoConnect wallet -> Infinity USD (seed 001). Synchronous,
 * so two concurrent calls with one clientTransactionId can never both debit.
 */
export function internalTransfer(
  state: SimState,
  options: ResolvedOptions,
  prng: Prng,
  call: TransferCall,
): TransferOutcome {
  const none = { committed: null, replayed: null };
  const business = (code: string, message: string): TransferOutcome => ({
    reply: fail(options.businessErrorHttpStatus, code, message),
    ...none,
  });
  const invalid = (message: string): TransferOutcome => ({
    reply: fail(400, CODE_INVALID_PARAMETER, message),
    ...none,
  });

  if (call.body === null || typeof call.body !== 'object' || Array.isArray(call.body)) {
    return invalid('request body must be a JSON object');
  }
  const inward = (call.body as { from?: { businessType?: unknown } }).from?.businessType === 0;
  const parsed = (inward ? fundingSchema : sweepSchema).safeParse(call.body);
  if (!parsed.success) {
    return invalid(parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  const request = parsed.data;
  const amountCheck = checkAmount(request.amount, request.from.currency);
  if (!amountCheck.ok) return invalid(`amount: ${amountCheck.reason}`);

  // clientTransactionId is the documented idempotency key (API-NOTES §4). What a repeat returns is
  // undocumented: the simulator answers the original for the same body and refuses any other body.
  // Only committed transfers claim an id, so a call refused for lack of balance can be retried later.
  const earlier = state.transferByClientId(request.clientTransactionId);
  if (earlier !== undefined) {
    if (canonicalJson(earlier.request) !== canonicalJson(call.body)) {
      return business(
        CODE_IDEMPOTENCY_CONFLICT,
        `clientTransactionId ${request.clientTransactionId} was already used with a different request`,
      );
    }
    earlier.replays += 1;
    settle(earlier);
    return {
      reply: { status: 200, body: structuredClone(earlier.response) },
      committed: null,
      replayed: earlier,
    };
  }

  if (!state.hasAccount(request.accountId)) return invalid(`accountId ${request.accountId} does not exist`);
  if (request.from.businessType === 0) {
    return fund(state, options, prng, call, request as z.infer<typeof fundingSchema>);
  }
  const destination = state.infinityRecord(request.accountId, 'USD');
  if (destination === undefined || destination.id !== request.to.id) {
    return invalid(`to.id ${request.to.id} is not the Infinity USD wallet of account ${request.accountId}`);
  }
  const balance =
    state.walletAccount(request.from.id) === request.accountId
      ? state.balance(request.from.id, request.from.currency)
      : undefined;
  if (balance === undefined) {
    return business(CODE_BALANCE_NOT_FOUND, `account balance does not exist (${request.from.currency})`);
  }
  const amount = new Decimal(request.amount);
  if (balance.available.lt(amount)) return business(CODE_INSUFFICIENT_BALANCE, 'insufficient balance');
  const forced = call.status;
  const commits = forced?.commit ?? !/^fail/i.test(forced?.status ?? '');

  // The fee is rounded down in the source currency, the USD credit down to cents; whatever the
  // rounding removes counts as fee, so amount = net + fee holds exactly for every transfer.
  const rawFee = amount
    .times(options.feeRate)
    .toDecimalPlaces(currencyPrecision(request.from.currency), Decimal.ROUND_DOWN);
  const net = amount.minus(rawFee).toDecimalPlaces(2, Decimal.ROUND_DOWN);
  if (net.lte(0)) return business(CODE_AMOUNT_TOO_SMALL, 'amount is too small to cover the fee');
  const fee = amount.minus(net);

  if (commits) {
    balance.available = balance.available.minus(amount);
    destination.available = destination.available.plus(net);
  }

  const data: InternalTransfer = {
    clientTransactionId: request.clientTransactionId,
    id: prng.digits(19),
    status: forced?.status ?? 'CLOSED',
    accountTransferType: 'SAME_ACCOUNT',
    from: {
      id: request.from.id,
      transferId: prng.uuid(),
      accountId: request.accountId,
      amount: request.amount,
      rate: 1,
      currency: request.from.currency,
      businessType: 2,
      fees: [{ feeType: 6, amount: fee.toFixed(), currency: request.from.currency }],
    },
    to: {
      id: destination.id,
      transferId: prng.uuid(),
      accountId: request.accountId,
      amount: net.toFixed(),
      currency: 'USD',
      businessType: 0,
      fees: [{ feeType: 0, amount: '0', currency: 'USD' }],
    },
  };
  const reply = ok(data);
  // A refused transfer moved nothing and claims no id: a later call with it may go through.
  if (!commits) return { reply, committed: null, replayed: null };
  const transfer: SimTransfer = {
    id: data.id,
    clientTransactionId: request.clientTransactionId,
    accountId: request.accountId,
    request: structuredClone(call.body),
    rawBody: call.rawBody,
    idempotencyKey: call.idempotencyKey,
    response: structuredClone(reply.body) as Envelope<InternalTransfer>,
    currency: request.from.currency,
    amount: request.amount,
    fee: fee.toFixed(),
    net: net.toFixed(),
    time: String(options.now()),
    replays: 0,
    status: data.status,
    ...(forced?.settleAfter === undefined
      ? {}
      : { settlesAfter: forced.settleAfter, settleTo: forced.settleTo ?? 'CLOSED' }),
  };
  state.recordTransfer(transfer);
  return { reply, committed: transfer, replayed: null };
}

/** A repeat of a transfer with a non-final status: after its `settlesAfter` repeats, it becomes final. */
function settle(transfer: SimTransfer): void {
  if (transfer.settlesAfter === undefined || transfer.settleTo === undefined) return;
  if (transfer.replays <= transfer.settlesAfter) return;
  transfer.status = transfer.settleTo;
  if (transfer.response.data) transfer.response.data.status = transfer.settleTo;
  delete transfer.settlesAfter;
}

/**
 * Infinity USD -> CryptoConnect USD, without a fee (seed 001's example answers fee 0). The example's
 * `to.id` is the account id while later steps use a wallet id (API-NOTES §8): both are accepted, the
 * account id meaning the account's default wallet (its master wallet, else its first), which is also
 * where a trade takes its USD from.
 */
function fund(
  state: SimState,
  options: ResolvedOptions,
  prng: Prng,
  call: TransferCall,
  request: z.infer<typeof fundingSchema>,
): TransferOutcome {
  const none = { committed: null, replayed: null };
  const source = state.infinityRecord(request.accountId, 'USD');
  if (source === undefined || source.id !== request.from.id) {
    return {
      reply: fail(400, CODE_INVALID_PARAMETER, `from.id ${request.from.id} is not the Infinity USD wallet`),
      ...none,
    };
  }
  const wallet =
    request.to.id === request.accountId
      ? state.defaultWallet(request.accountId)
      : state.walletAccount(request.to.id) === request.accountId
        ? state.wallet(request.to.id)
        : undefined;
  const balance = wallet === undefined ? undefined : state.balance(wallet.id, 'USD');
  if (wallet === undefined || balance === undefined) {
    return {
      reply: fail(
        options.businessErrorHttpStatus,
        CODE_BALANCE_NOT_FOUND,
        'account balance does not exist (USD)',
      ),
      ...none,
    };
  }
  const amount = new Decimal(request.amount);
  if (source.available.lt(amount)) {
    return {
      reply: fail(options.businessErrorHttpStatus, CODE_INSUFFICIENT_BALANCE, 'insufficient balance'),
      ...none,
    };
  }
  // A transfer-status fault answers with that status; whether it moved the money follows `commit`
  // (default: not for FAIL*, yes otherwise), as for the sweep's transfers.
  const forced = call.status;
  const commits = forced?.commit ?? !/^fail/i.test(forced?.status ?? '');
  if (commits) {
    source.available = source.available.minus(amount);
    balance.available = balance.available.plus(amount);
  }
  const leg = (legId: string, businessType: number, fees: InternalTransfer['from']['fees']) => ({
    id: legId,
    transferId: prng.uuid(),
    accountId: request.accountId,
    amount: request.amount,
    currency: 'USD',
    businessType,
    fees,
  });
  const data: InternalTransfer = {
    clientTransactionId: request.clientTransactionId,
    id: prng.digits(19),
    status: forced?.status ?? 'CLOSED',
    accountTransferType: 'SAME_ACCOUNT',
    from: { ...leg(source.id, 0, [{ feeType: 0, amount: '0', currency: 'USD' }]), rate: 1 },
    to: leg(request.to.id, 2, []),
  };
  const reply = ok(data);
  // A refused funding moved nothing and claims no id.
  if (!commits) return { reply, ...none };
  const transfer = ledgerEntry(call, data, reply, options, {
    currency: 'USD',
    amount: request.amount,
    fee: '0',
    net: request.amount,
  });
  state.recordFunding(transfer, wallet.id);
  return { reply, committed: transfer, replayed: null };
}

/** What the ledger keeps of a committed transfer: the request as received, the answer, the money. */
function ledgerEntry(
  call: TransferCall,
  data: InternalTransfer,
  reply: { body: unknown },
  options: ResolvedOptions,
  money: Pick<SimTransfer, 'currency' | 'amount' | 'fee' | 'net'>,
): SimTransfer {
  return {
    id: data.id,
    clientTransactionId: data.clientTransactionId,
    accountId: data.from.accountId,
    request: structuredClone(call.body),
    rawBody: call.rawBody,
    idempotencyKey: call.idempotencyKey,
    response: structuredClone(reply.body) as Envelope<InternalTransfer>,
    ...money,
    time: String(options.now()),
    replays: 0,
    status: data.status,
  };
}

/** JSON with object keys sorted: two bodies are "the same" whatever order the client wrote the keys in. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) => {
    if (inner === null || typeof inner !== 'object' || Array.isArray(inner)) return inner;
    return Object.fromEntries(
      Object.entries(inner as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)),
    );
  });
}
