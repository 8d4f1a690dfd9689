import { Command, Option } from 'commander';
import type { DepositRecord, DepositState } from '../../deposits/deposit-state.js';
import type { CliRuntime } from '../cli-runtime.js';
import { showDeposit, type DepositDetails } from '../deposit-show.js';
import { listDeposits } from '../deposit-list.js';
import { formatFields, formatTable, isoTime, withIsoTimes } from '../format-table.js';
import { parseCount, parseTime } from '../parse-time.js';
import { resolveDepositRef } from '../resolve-ref.js';

const STATES: readonly DepositState[] = [
  'pending',
  'queued',
  'sweeping',
  'swept',
  'held',
  'failed',
  'dead',
  'dust',
  'unsupported',
];

type ListOptions = {
  state?: string;
  wallet?: string;
  externalId?: string;
  since?: number;
  until?: number;
  limit: number;
};

/** `deposits show|list`: what the ledger knows about deposits. */
export function depositCommands(cli: CliRuntime): Command {
  const group = new Command('deposits').description('the deposit ledger: one deposit, or a filtered list');

  group
    .command('show')
    .description('one deposit with its notifications, attempts, sweep job and dead letter')
    .argument('<ref>', 'deposit id, a unique prefix of one, or an on-chain tx hash')
    .action((ref: string, _options: unknown, command: Command) =>
      cli.run(command, async (deps) => {
        const details = await showDeposit(deps, { ref: await resolveDepositRef(deps, ref) });
        return {
          json: details.length === 1 ? details[0] : details,
          text: details.map(depositText).join('\n\n'),
        };
      }),
    );

  group
    .command('list')
    .description('deposits, newest first, as a table')
    .addOption(new Option('--state <S>', 'only deposits in this state').choices(STATES))
    .option('--wallet <W>', 'only deposits into this CryptoConnect wallet id')
    .option(
      '--external-id <X>',
      "only deposits into the wallet(s) of the merchant's customer X (external_id)",
    )
    .option('--since <T>', 'first seen at or after T', (value) => parseTime(value, '--since', cli.now))
    .option('--until <T>', 'first seen at or before T', (value) => parseTime(value, '--until', cli.now))
    .option('--limit <N>', 'at most N deposits', (value) => parseCount(value, '--limit'), 50)
    .action((options: ListOptions, command: Command) =>
      cli.run(command, async (deps) => {
        const deposits = await listDeposits(deps, {
          limit: options.limit,
          ...(options.state === undefined ? {} : { state: options.state }),
          ...(options.wallet === undefined ? {} : { walletId: options.wallet }),
          ...(options.externalId === undefined ? {} : { externalId: options.externalId }),
          ...(options.since === undefined ? {} : { since: options.since }),
          ...(options.until === undefined ? {} : { until: options.until }),
        });
        return { json: deposits, text: deposits.length === 0 ? 'no deposits' : depositTable(deposits) };
      }),
    );
  return group;
}

function depositTable(deposits: DepositRecord[]): string {
  return formatTable(
    ['depositId', 'state', 'currency', 'amount', 'wallet', 'externalId', 'firstSeen', 'detail'],
    deposits.map((d) => [
      d.depositId,
      d.state,
      d.currency,
      d.amount,
      d.walletId,
      // A wallet the service did not create has no customer: said so, not left blank.
      d.externalId ?? (d.walletOwnership === 'unowned' ? '(unowned)' : ''),
      isoTime(d.firstSeenAt),
      d.state === 'swept' ? `transfer ${d.transferId ?? ''} net ${d.netAmount ?? ''}` : (d.reason ?? ''),
    ]),
  );
}

const DEPOSIT_ORDER = [
  'depositId',
  'state',
  'upstreamStatus',
  'currency',
  'amount',
  'accountId',
  'walletId',
  'walletOwnership',
  'walletRecordId',
  'externalId',
  'walletName',
  'chain',
  'txHash',
  'address',
  'clientTransactionId',
  'transferId',
  'transferStatus',
  'feeTotal',
  'feeCurrency',
  'netAmount',
  'netCurrency',
  'reason',
  'conflict',
];

function depositText(details: DepositDetails): string {
  const record: Record<string, unknown> = withIsoTimes({ ...details.deposit });
  const job = details.sweepJob;
  return [
    formatFields(record, DEPOSIT_ORDER),
    // The set keeps a digest per distinct signed resource (not the unsigned envelope ids): its size says
    // how many different notifications Interlace sent; the last one's id is on the record.
    `notifications  ${details.notificationIds.length > 0 ? `${details.notificationIds.length} distinct (last ${details.deposit.lastNotificationId ?? '?'})` : details.deposit.state === 'swept' ? `(not kept once swept; last ${details.deposit.lastNotificationId ?? '?'})` : '(none)'}`,
    `sweep job      ${job ? `${job.id} ${job.state} (attempts ${job.attemptsMade})${job.failedReason ? `: ${job.failedReason}` : ''}` : '(none)'}`,
    `dead letter    ${details.deadLetter ? `${details.deadLetter.id}: ${details.deadLetter.reason}` : '(none)'}`,
    `attempts       ${details.attempts.length === 0 ? '(none)' : ''}`,
    ...details.attempts.map(
      (a) => `  #${a.attempt} ${isoTime(a.at)} ${a.category}/${a.reason}: ${a.message}`,
    ),
  ].join('\n');
}
