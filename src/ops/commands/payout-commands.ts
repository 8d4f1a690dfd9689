import { Command, Option } from 'commander';
import { PAYOUT_STATES } from '../../policy/payout-policy.js';
import type { PublicPayout } from '../../payouts/payout-commands.js';
import type { CliRuntime } from '../cli-runtime.js';
import { truncate } from '../cli-runtime.js';
import { formatFields, formatTable, isoTime } from '../format-table.js';
import { parseCount } from '../parse-time.js';
import {
  createPayoutCommand,
  listPayoutsCommand,
  payoutOperatorCommand,
  showPayoutCommand,
  type PayoutAction,
} from '../payout-operations.js';

type CreateOptions = {
  externalId: string;
  amount: string;
  currency: string;
  chain: string;
  address: string;
  dryRun?: boolean;
};

const ACTIONS: Record<PayoutAction, string> = {
  approve: 'approves a payout waiting for an operator (PAYOUT_REQUIRE_APPROVAL); it starts at once',
  cancel: 'cancels a payout before step 1 was ever called; its amount goes back to the daily limit',
  refund: "moves a failed or held payout's USD or stablecoin from the wallet back to Infinity",
  retry: 'resumes a held payout where it stopped, with the same idempotency values (never ON_HOLD)',
};

/** `payouts create|show|list|approve|cancel|refund|retry`: convert and withdraw (docs/payouts.md). */
export function payoutCommands(cli: CliRuntime): Command {
  const group = new Command('payouts').description(
    "payouts: USD from Infinity, converted, sent to an address; where each one's money is",
  );

  group
    .command('create')
    .description('a payout, with the checks and idempotency of POST /payouts (audited)')
    .requiredOption('--external-id <ID>', 'your id for it: a repeat names the same payout')
    .requiredOption('--amount <USD>', 'USD taken from Infinity, e.g. 25.00')
    .requiredOption('--currency <C>', 'what the address receives: USDC, USDT or WUSD')
    .requiredOption('--chain <CHAIN>', 'e.g. ETH, TRON, SOL')
    .requiredOption('--address <A>', 'the destination address')
    .option('--dry-run', "Interlace's quote, fees and what would arrive; moves and stores nothing")
    .action((options: CreateOptions, command: Command) =>
      cli.run(command, async (deps) => {
        const request = {
          external_id: options.externalId,
          amount: options.amount,
          currency: options.currency.toUpperCase(),
          chain: options.chain.toUpperCase(),
          address: options.address,
        };
        const result = await createPayoutCommand(deps, { request, dryRun: options.dryRun === true });
        if ('dryRun' in result) {
          return {
            json: result,
            text: [
              'dry run: nothing was moved or stored',
              formatFields(result as unknown as Record<string, unknown>, [
                'withinDailyLimit',
                'dailyUsed',
                'dailyLimit',
                'pairMinimum',
                'gas',
                'wouldSend',
                'wouldArrive',
                'refusal',
                'note',
              ]),
              `quote          ${result.quote.bought} for ${request.amount} USD (rate ${result.quote.rate}, fee ${result.quote.fee})`,
            ].join('\n'),
          };
        }
        return {
          json: result,
          text: `${result.created ? 'created' : 'exists'}  ${payoutLine(result.payout)}`,
        };
      }),
    );

  group
    .command('show')
    .description('one payout: where its money is, every step with its ids and amounts, its history')
    .argument('<ref>', 'payout id or external id')
    .action((ref: string, _options: unknown, command: Command) =>
      cli.run(command, async (deps) => {
        const { payout, history } = await showPayoutCommand(deps, ref);
        const record: Record<string, unknown> = { ...payout };
        for (const key of Object.keys(record))
          if (key.endsWith('At')) record[key] = isoTime(String(record[key]));
        const step = (h: (typeof history)[number]) =>
          `  ${isoTime(h.at)}  ${(h.from || '-').padEnd(10)} → ${h.to.padEnd(10)} ${h.event}${h.detail ? ` (${h.detail})` : ''}`;
        return {
          json: { ...payout, history },
          text: [
            `money          ${payout.funds.amount} ${payout.funds.currency} at ${payout.funds.at}`,
            formatFields(record, PAYOUT_ORDER),
            'history',
            ...history.map(step),
          ].join('\n'),
        };
      }),
    );

  group
    .command('list')
    .description('payouts, newest first, as a table')
    .addOption(new Option('--state <S>', 'only payouts in this state').choices(PAYOUT_STATES))
    .option('--limit <N>', 'at most N payouts', (value) => parseCount(value, '--limit'), 50)
    .action((options: { state?: string; limit: number }, command: Command) =>
      cli.run(command, async (deps) => {
        const payouts = await listPayoutsCommand(deps, {
          limit: options.limit,
          ...(options.state === undefined ? {} : { state: options.state }),
        });
        return { json: payouts, text: payouts.length === 0 ? 'no payouts' : payoutTable(payouts) };
      }),
    );

  for (const [action, description] of Object.entries(ACTIONS) as [PayoutAction, string][]) {
    group
      .command(action)
      .description(`${description} (audited)`)
      .argument('<ref>', 'payout id or external id')
      .action((ref: string, _options: unknown, command: Command) =>
        cli.run(command, async (deps) => {
          const payout = await payoutOperatorCommand(deps, action, ref);
          return { json: payout, text: `${action}: ${payoutLine(payout)}` };
        }),
      );
  }
  return group;
}

const PAYOUT_ORDER = [
  'payoutId',
  'externalId',
  'state',
  'stage',
  'amount',
  'currency',
  'chain',
  'address',
  'reason',
  'fundingId',
  'fundingTransferId',
  'fundedAmount',
  'tradeReferenceId',
  'tradeId',
  'tradeRate',
  'tradeFee',
  'tradeFeeCurrency',
  'boughtAmount',
  'gasFee',
  'withdrawKey',
  'withdrawTransferId',
  'withdrawStatus',
  'sentAmount',
  'expectedArrival',
  'arrivedAmount',
  'transactionHash',
  'refundId',
  'refundTransferId',
  'refundedAmount',
  'approvedBy',
  'createdAt',
  'updatedAt',
];

function payoutLine(payout: PublicPayout): string {
  return `${payout.payoutId}  ${payout.state}  money ${payout.funds.amount} ${payout.funds.currency} at ${payout.funds.at}`;
}

function payoutTable(payouts: PublicPayout[]): string {
  return formatTable(
    ['payoutId', 'externalId', 'state', 'amount', 'currency', 'money', 'created', 'reason'],
    payouts.map((p) => [
      p.payoutId,
      p.externalId,
      p.state,
      `${p.amount} USD`,
      p.currency,
      `${p.funds.amount} ${p.funds.currency} at ${p.funds.at}`,
      isoTime(p.createdAt),
      truncate(p.reason ?? '', 60),
    ]),
  );
}
