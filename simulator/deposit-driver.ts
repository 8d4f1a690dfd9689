import type { Simulator } from './simulator.js';

export type DepositDriverOptions = {
  /** The receiver's webhook URL, e.g. `http://api:3000/webhooks/interlace` in the compose demo. */
  webhookUrl: string;
  intervalMs: number;
  log?: (line: string) => void;
};

export type DepositDriver = {
  /** Deposits created so far. */
  created(): number;
  stop(): void;
};

const CURRENCIES = ['USDC', 'USDT'] as const;

/**
 * Plays a customer paying in, for the demo: every `intervalMs` a credited deposit into one wallet of one
 * account and its signed notification to the receiver. A notification the receiver did not take (not up
 * yet, or a non-2xx) is sent again on the next tick, as Interlace redelivers.
 */
export function startDepositDriver(sim: Simulator, options: DepositDriverOptions): DepositDriver {
  const log = options.log ?? (() => undefined);
  const { accountId } = sim.createAccount();
  const wallet = sim.createWallet(accountId);
  const undelivered = new Set<string>();
  let count = 0;
  let busy = false;
  let stopped = false;

  const deliver = async (depositId: string, label: string) => {
    try {
      const { status } = await sim.deliverNotification(options.webhookUrl, depositId);
      if (status >= 200 && status < 300) {
        undelivered.delete(depositId);
        log(`deposit ${depositId} ${label} notified: ${status}`);
        return;
      }
      log(`deposit ${depositId} ${label} notified: ${status}, will resend`);
    } catch (error) {
      log(`deposit ${depositId} ${label} not delivered (${(error as Error).message}), will resend`);
    }
    undelivered.add(depositId);
  };

  const tick = async () => {
    // One tick at a time: a slow receiver must not pile up overlapping deliveries.
    if (busy || stopped) return;
    busy = true;
    try {
      for (const depositId of [...undelivered]) await deliver(depositId, '(again)');
      count += 1;
      const currency = CURRENCIES[count % CURRENCIES.length]!;
      const amount = `${5 + (count % 20)}.${String((count * 37) % 100).padStart(2, '0')}`;
      const { id } = sim.creditDeposit({ walletId: wallet.id, currency, amount });
      await deliver(id, `${amount} ${currency}`);
    } finally {
      busy = false;
    }
  };

  const timer = setInterval(() => void tick(), options.intervalMs);
  log(`driving a deposit every ${options.intervalMs} ms to ${options.webhookUrl} (account ${accountId})`);
  return {
    created: () => count,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}
