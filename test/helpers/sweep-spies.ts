import { vi } from 'vitest';
import type { SweepDeps } from '../../workers/sweep-deps.js';
import { gate } from './gate.js';

/** The deposit's first claim fails as if Redis dropped the connection before the script wrote. */
export function failFirstClaim(deps: Pick<SweepDeps, 'deposits'>, depositId: string) {
  const claim = deps.deposits.claim.bind(deps.deposits);
  let claims = 0;
  return vi.spyOn(deps.deposits, 'claim').mockImplementation(async (id, ...rest) => {
    if (id === depositId && (claims += 1) === 1) throw new Error('Connection is closed.');
    return claim(id, ...rest);
  });
}

/** Every transfer call waits: `calling` opens when one starts, `release()` lets them all through. */
export function holdTransferCalls(deps: Pick<SweepDeps, 'client'>) {
  const calling = gate();
  const released = gate();
  const transfer = deps.client.createInternalTransfer.bind(deps.client);
  vi.spyOn(deps.client, 'createInternalTransfer').mockImplementation(async (...args) => {
    calling.open();
    await released.opened;
    return transfer(...args);
  });
  return { calling: calling.opened, release: released.open };
}
