import type { Logger } from '../logger.js';
import { adoptMasterWallets, type WalletCommandDeps } from './wallet-commands.js';

export type MasterWalletAdoption = { stop(): Promise<void> };

/**
 * Gateway mode: adopts the account's master wallets at start and then every `intervalMs`, so their
 * owner records exist before deposits arrive (without them a deposit counts as into an unknown wallet,
 * held by default: docs/deposit-attribution.md), whether or not anyone lists wallets. Adopting is
 * idempotent, so every receiver may run it. A failure is logged and tried again at the next interval.
 */
export function startMasterWalletAdoption(
  deps: WalletCommandDeps,
  options: { intervalMs: number; logger: Logger },
): MasterWalletAdoption {
  let running: Promise<void> | undefined;
  const run = () => {
    running ??= adoptMasterWallets(deps)
      .then((adopted) => {
        if (adopted > 0) options.logger.info({ adopted }, 'master wallets adopted (gateway mode)');
      })
      .catch((error: unknown) => {
        options.logger.warn(
          { err: error },
          'could not adopt the master wallets (gateway mode); retrying later',
        );
      })
      .finally(() => {
        running = undefined;
      });
  };
  run();
  const timer = setInterval(run, options.intervalMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
