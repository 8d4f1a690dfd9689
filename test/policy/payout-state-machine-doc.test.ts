import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { PAYOUT_STATE_MACHINE_DOC, renderPayoutStateMachine } from '../../scripts/docs-payout-states.js';

describe('docs/payout-state-machine.md', () => {
  it('is exactly what the payout policy table generates (run `npm run docs:payout-states` after changing it)', () => {
    expect(readFileSync(PAYOUT_STATE_MACHINE_DOC, 'utf8')).toBe(renderPayoutStateMachine());
  });
});
