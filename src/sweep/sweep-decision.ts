import type { ClosedDecision } from '../deposits/deposit-state.js';
import { isBelow } from './amounts.js';

/** Whether a credited deposit is swept, kept as dust, or left alone as an unsupported currency. */
export function decideClosedDeposit(
  deposit: { currency: string; amount: string },
  rules: { currencies: readonly string[]; minAmount: string },
): ClosedDecision {
  if (!rules.currencies.includes(deposit.currency)) {
    return { kind: 'unsupported', reason: `currency ${deposit.currency} is not in SWEEP_CURRENCIES` };
  }
  if (isBelow(deposit.amount, rules.minAmount)) {
    return { kind: 'dust', reason: `amount ${deposit.amount} is below SWEEP_MIN_AMOUNT ${rules.minAmount}` };
  }
  return { kind: 'sweep' };
}
