/**
 * Writes the generated state-machine docs from their transition tables:
 *   npx tsx scripts/render-state-machines.ts
 */
import { writeFileSync } from 'node:fs';
import { renderPayoutStateMachine } from '../src/policy/payout-policy.js';

writeFileSync(new URL('../docs/payout-state-machine.md', import.meta.url), renderPayoutStateMachine());
