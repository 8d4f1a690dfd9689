import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderDepositStateMachine, STATE_MACHINE_DOC } from '../../scripts/docs-states.js';

describe('docs/deposit-state-machine.md', () => {
  it('is exactly what the policy table generates (run `npm run docs:states` after changing it)', () => {
    expect(readFileSync(STATE_MACHINE_DOC, 'utf8')).toBe(renderDepositStateMachine());
  });
});
