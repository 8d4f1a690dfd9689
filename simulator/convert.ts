import { z } from 'zod';
import { canonicalJson } from './transfer.js';
import { checkAmount, Decimal, precisionOf } from './money.js';
import {
  CODE_AMOUNT_TOO_SMALL,
  CODE_IDEMPOTENCY_CONFLICT,
  CODE_INSUFFICIENT_BALANCE,
  CODE_INVALID_PARAMETER,
  CODE_UNSUPPORTED_PAIR,
  fail,
  parseRequest,
  ok,
  okZero,
  type Reply,
} from './envelope.js';
import { PAIRS, type PayoutBooks, type SimTrade } from './payout-books.js';
import type { Prng } from './prng.js';
import type { SimState } from './state.js';
import type { ResolvedOptions } from './types.js';

/** Seed 001 gives no minimum of its own; 1 unit on each side is the simulator's choice. */
const PAIR_MIN = '1';

const currency = z.string().regex(/^[A-Z0-9]{2,12}$/, 'must be an upper-case currency code');
const quoteSchema = z.object({
  accountId: z.string().min(1).max(128),
  baseCurrency: currency,
  quoteCurrency: currency,
  side: z.enum(['BUY', 'SELL']),
  rfqCurrency: currency,
  rfqAmount: z.string(),
});
const tradeSchema = quoteSchema.extend({ referenceId: z.string().min(1).max(128) });

type Books = { state: SimState; books: PayoutBooks; options: ResolvedOptions; ids: Prng };

type Priced = {
  symbol: string;
  baseCurrency: string;
  quoteCurrency: string;
  side: 'BUY' | 'SELL';
  rate: Decimal;
  baseAmount: Decimal;
  quoteAmount: Decimal;
  fee: Decimal;
  feeCurrency: string;
  /** What leaves the wallet, and in which currency. */
  spend: { currency: string; amount: Decimal };
  /** What arrives in the wallet, and in which currency. */
  receive: { currency: string; amount: Decimal };
};

/** `GET /cryptoconnect/convert/currency-pair?fromCurrency=&toCurrency=` (code 0, seed 001 / API-NOTES §9). */
export function currencyPair(books: Books, query: Record<string, unknown>): Reply {
  const from = query['fromCurrency'];
  const to = query['toCurrency'];
  if (typeof from !== 'string' || typeof to !== 'string') {
    return fail(400, CODE_INVALID_PARAMETER, 'fromCurrency and toCurrency are required');
  }
  const symbol = [`${to}-${from}`, `${from}-${to}`].find((s) => (PAIRS as readonly string[]).includes(s));
  if (symbol === undefined) {
    return fail(books.options.businessErrorHttpStatus, CODE_UNSUPPORTED_PAIR, `no pair ${from}/${to}`);
  }
  const [base, quote] = symbol.split('-') as [string, string];
  return okZero({ symbol, baseCurrency: base, baseMin: PAIR_MIN, quoteCurrency: quote, quoteMin: PAIR_MIN });
}

/** `POST /cryptoconnect/convert/estimate-quote`: the preview; nothing moves and nothing is kept. */
export function estimateQuote(books: Books, body: unknown): Reply {
  const parsed = parseRequest(quoteSchema, body);
  if ('reply' in parsed) return parsed.reply;
  const priced = price(books, parsed.value);
  if ('reply' in priced) return priced.reply;
  const p = priced.value;
  return ok({
    id: books.ids.uuid(),
    quoteTime: String(books.options.now()),
    ...amounts(p),
    rfqAmount: parsed.value.rfqAmount,
    rfqCurrency: parsed.value.rfqCurrency,
    ttlMs: '60000',
  });
}

/**
 * `POST /cryptoconnect/convert/trades`: re-quotes at the current rate (no quote id in the body) and
 * moves the balances of the account's default CryptoConnect wallet. `referenceId` makes a repeat
 * answer the original trade; a different body with the same referenceId is refused. A `trade-failed`
 * fault records a FAILED trade that moved nothing; a `transfer-status` fault on the trade endpoint answers
 * with its status, moving the money unless `commit: false` (default: not for FAIL*, yes otherwise).
 */
