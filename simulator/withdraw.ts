import { z } from 'zod';
import { fakeTxHash } from './addresses.js';
import { canonicalJson } from './transfer.js';
import { checkAmount, Decimal } from './money.js';
import {
  CODE_BALANCE_NOT_FOUND,
  CODE_IDEMPOTENCY_CONFLICT,
  CODE_INSUFFICIENT_BALANCE,
  CODE_INVALID_ADDRESS,
  CODE_INVALID_PARAMETER,
  fail,
  parseRequest,
  okZero,
  type Reply,
} from './envelope.js';
import type { PayoutBooks, SimWithdrawal, WithdrawalStatus } from './payout-books.js';
import type { Prng } from './prng.js';
import { SimulatorError } from './simulator-error.js';
import type { SimState } from './state.js';
import type { ResolvedOptions } from './types.js';

type Books = { state: SimState; books: PayoutBooks; options: ResolvedOptions; ids: Prng };

// The docs spell the endpoint types two ways (API-NOTES §8): the simulator accepts both, so the
// service's setting of either spelling works against it.
const sourceType = z.string().refine((t) => ['wallet', 'cryptoconnect_wallet'].includes(t.toLowerCase()), {
  message: 'must be WALLET or cryptoconnect_wallet',
});
const destinationType = z.string().refine((t) => t.toLowerCase() === 'blockchain', {
  message: 'must be BLOCKCHAIN or blockchain',
});
const endpoints = {
  source: z.object({ type: sourceType, id: z.string().min(1).max(128) }),
  destination: z.object({
    type: destinationType,
    chain: z.string().min(1).max(32),
    address: z.string().max(128),
  }),
  amount: z.object({ amount: z.string(), currency: z.string().regex(/^[A-Z0-9]{2,12}$/) }),
};
const feeSchema = z.object({ accountId: z.string().min(1).max(128), ...endpoints });
const withdrawSchema = z.object({ idempotencyKey: z.string().min(1).max(128), ...endpoints });

/** Address shapes per chain: what a real network would refuse, the simulator refuses too. */
const ADDRESS_FORMATS: Record<string, RegExp> = {
  EVM: /^0x[0-9a-fA-F]{40}$/,
  TRON: /^T[1-9A-HJ-NP-Za-km-z]{33}$/,
  SOL: /^[1-9A-HJ-NP-Za-km-z]{32,44}$/,
};
const CHAIN_FORMAT: Record<string, keyof typeof ADDRESS_FORMATS> = {
  ETH: 'EVM',
  ARB: 'EVM',
  BSC: 'EVM',
  POLYGON: 'EVM',
  BASE: 'EVM',
  OP: 'EVM',
  ETH_SEPOLIA: 'EVM',
  TRON: 'TRON',
  TRX: 'TRON',
  SOL: 'SOL',
  SOLANA: 'SOL',
};

/** `POST /cryptoconnect/transfers/fee-and-quota` (code 0): the gas of a withdrawal, and the quotas. */
export function feeAndQuota(books: Books, body: unknown): Reply {
  const parsed = parseRequest(feeSchema, body);
  if ('reply' in parsed) return parsed.reply;
  const request = parsed.value;
  const invalid = checkDestination(request.destination.chain, request.destination.address);
  if (invalid !== undefined)
    return fail(books.options.businessErrorHttpStatus, CODE_INVALID_ADDRESS, invalid);
  return okZero({
    crossChainQuota: '10000',
    crossChainFeeRate: '0.003',
    crossChainAmount: '0',
    fees: [{ amount: books.options.withdrawGas, currency: request.amount.currency, type: 'GAS' }],
  });
}

/**
 * `POST /cryptoconnect/transfers` (code 0): debits the wallet and answers the transfer as Pending with
 * no transaction hash. `idempotencyKey` is its only key (API-NOTES §9): a repeat with the same body
 * answers the transfer as it is now, another body is refused.
 */
