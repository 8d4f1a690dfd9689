import { Decimal as DecimalJs } from 'decimal.js';

/**
 * The project's one Decimal constructor. Its own precision (not the global one) is wide enough for
 * any amount Interlace sends; amounts never become JS numbers.
 */
export const Decimal = DecimalJs.clone({
  precision: 60,
  rounding: DecimalJs.ROUND_DOWN,
  toExpNeg: -60,
  toExpPos: 60,
});
export type Decimal = InstanceType<typeof Decimal>;
