import { describe, expect, it } from 'vitest';
import { createPrng, deriveSeed } from '../../simulator/prng.js';

describe('createPrng', () => {
  it('repeats its sequence for the same seed and differs for another', () => {
    const draw = (seed: number) => {
      const prng = createPrng(seed);
      return [prng.next(), prng.uuid(), prng.hex(4), prng.digits(19)];
    };

    expect(draw(1)).toEqual(draw(1));
    expect(draw(1)).not.toEqual(draw(2));
  });

  it('draws floats in [0, 1) and ids of the expected shapes', () => {
    const prng = createPrng(123);
    const floats = Array.from({ length: 1000 }, () => prng.next());

    expect(Math.min(...floats)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...floats)).toBeLessThan(1);
    expect(prng.uuid()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(prng.digits(19)).toMatch(/^[1-9]\d{18}$/);
    expect(prng.hex(16)).toMatch(/^[0-9a-f]{32}$/);
  });

  it('derives distinct streams from one seed', () => {
    expect(deriveSeed(1, 1)).not.toBe(deriveSeed(1, 2));
    expect(deriveSeed(1, 1)).not.toBe(deriveSeed(2, 1));
  });
});