export function createWithdrawal(
  books: Books,
  body: unknown,
): { reply: Reply; created: SimWithdrawal | null } {
  const none = { created: null };
  const parsed = parseRequest(withdrawSchema, body);
  if ('reply' in parsed) return { reply: parsed.reply, ...none };
  const request = parsed.value;
  const business = (code: string, message: string) => ({
    reply: fail(books.options.businessErrorHttpStatus, code, message),
    ...none,
  });
  const earlier = books.books.withdrawalByKey(request.idempotencyKey);
  if (earlier !== undefined) {
    if (canonicalJson(earlier.request) !== canonicalJson(body)) {
      return business(
        CODE_IDEMPOTENCY_CONFLICT,
        `idempotencyKey ${request.idempotencyKey} was already used with a different request`,
      );
    }
    earlier.replays += 1;
    return { reply: okZero(viewWithdrawal(earlier)), ...none };
  }
  const amount = checkAmount(request.amount.amount, request.amount.currency);
  if (!amount.ok)
    return { reply: fail(400, CODE_INVALID_PARAMETER, `amount.amount: ${amount.reason}`), ...none };
  const invalid = checkDestination(request.destination.chain, request.destination.address);
  if (invalid !== undefined) return business(CODE_INVALID_ADDRESS, invalid);
  const accountId = books.state.walletAccount(request.source.id);
  const balance = books.state.balance(request.source.id, request.amount.currency);
  if (accountId === undefined || balance === undefined) {
    return business(CODE_BALANCE_NOT_FOUND, `account balance does not exist (${request.amount.currency})`);
  }
  const gas = new Decimal(books.options.withdrawGas);
  const sent = new Decimal(request.amount.amount);
  const onTop = books.options.withdrawGasMode === 'on-top';
  const debited = onTop ? sent.plus(gas) : sent;
  const arrives = onTop ? sent : sent.minus(gas);
  if (arrives.lte(0)) return business(CODE_INVALID_PARAMETER, 'amount does not cover the gas fee');
  if (balance.available.lt(debited)) return business(CODE_INSUFFICIENT_BALANCE, 'insufficient balance');
  balance.available = balance.available.minus(debited);
  const now = String(books.options.now());
  const withdrawal: SimWithdrawal = {
    id: books.ids.uuid(),
    accountId,
    idempotencyKey: request.idempotencyKey,
    source: { ...request.source },
    destination: { ...request.destination },
    amount: { amount: request.amount.amount, currency: request.amount.currency },
    fees: [{ amount: gas.toFixed(), currency: request.amount.currency, type: 'GAS' }],
    status: 'Pending',
    transactionHash: null,
    createTime: now,
    updateTime: now,
    debited: debited.toFixed(),
    arrives: arrives.toFixed(),
    request: structuredClone(body),
    replays: 0,
  };
  books.books.recordWithdrawal(withdrawal);
  return { reply: okZero(viewWithdrawal(withdrawal)), created: withdrawal };
}

/**
 * Moves a withdrawal to a status, as the chain and Interlace's compliance checks would: Closed gets a
 * transaction hash, Failed gives the debited money back to the wallet, ON_HOLD keeps it (a refund
 * request decides). Closed and Failed are final.
 */
export function changeWithdrawalStatus(books: Books, id: string, status: WithdrawalStatus): SimWithdrawal {
  const withdrawal = books.books.withdrawal(id);
  if (withdrawal === undefined) throw new SimulatorError(404, `withdrawal ${id} does not exist`);
  if (withdrawal.status === 'Closed' || withdrawal.status === 'Failed') {
    throw new SimulatorError(409, `withdrawal ${id} is already ${withdrawal.status}`);
  }
  if (status === 'Closed' && withdrawal.transactionHash === null) {
    withdrawal.transactionHash = fakeTxHash(withdrawal.destination.chain, books.ids);
  }
  if (status === 'Failed') {
    const balance = books.state.balance(withdrawal.source.id, withdrawal.amount.currency);
    if (balance !== undefined) balance.available = balance.available.plus(withdrawal.debited);
  }
  withdrawal.status = status;
  withdrawal.updateTime = String(books.options.now());
  return structuredClone(withdrawal);
}

/** The transfer as the API answers it and as its notifications carry it (seed 001, step 5). */
export function viewWithdrawal(withdrawal: SimWithdrawal) {
  const { request: _request, replays: _replays, debited: _debited, arrives: _arrives, ...rest } = withdrawal;
  return structuredClone(rest);
}

function checkDestination(chain: string, address: string): string | undefined {
  const format = CHAIN_FORMAT[chain.toUpperCase()];
  if (format === undefined) return `chain ${chain} is not supported`;
  if (!ADDRESS_FORMATS[format]!.test(address)) return `address is not a valid ${chain} address`;
  return undefined;
}
