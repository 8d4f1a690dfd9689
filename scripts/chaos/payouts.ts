/**
 * The payouts of a chaos soak: created at seeded moments while deposits arrive (so faults, kills and
 * restarts hit every step), then checked step by step against the simulator's books: each step's
 * idempotency value committed at most once (doubled), and nothing committed that the payout does not
 * know of, nor known that Interlace never committed (lost).
 */
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { Config } from '../../src/config.js';
import type { Keys } from '../../src/keys.js';
import { createLogger } from '../../src/logger.js';
import { createPayout } from '../../src/payouts/payout-commands.js';
import type { PayoutRecord } from '../../src/payouts/payout-record.js';
import { createPayoutStore } from '../../src/payouts/payout-store.js';
import type { PayoutJobData } from '../../src/queues/names.js';
import type { Simulator } from '../../simulator/simulator.js';
import type { Prng } from '../../simulator/prng.js';

/** States a payout of the soak may end in: the chain is over, or an operator has it. */
export const PAYOUT_SETTLED = new Set(['confirmed', 'failed', 'held', 'cancelled', 'refunded']);

export const PAYOUT_STEPS = ['fund', 'convert', 'send'] as const;
export type PayoutStepName = (typeof PAYOUT_STEPS)[number];
export type StepVerdict = { committed: number; calls: number; lost: number; doubled: number };

const ADDRESS = '0x89F9Cfaa0dA076351DdfC6E320bD8df8b538dB17';
const STAGE_RANK: Record<string, number> = { none: 0, funded: 1, converted: 2, sent: 3, confirmed: 4 };
const STEP_RANK: Record<PayoutStepName, number> = { fund: 1, convert: 2, send: 3 };

/** The payout account (its own, so the deposits' Infinity sums stay theirs) and the env that names it. */
export function preparePayouts(sim: Simulator, webhookUrl: string) {
  const { accountId } = sim.createAccount({ usdAvailable: '1000000' });
  const wallet = sim.createWallet(accountId, { nickname: 'payouts' });
  sim.setWebhookUrl(webhookUrl);
  return {
    accountId,
    walletId: wallet.id,
    env: {
      PAYOUT_ACCOUNT_ID: accountId,
      PAYOUT_WALLET_ID: wallet.id,
      PAYOUT_DAILY_LIMIT: '1000000',
      PAYOUT_ATTEMPTS: '25',
      PAYOUT_CONFIRM_TIMEOUT_MS: '30000',
    },
  };
}

/** Seeded amounts of the soak's payouts (USD, 2 decimals, 5 to 500). */
export function planPayouts(count: number, prng: Prng): { externalId: string; amount: string }[] {
  return Array.from({ length: count }, (_, index) => ({
    externalId: `chaos-payout-${index + 1}`,
    amount: `${5 + prng.int(496)}.${String(prng.int(100)).padStart(2, '0')}`,
  }));
}

/**
 * Creates one payout as the API would; retried (the external id makes a repeat the same payout)
 * while Redis is restarting.
 */
