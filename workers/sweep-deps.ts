import type { Redis } from 'ioredis';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import type { Keys } from '../src/keys.js';
import type { DepositStore } from '../src/deposits/deposit-store.js';
import type { Queues } from '../src/queues/create-queues.js';
import type { InterlaceClient } from '../src/interlace/client.js';
import type { InfinityWalletResolver } from '../src/sweep/infinity-wallet.js';

/** Everything one sweep needs, built by the worker's composition root (workers/start-workers.ts). */
export type SweepDeps = {
  config: Config;
  logger: Logger;
  redis: Redis;
  keys: Keys;
  deposits: DepositStore;
  queues: Queues;
  client: Pick<InterlaceClient, 'createInternalTransfer' | 'listInfinityWallets' | 'getCryptoConnectWallet'>;
  infinityWallets: InfinityWalletResolver;
  /** Pauses the whole queue (BullMQ rate limit) when Interlace answers 429. */
  rateLimit: (ms: number) => Promise<void>;
};
