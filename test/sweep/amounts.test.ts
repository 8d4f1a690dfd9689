import { describe, expect, it } from 'vitest';
import {
  checkAmount,
  currencyPrecision,
  isAbove,
  isBelow,
  sumAmounts,
  toMinorUnits,
} from '../../src/sweep/amounts.js';

describe('checkAmount', () => {
  it.each([
    ['10', 'USDC'],
    ['0.000001', 'USDC'],
    ['9.95', 'USD'],
    ['123456789012345678.123456', 'USDT'],
    ['0.00000001', 'BTC'],
  ])('accepts %s %s unchanged', (amount, currency) => {
    expect(checkAmount(amount, currency)).toEqual({ ok: true, amount });
  });

  it.each([
    ['1e3', 'USDC', 'not a plain decimal'],
    ['-1', 'USDC', 'not a plain decimal'],
    ['NaN', 'USDC', 'not a plain decimal'],
    ['Infinity', 'USDC', 'not a plain decimal'],
    ['0.1234567', 'USDC', '7 decimals; USDC allows 6'],
    ['1.001', 'USD', '3 decimals; USD allows 2'],
    ['0', 'USDC', 'not positive'],
    ['0.000000', 'USDC', 'not positive'],
    [' 1', 'USDC', 'not a plain decimal'],
    ['01', 'USDC', 'not a plain decimal'],
    ['1.', 'USDC', 'not a plain decimal'],
    ['.5', 'USDC', 'not a plain decimal'],
    ['0x10', 'USDC', 'not a plain decimal'],
    ['', 'USDC', 'not a plain decimal'],
  ])('refuses %j for %s (%s)', (amount, currency, reason) => {
    const result = checkAmount(amount, currency);
    expect(result.ok).toBe(false);
    expect(result.ok ? '' : result.reason).toContain(reason);
  });

  it.each([
    ['10.0000000', 'USDC', '10'],
    ['10.5000000', 'USDC', '10.5'],
    ['0.12345600', 'USDT', '0.123456'],
    ['9.950', 'USD', '9.95'],
  ])('accepts %s %s, whose extra decimals are zeros, as %s', (amount, currency, normal) => {
    expect(checkAmount(amount, currency)).toEqual({ ok: true, amount: normal });
  });

  it.each([
    ['123456789012345678901234567890', 'USDC', true],
    ['1234567890123456789012345678901', 'USDC', false],
    ['1.100000000000000000', 'USDC', true],
    ['1.1000000000000000000', 'USDC', false],
    ['1.0010', 'USD', false],
    ['1.0001', 'USD', false],
    ['1.1000001', 'USDC', false],
    ['x1', 'USDC', false],
    ['1x', 'USDC', false],
    ['1.5x', 'USDC', false],
  ])(
    'draws the line of a plain decimal at 30 digits and 18 decimals: %s %s ok=%s',
    (amount, currency, ok) => {
      expect(checkAmount(amount, currency).ok).toBe(ok);
    },
  );

  it('quotes at most 40 characters of a refused amount', () => {
    const amount = `${'9'.repeat(40)}x`;
    expect(checkAmount(amount, 'USDC')).toEqual({
      ok: false,
      reason: `amount "${'9'.repeat(40)}…" is not a plain decimal`,
    });
    expect(checkAmount('9'.repeat(39) + 'x', 'USDC')).toEqual({
      ok: false,
      reason: `amount "${'9'.repeat(39)}x" is not a plain decimal`,
    });
  });

  it('says why an amount with too many decimals or none at all is refused', () => {
    expect(checkAmount('1.0000001', 'USDC')).toEqual({
      ok: false,
      reason: 'amount "1.0000001" has 7 decimals; USDC allows 6',
    });
    expect(checkAmount('0.00', 'USD')).toEqual({ ok: false, reason: 'amount "0.00" is not positive' });
    expect(checkAmount('0.000', 'USD')).toEqual({ ok: false, reason: 'amount "0.000" is not positive' });
  });

  it('refuses numbers: amounts are decimal strings only', () => {
    expect(checkAmount(10, 'USDC')).toEqual({ ok: false, reason: 'amount must be a decimal string' });
  });
});

describe('currency rules', () => {
  it('uses 6 decimals for stablecoins, 8 for BTC/ETH, 2 otherwise', () => {
    expect(['USDC', 'USDT', 'WUSD', 'BTC', 'ETH', 'USD', 'EUR'].map(currencyPrecision)).toEqual([
      6, 6, 6, 8, 8, 2, 2,
    ]);
    // Interlace names currencies in upper case; a lower-case name is the same currency.
    expect(['usdc', 'usdt', 'wusd', 'btc', 'eth', 'usd'].map(currencyPrecision)).toEqual([6, 6, 6, 8, 8, 2]);
  });

  it('compares and sums exactly, without binary floating point', () => {
    expect(sumAmounts(['0.1', '0.2'])).toBe('0.3');
    expect(sumAmounts(['999999999999999999.999999', '0.000001'])).toBe('1000000000000000000');
    expect(isBelow('0.999999', '1')).toBe(true);
    expect(isBelow('1.000000', '1')).toBe(false);
    expect(isAbove('1000000.000001', '1000000')).toBe(true);
    expect(isAbove('1000000.000000', '1000000')).toBe(false);
    expect(isBelow('0.9', '1')).toBe(true);
    expect(isAbove('1', '0.9')).toBe(true);
    expect(sumAmounts([])).toBe('0');
    expect(sumAmounts(['123456789012345678.123456', '0.000001', '1'])).toBe('123456789012345679.123457');
  });

  it('converts an amount to integer minor units of its currency', () => {
    expect(toMinorUnits('1.5', 'USDC')).toBe('1500000');
    expect(toMinorUnits('0.01', 'USD')).toBe('1');
    expect(toMinorUnits('2', 'BTC')).toBe('200000000');
    expect(toMinorUnits('123456789012345678.123456', 'USDT')).toBe('123456789012345678123456');
  });
});