export async function createChaosPayout(
  deps: { config: Config; redis: Redis; keys: Keys; payoutQueue: Queue<PayoutJobData> },
  payout: { externalId: string; amount: string },
  deadline: number,
): Promise<void> {
  const commands = {
    config: deps.config,
    logger: createLogger({ level: 'silent' }),
    payouts: createPayoutStore(deps.redis, deps.keys),
    payoutQueue: deps.payoutQueue,
  };
  const body = {
    external_id: payout.externalId,
    amount: payout.amount,
    currency: 'USDC',
    chain: 'ETH',
    address: ADDRESS,
  };
  for (let attempt = 1; ; attempt += 1) {
    try {
      await createPayout(commands, body, 'chaos');
      return;
    } catch (error) {
      if (Date.now() > deadline || attempt > 50) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

export async function payoutStates(
  redis: Redis,
  keys: Keys,
  externalIds: readonly string[],
): Promise<(string | null)[]> {
  // The payout of an external id is the one its index names (its id derives under a namespace).
  const ids =
    externalIds.length === 0 ? [] : await redis.mget(externalIds.map((id) => keys.payoutByExternalId(id)));
  const pipeline = redis.pipeline();
  for (const id of ids) pipeline.hget(keys.payout(id ?? 'none'), 'state');
  return ((await pipeline.exec()) ?? []).map(([error, value]) =>
    error ? null : ((value as string | null) ?? null),
  );
}

/** Per step: calls, commits, and how many payouts lost or doubled money at that step. */
export async function verifyPayouts(input: {
  sim: Simulator;
  redis: Redis;
  keys: Keys;
  externalIds: readonly string[];
  violation: (kind: string, text: string) => void;
}): Promise<{ steps: Record<PayoutStepName, StepVerdict>; confirmed: number; held: number; failed: number }> {
  const { sim, redis, keys } = input;
  const steps = Object.fromEntries(
    PAYOUT_STEPS.map((step) => [step, { committed: 0, calls: 0, lost: 0, doubled: 0 }]),
  ) as Record<PayoutStepName, StepVerdict>;
  const fundings = sim.fundings();
  const trades = sim.trades();
  const withdrawals = sim.withdrawals();
  const requests = sim.requests();
  const counts = { confirmed: 0, held: 0, failed: 0 };
  for (const externalId of input.externalIds) {
    const payoutId = (await redis.get(keys.payoutByExternalId(externalId))) ?? 'none';
    const record = (await redis.hgetall(keys.payout(payoutId))) as unknown as PayoutRecord;
    if (record.state === undefined) {
      input.violation('payout', `${externalId} has no record`);
      continue;
    }
    if (record.state === 'confirmed' || record.state === 'held' || record.state === 'failed')
      counts[record.state] += 1;
    const committed: Record<PayoutStepName, number> = {
      fund: fundings.filter(
        (f) => record.fundingId !== undefined && f.clientTransactionId === record.fundingId,
      ).length,
      convert: trades.filter(
        (t) =>
          record.tradeReferenceId !== undefined &&
          t.referenceId === record.tradeReferenceId &&
          t.status === 'COMPLETE',
      ).length,
      send: withdrawals.filter(
        (w) => record.withdrawKey !== undefined && w.idempotencyKey === record.withdrawKey,
      ).length,
    };
    const ids: Record<PayoutStepName, [string, string | undefined]> = {
      fund: ['clientTransactionId', record.fundingId],
      convert: ['referenceId', record.tradeReferenceId],
      send: ['idempotencyKey', record.withdrawKey],
    };
    // A held payout may not know what its step in doubt did: that is what an operator is for. Any
    // other payout must know exactly what Interlace committed.
    const known = STAGE_RANK[record.stage] ?? 0;
    for (const step of PAYOUT_STEPS) {
      const verdict = steps[step];
      const [field, value] = ids[step];
      verdict.calls +=
        value === undefined
          ? 0
          : requests.filter((r) => (r.body as Record<string, unknown> | undefined)?.[field] === value).length;
      verdict.committed += committed[step];
      if (committed[step] > 1) {
        verdict.doubled += 1;
        input.violation('payout-doubled', `${externalId}: step ${step} committed ${committed[step]} times`);
      }
      const recorded = known >= STEP_RANK[step];
      if (recorded && committed[step] === 0) {
        verdict.lost += 1;
        input.violation(
          'payout-lost',
          `${externalId}: stage ${record.stage} but step ${step} never committed`,
        );
      }
      if (!recorded && committed[step] > 0 && record.state !== 'held') {
        verdict.lost += 1;
        input.violation(
          'payout-lost',
          `${externalId} (${record.state}): step ${step} committed unbeknown to it`,
        );
      }
    }
  }
  return { steps, ...counts };
}
