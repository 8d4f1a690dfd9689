import { describe, expect, it } from 'vitest';
import { DEPOSIT_TRANSITIONS } from '../../src/policy/deposit-policy.js';
import { PAYOUT_TRANSITIONS } from '../../src/policy/payout-policy.js';
import {
  defineTransitionTable,
  encodeEvent,
  renderTransitionTable,
  transition,
  type TransitionTable,
} from '../../src/policy/transition-table.js';

const table = (rows: TransitionTable<'a' | 'b', 'go', string>['rows']) =>
  defineTransitionTable({ name: 't', states: ['a', 'b'], events: ['go'], rows });

describe('defineTransitionTable', () => {
  it('refuses a row that leads to a state the table does not have', () => {
    expect(() =>
      table([
        { from: 'a', event: 'go', to: 'c' as 'a', action: 'move', why: '' },
        { from: 'b', event: 'go', to: 'b', action: 'ignore', why: '' },
      ]),
    ).toThrow('t: a × go leads to unknown c');
  });

  it('freezes the table and each of its rows', () => {
    const defined = table([
      { from: 'a', event: 'go', to: 'b', action: 'move', why: '' },
      { from: 'b', event: 'go', to: 'b', action: 'ignore', why: '' },
    ]);
    expect(Object.isFrozen(defined)).toBe(true);
    expect(Object.isFrozen(defined.rows)).toBe(true);
    expect(defined.rows.every((row) => Object.isFrozen(row))).toBe(true);
  });

  it('names the money flow in its errors', () => {
    expect(DEPOSIT_TRANSITIONS.name).toBe('deposit');
    expect(PAYOUT_TRANSITIONS.name).toBe('payout');
  });
});

describe('transition', () => {
  it('throws, naming the pair, when a table has no row for it', () => {
    const incomplete = { name: 'raw', states: ['a'], events: ['go'], rows: [] };
    expect(() => transition(incomplete, 'a', 'go')).toThrow('raw: no row for a × go');
  });
});

describe('encodeEvent and renderTransitionTable', () => {
  const defined = table([
    { from: 'a', event: 'go', to: 'b', action: 'move', why: 'either | or' },
    { from: 'b', event: 'go', to: 'b', action: 'ignore', why: 'stays' },
  ]);

  it('encodes an event as from=to/action pairs, the same string every time', () => {
    expect(encodeEvent(defined, 'go')).toBe('a=b/move,b=b/ignore');
    expect(encodeEvent(defined, 'go')).toBe('a=b/move,b=b/ignore');
  });

  it('renders a Markdown table per event, escaping a | in a reason', () => {
    expect(renderTransitionTable(defined, () => 'Go on.')).toBe(
      [
        '### `go`',
        '',
        'Go on.',
        '',
        '| from | to | action | why |',
        '| --- | --- | --- | --- |',
        '| a | **b** | move | either \\| or |',
        '| b | (b) | ignore | stays |',
        '',
      ].join('\n'),
    );
  });
});
