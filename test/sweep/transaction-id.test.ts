import { describe, expect, it } from 'vitest';
import { sweepTransactionId } from '../../src/sweep/transaction-id.js';

describe('sweepTransactionId', () => {
  it('is a stable RFC 9562 version-5 UUID of the deposit id', () => {
    const id = sweepTransactionId('1986315238040416258');
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(sweepTransactionId('1986315238040416258')).toBe(id);
  });

  it('never changes across releases: replays of old deposits must reuse the original id', () => {
    // Pinned value: if this changes, every replay of an existing deposit would move money again.
    expect(sweepTransactionId('dep-1')).toBe(sweepTransactionId('dep-1'));
    expect(sweepTransactionId('dep-1')).toMatchInlineSnapshot(`"6e6e2071-2007-5244-a2a0-bc18dd8ae460"`);
  });

  it('differs for different deposits', () => {
    const ids = new Set(Array.from({ length: 1000 }, (_, i) => sweepTransactionId(`dep-${i}`)));
    expect(ids.size).toBe(1000);
  });
});
