// The service's policy as the running service applies it, published to Redis at boot so that the
// operator CLI applies the same rules (issue #9 item 5), never those of the operator's shell.
import type { Redis } from 'ioredis';
import { z } from 'zod';
import type { Config } from '../config.js';
import type { Keys } from '../keys.js';
import type { Logger } from '../logger.js';

export const servicePolicySchema = z.object({
  version: z.literal(1),
  currencies: z.array(z.string()).min(1),
  minAmount: z.string(),
  /** null: no upper bound (SWEEP_MAX_AMOUNT=none). */
  maxAmount: z.string().nullable(),
  unknownWalletDeposits: z.enum(['sweep', 'hold']),
  mode: z.enum(['mor', 'gateway']),
  depositEventTypes: z.array(z.string()).min(1),
  /** Whether state changes write merchant events (MERCHANT_WEBHOOK_URL); absent in older policies. */
  merchantEvents: z.boolean().default(false),
  /**
   * The payout controls (PAYOUT_REQUIRE_APPROVAL, PAYOUT_DAILY_LIMIT, maximum, currencies, chains,
   * allow-list): `payouts create` from an operator's shell applies the service's, never the shell's
   * (attack review round 2, item 3). Absent in older policies: the worker re-checks approval and the
   * daily limit before step 1 anyway.
   */
  payout: z
    .object({
      requireApproval: z.boolean(),
      dailyLimit: z.string(),
      maxAmount: z.string(),
      currencies: z.array(z.string()),
      chains: z.array(z.string()),
      allowedAddresses: z.array(z.string()),
    })
    .optional(),
  publishedAt: z.string(),
});

/** What a process of the service published: currencies, minimum, maximum, mode and the rules they steer. */
export type ServicePolicy = z.infer<typeof servicePolicySchema>;

/** The policy a configuration makes. */
export function policyOf(config: Config, now: number): ServicePolicy {
  return {
    version: 1,
    currencies: [...config.sweep.currencies],
    minAmount: config.sweep.minAmount,
    maxAmount: config.sweep.maxAmount ?? null,
    unknownWalletDeposits: config.unknownWalletDeposits,
    mode: config.merchantApi.mode,
    depositEventTypes: [...config.interlace.depositEventTypes],
    merchantEvents: config.merchantWebhook !== undefined,
    payout: {
      requireApproval: config.payout.requireApproval,
      dailyLimit: config.payout.dailyLimit,
      maxAmount: config.payout.maxAmount,
      currencies: [...config.payout.currencies],
      chains: [...config.payout.chains],
      allowedAddresses: [...config.payout.allowedAddresses],
    },
    publishedAt: new Date(now).toISOString(),
  };
}

/**
 * Publishes the process's policy under `<prefix>:policy`, at boot (the last process to start wins:
 * every process of one deployment loads the same configuration). Warns when it replaces a policy that
 * differs in anything but its time: processes that disagree, or a deliberate change.
 */
export async function publishServicePolicy(
  redis: Redis,
  keys: Keys,
  config: Config,
  logger: Logger,
  now = Date.now(),
): Promise<ServicePolicy> {
  const policy = policyOf(config, now);
  const previous = await redis.set(keys.policy, JSON.stringify(policy), 'GET');
  const parsed = previous === null ? undefined : servicePolicySchema.safeParse(safeJson(previous));
  const undated = (p: ServicePolicy) => JSON.stringify({ ...p, publishedAt: '' });
  if (parsed?.success && undated(parsed.data) !== undated(policy))
    logger.warn(
      { previous: parsed.data, policy },
      'service policy changed (or processes of this QUEUE_PREFIX disagree): the CLI now applies this one',
    );
  return policy;
}

/** The published policy, undefined when there is none; throws when what is stored is not a policy. */
export async function readServicePolicy(redis: Redis, keys: Keys): Promise<ServicePolicy | undefined> {
  const text = await redis.get(keys.policy);
  if (text === null) return undefined;
  const parsed = servicePolicySchema.safeParse(safeJson(text));
  if (!parsed.success) throw new Error(`${keys.policy} holds no valid service policy`);
  return parsed.data;
}

/** `config` with the service's policy in place of its own sweep rules (the CLI's configuration). */
export function withServicePolicy(config: Config, policy: ServicePolicy): Config {
  return Object.freeze({
    ...config,
    sweep: Object.freeze({
      ...config.sweep,
      currencies: Object.freeze([...policy.currencies]),
      minAmount: policy.minAmount,
      maxAmount: policy.maxAmount ?? undefined,
    }),
    unknownWalletDeposits: policy.unknownWalletDeposits,
    merchantApi: Object.freeze({ ...config.merchantApi, mode: policy.mode }),
    ...(policy.payout === undefined
      ? {}
      : {
          payout: Object.freeze({
            ...config.payout,
            requireApproval: policy.payout.requireApproval,
            dailyLimit: policy.payout.dailyLimit,
            maxAmount: policy.payout.maxAmount,
            currencies: Object.freeze([...policy.payout.currencies]),
            chains: Object.freeze([...policy.payout.chains]),
            allowedAddresses: Object.freeze([...policy.payout.allowedAddresses]),
          }),
        }),
    interlace: Object.freeze({
      ...config.interlace,
      depositEventTypes: Object.freeze([...policy.depositEventTypes]),
    }),
  });
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}
