import { createInterlaceClient } from '../interlace/client.js';
import { UNSET_CREDENTIAL } from '../config.js';
import {
  approvePayout,
  cancelPayout,
  createPayout,
  PayoutError,
  previewPayout,
  publicPayout,
  refundPayout,
  retryPayout,
  showPayout,
  type PayoutCommandDeps,
} from '../payouts/payout-commands.js';
import { createPayoutStore } from '../payouts/payout-store.js';
import { createLogger } from '../logger.js';
import { appendAudit } from './audit-log.js';
import type { OpsDeps } from './ops-context.js';
import { OpsError } from './ops-error.js';

export type PayoutAction = 'approve' | 'cancel' | 'refund' | 'retry';

function commandDeps(deps: OpsDeps): PayoutCommandDeps {
  return {
    config: deps.config,
    logger: deps.receiver.logger,
    payouts: createPayoutStore(deps.redis, deps.keys, { eventLogMaxLen: deps.config.eventLogMaxLen }),
    payoutQueue: deps.queues.payout,
    ...(deps.receiver.alerts ? { alerts: deps.receiver.alerts } : {}),
  };
}

/** A payout command's refusal as the CLI reports it: one line, exit 1. */
function asOpsError(error: unknown): unknown {
  return error instanceof PayoutError ? new OpsError(`${error.code}: ${error.message}`) : error;
}

/**
 * `payouts create`: the same checks and idempotency as POST /payouts, audited. With `dryRun`, a
 * preview from Interlace (quote, fees, what would arrive) that moves and stores nothing.
 */
export async function createPayoutCommand(
  deps: OpsDeps,
  input: { request: Record<string, unknown>; dryRun: boolean },
) {
  const command = commandDeps(deps);
  if (input.dryRun) {
    if (deps.config.interlace.clientId === UNSET_CREDENTIAL) {
      throw new OpsError(
        'payouts create --dry-run asks Interlace for a quote: set INTERLACE_CLIENT_ID and INTERLACE_CLIENT_SECRET',
      );
    }
    const client = createInterlaceClient({
      config: deps.config,
      redis: deps.redis,
      keys: deps.keys,
      logger: createLogger({ level: 'silent' }),
    });
    try {
      return await previewPayout({ ...command, client }, input.request).catch((error: unknown) => {
        throw asOpsError(error);
      });
    } finally {
      client.close();
    }
  }
  const target = String(input.request.external_id ?? '');
  try {
    const result = await createPayout(command, input.request, `cli:${deps.operator}`);
    await appendAudit(deps, {
      command: 'payouts create',
      targets: [result.payout.payoutId],
      result: { created: result.created, state: result.payout.state },
    });
    return { created: result.created, payout: publicPayout(result.payout) };
  } catch (error) {
    if (error instanceof PayoutError) {
      await appendAudit(deps, {
        command: 'payouts create',
        targets: [target],
        result: { refused: error.message },
      });
    }
    throw asOpsError(error);
  }
}

/** `payouts approve|cancel|refund|retry <id>`: an operator's decision, audited whatever its outcome. */
export async function payoutOperatorCommand(deps: OpsDeps, action: PayoutAction, ref: string) {
  const command = commandDeps(deps);
  const run = { approve: approvePayout, cancel: cancelPayout, refund: refundPayout, retry: retryPayout }[
    action
  ];
  try {
    const { payout } = await showPayout(command, ref);
    const record = await run(command, String(payout.payoutId), deps.operator);
    await appendAudit(deps, {
      command: `payouts ${action}`,
      targets: [record.payoutId],
      result: { state: record.state },
    });
    return publicPayout(record);
  } catch (error) {
    if (error instanceof PayoutError) {
      await appendAudit(deps, {
        command: `payouts ${action}`,
        targets: [ref],
        result: { refused: error.message },
      });
    }
    throw asOpsError(error);
  }
}

/** `payouts show <id|external_id>` */
export async function showPayoutCommand(deps: OpsDeps, ref: string) {
  return showPayout(commandDeps(deps), ref).catch((error: unknown) => {
    throw asOpsError(error);
  });
}

/** `payouts list [--state S] [--limit N]` */
export async function listPayoutsCommand(deps: OpsDeps, input: { state?: string; limit: number }) {
  const records = await commandDeps(deps).payouts.list(input);
  return records.map(publicPayout);
}
