import { describe, expect, it } from 'vitest';
import { Decimal as DecimalJs } from 'decimal.js';
import { Decimal } from '../../src/sweep/decimal.js';

describe("the project's Decimal", () => {
  it('keeps 60 significant digits', () => {
    const digits = '1'.repeat(59);
    expect(new Decimal(`${digits}.1`).plus('0.1').toFixed()).toBe(`${digits}.2`);
    expect(new Decimal(`${digits}.11`).plus('0').toFixed()).toBe(`${digits}.1`);
  });

  it('rounds down, never up, where it must round', () => {
    expect(new Decimal(2).div(3).toFixed(2)).toBe('0.66');
    expect(new Decimal(2).div(3).toString()).toBe(`0.${'6'.repeat(60)}`);
  });

  it('prints plain decimals, never exponent notation', () => {
    expect(new Decimal('0.0000001').toString()).toBe('0.0000001');
    expect(new Decimal(`1${'0'.repeat(59)}`).toString()).toBe(`1${'0'.repeat(59)}`);
    expect(new Decimal(`1e-59`).toString()).toBe(`0.${'0'.repeat(58)}1`);
  });

  it('is its own clone: the global decimal.js settings other libraries share stay as they were', () => {
    expect(Decimal.precision).toBe(60);
    expect(Decimal.rounding).toBe(Decimal.ROUND_DOWN);
    expect(DecimalJs.precision).toBe(20);
    expect(DecimalJs.rounding).toBe(DecimalJs.ROUND_HALF_UP);
  });
});
