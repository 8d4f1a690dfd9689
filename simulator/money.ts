import { Decimal as DecimalJs } from 'decimal.js';

// The simulator's own amount handling, on purpose separate from the service's `src/sweep/amounts.ts`:
// a stand-in that shared the production rules would reproduce their bugs instead of catching them.

/** Decimal.js with room for any amount the simulator keeps; amounts never become JS numbers. */
export const Decimal = DecimalJs.clone({
  precision: 60,
  rounding: DecimalJs.ROUND_DOWN,
  toExpNeg: -60,
  toExpPos: 60,
});
export type Decimal = InstanceType<typeof Decimal>;

/** Decimal places Interlace accepts per currency (6 for stablecoins, 8 for BTC/ETH, else 2). */
export function precisionOf(currency: string): number {
  const upper = currency.toUpperCase();
  if (upper === 'USDC' || upper === 'USDT' || upper === 'WUSD') return 6;
  if (upper === 'BTC' || upper === 'ETH') return 8;
  return 2;
}

export type AmountCheck = { ok: true; amount: string } | { ok: false; reason: string };

/** Interlace's side of an amount: a positive plain decimal string within the currency's precision. */
export function checkAmount(value: unknown, currency: string): AmountCheck {
  if (typeof value !== 'string' || !/^(0|[1-9]\d*)(\.\d+)?$/.test(value))
    return { ok: false, reason: 'amount must be a plain decimal string' };
  const fraction = value.split('.')[1] ?? '';
  const significant = fraction.replace(/0+$/, '');
  if (significant.length > precisionOf(currency))
    return { ok: false, reason: `amount has more than ${precisionOf(currency)} decimals for ${currency}` };
  if (!new Decimal(value).gt(0)) return { ok: false, reason: 'amount must be positive' };
  return { ok: true, amount: value };
}