export function createTrade(
  books: Books,
  body: unknown,
  outcome: { failed: boolean; status?: { status: string; commit?: boolean | undefined } },
): { reply: Reply; created: SimTrade | null } {
  const forced = outcome.status;
  const failed = outcome.failed || !(forced?.commit ?? !/^fail/i.test(forced?.status ?? ''));
  const answer = (reply: Reply) => ({ reply, created: null });
  const parsed = parseRequest(tradeSchema, body);
  if ('reply' in parsed) return answer(parsed.reply);
  const request = parsed.value;
  const earlier = books.books.tradeByReference(request.accountId, request.referenceId);
  if (earlier !== undefined) {
    if (canonicalJson(earlier.request) !== canonicalJson(body)) {
      return answer(
        fail(
          books.options.businessErrorHttpStatus,
          CODE_IDEMPOTENCY_CONFLICT,
          `referenceId ${request.referenceId} was already used with a different request`,
        ),
      );
    }
    earlier.replays += 1;
    return answer(ok(view(earlier)));
  }
  const wallet = books.state.defaultWallet(request.accountId);
  if (wallet === undefined) {
    return answer(
      fail(400, CODE_INVALID_PARAMETER, `account ${request.accountId} has no CryptoConnect wallet`),
    );
  }
  const priced = price(books, request);
  if ('reply' in priced) return answer(priced.reply);
  const p = priced.value;
  const now = String(books.options.now());
  const trade: SimTrade = {
    id: books.ids.uuid(),
    accountId: request.accountId,
    symbol: p.symbol,
    baseWalletId: wallet.id,
    ...amounts(p),
    status: forced?.status ?? (failed ? 'FAILED' : 'COMPLETE'),
    referenceId: request.referenceId,
    createTime: now,
    completeTime: now,
    request: structuredClone(body),
    replays: 0,
  };
  if (!failed) {
    const spend = books.state.balance(wallet.id, p.spend.currency);
    const receive = books.state.balance(wallet.id, p.receive.currency);
    if (spend === undefined || receive === undefined || spend.available.lt(p.spend.amount)) {
      return answer(
        fail(books.options.businessErrorHttpStatus, CODE_INSUFFICIENT_BALANCE, 'insufficient balance'),
      );
    }
    spend.available = spend.available.minus(p.spend.amount);
    receive.available = receive.available.plus(p.receive.amount);
  }
  books.books.recordTrade(trade);
  return { reply: ok(view(trade)), created: structuredClone(trade) };
}

function price(books: Books, request: z.infer<typeof quoteSchema>): { value: Priced } | { reply: Reply } {
  const symbol = `${request.baseCurrency}-${request.quoteCurrency}`;
  const business = (code: string, message: string) => ({
    reply: fail(books.options.businessErrorHttpStatus, code, message),
  });
  if (!(PAIRS as readonly string[]).includes(symbol))
    return business(CODE_UNSUPPORTED_PAIR, `no pair ${symbol}`);
  // The simulator prices the two usual requests only: buy the base with an amount of the quote
  // currency (seed 001's USD -> USDC), and sell an amount of the base.
  const expected = request.side === 'BUY' ? request.quoteCurrency : request.baseCurrency;
  if (request.rfqCurrency !== expected) {
    return {
      reply: fail(400, CODE_INVALID_PARAMETER, `rfqCurrency must be ${expected} for ${request.side}`),
    };
  }
  const amount = checkAmount(request.rfqAmount, request.rfqCurrency);
  if (!amount.ok) return { reply: fail(400, CODE_INVALID_PARAMETER, `rfqAmount: ${amount.reason}`) };
  if (new Decimal(request.rfqAmount).lt(PAIR_MIN)) {
    return business(CODE_AMOUNT_TOO_SMALL, `rfqAmount is below the pair minimum ${PAIR_MIN}`);
  }
  const rate = books.books.rate(symbol);
  const basePlaces = precisionOf(request.baseCurrency);
  const quotePlaces = precisionOf(request.quoteCurrency);
  const feeRate = new Decimal(books.options.convertFeeRate);
  const rfq = new Decimal(request.rfqAmount);
  if (request.side === 'BUY') {
    const fee = rfq.times(feeRate).toDecimalPlaces(quotePlaces, Decimal.ROUND_DOWN);
    const base = rfq.minus(fee).dividedBy(rate).toDecimalPlaces(basePlaces, Decimal.ROUND_DOWN);
    if (base.lte(0)) return business(CODE_AMOUNT_TOO_SMALL, 'amount is too small to cover the fee');
    return {
      value: {
        symbol,
        baseCurrency: request.baseCurrency,
        quoteCurrency: request.quoteCurrency,
        side: 'BUY',
        rate,
        baseAmount: base,
        quoteAmount: rfq,
        fee,
        feeCurrency: request.quoteCurrency,
        spend: { currency: request.quoteCurrency, amount: rfq },
        receive: { currency: request.baseCurrency, amount: base },
      },
    };
  }
  const gross = rfq.times(rate);
  const fee = gross.times(feeRate).toDecimalPlaces(quotePlaces, Decimal.ROUND_DOWN);
  const quote = gross.minus(fee).toDecimalPlaces(quotePlaces, Decimal.ROUND_DOWN);
  if (quote.lte(0)) return business(CODE_AMOUNT_TOO_SMALL, 'amount is too small to cover the fee');
  return {
    value: {
      symbol,
      baseCurrency: request.baseCurrency,
      quoteCurrency: request.quoteCurrency,
      side: 'SELL',
      rate,
      baseAmount: rfq,
      quoteAmount: quote,
      fee,
      feeCurrency: request.quoteCurrency,
      spend: { currency: request.baseCurrency, amount: rfq },
      receive: { currency: request.quoteCurrency, amount: quote },
    },
  };
}

function amounts(p: Priced) {
  return {
    baseCurrency: p.baseCurrency,
    baseAmount: p.baseAmount.toFixed(),
    quoteCurrency: p.quoteCurrency,
    quoteAmount: p.quoteAmount.toFixed(),
    side: p.side,
    rate: p.rate.toFixed(),
    fee: p.fee.toFixed(),
    feeCurrency: p.feeCurrency,
  };
}

/** The trade as the API answers it: without the simulator's own bookkeeping. */
function view(trade: SimTrade) {
  const { request: _request, replays: _replays, ...rest } = trade;
  return structuredClone(rest);
}
