import { Decimal } from './decimal.js';

/** Decimal places Interlace accepts per currency (API-NOTES §4: 6 for stablecoins, 8 for BTC/ETH, else 2). */
export function currencyPrecision(currency: string): number {
  switch (currency.toUpperCase()) {
    case 'USDC':
    case 'USDT':
    case 'WUSD':
      return 6;
    case 'BTC':
    case 'ETH':
      return 8;
    default:
      return 2;
  }
}

const PLAIN_DECIMAL = /^(0|[1-9]\d{0,29})(\.\d{1,18})?$/;

export type AmountCheck = { ok: true; amount: string } | { ok: false; reason: string };

/**
 * Checks that an amount string is a plain positive decimal (no sign, exponent, spaces or leading
 * zeros) within the currency's precision, and returns it unchanged: the amount Interlace sent is the
 * amount we move, byte for byte. The one exception: zeros past the currency's precision
 * ("10.0000000" for USDC) do not change the amount, so it is accepted in its shortest form ("10").
 */
export function checkAmount(value: unknown, currency: string): AmountCheck {
  if (typeof value !== 'string') return { ok: false, reason: 'amount must be a decimal string' };
  if (!PLAIN_DECIMAL.test(value))
    return { ok: false, reason: `amount "${truncate(value)}" is not a plain decimal` };
  const decimals = value.includes('.') ? value.length - value.indexOf('.') - 1 : 0;
  const precision = currencyPrecision(currency);
  let amount = value;
  if (decimals > precision) {
    if (!/^0+$/.test(value.slice(value.length - (decimals - precision)))) {
      return {
        ok: false,
        reason: `amount "${value}" has ${decimals} decimals; ${currency} allows ${precision}`,
      };
    }
    amount = new Decimal(value).toFixed();
  }
  if (new Decimal(amount).lte(0)) return { ok: false, reason: `amount "${value}" is not positive` };
  return { ok: true, amount };
}

/** True when `amount` is strictly below `minimum` (both decimal strings). */
export function isBelow(amount: string, minimum: string): boolean {
  return new Decimal(amount).lt(new Decimal(minimum));
}

/** True when `amount` is strictly above `maximum` (both decimal strings). */
export function isAbove(amount: string, maximum: string): boolean {
  return new Decimal(amount).gt(new Decimal(maximum));
}

/** Sum of decimal strings, as a plain decimal string. */
export function sumAmounts(amounts: readonly string[]): string {
  return amounts.reduce((total, amount) => total.plus(new Decimal(amount)), new Decimal(0)).toFixed();
}

function truncate(value: string): string {
  return value.length > 40 ? `${value.slice(0, 40)}…` : value;
}

/** An amount in integer minor units of its currency (e.g. "1.5" USDC → "1500000"), for Redis counters. */
export function toMinorUnits(amount: string, currency: string): string {
  return new Decimal(amount).times(new Decimal(10).pow(currencyPrecision(currency))).toFixed(0);
}
