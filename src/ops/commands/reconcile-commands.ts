import { Command } from 'commander';
import type { CliRuntime } from '../cli-runtime.js';
import { formatFields, formatTable } from '../format-table.js';
import { readReconcileReport } from '../../reconcile/run-reconcile.js';
import { reconcileSweep } from '../reconcile-sweep.js';
import { usageError } from '../ops-error.js';

/**
 * `reconcile [list]`: the latest reconciliation report (money no notification explains; nothing was
 * moved). `reconcile sweep <wallet> <currency> <amount>`: moving such money, on the operator's decision.
 */
export function reconcileCommands(cli: CliRuntime): Command {
  const group = new Command('reconcile').description(
    'balances the ledger does not explain (report only), and moving them on your decision',
  );

  group
    .command('list', { isDefault: true })
    .description('the latest reconciliation report: unexplained money per wallet and currency')
    .action((_options: unknown, command: Command) =>
      cli.run(command, async (deps) => {
        const report = await readReconcileReport(deps.redis, deps.keys.prefix);
        if (!report)
          return {
            json: null,
            text: 'no reconciliation report yet (RECONCILE_ENABLED, and are the workers running?)',
          };
        const rows = report.discrepancies.map((d) => [
          d.walletId + (d.master ? ' (master)' : ''),
          d.currency,
          d.available,
          d.explained,
          d.held,
          d.reserved,
          d.unexplained,
          d.sweepable,
          d.entryId,
        ]);
        const header =
          `report of ${new Date(report.finishedAt).toISOString()}: ${report.accounts} account(s), ` +
          `${report.wallets} wallet(s), ${report.errors.length} error(s)`;
        const errors = report.errors.map((e) => `error: ${e.accountId} ${e.walletId ?? ''} ${e.message}`);
        return {
          json: report,
          text: [
            header,
            rows.length === 0
              ? 'no discrepancies'
              : formatTable(
                  [
                    'wallet',
                    'currency',
                    'available',
                    'explained',
                    'held',
                    'reserved',
                    'unexplained',
                    'sweepable',
                    'entry',
                  ],
                  rows,
                ),
            ...errors,
          ].join('\n'),
        };
      }),
    );

  group
    .command('sweep')
    .description(
      'moves unexplained money of a wallet to the Infinity wallet (refuses master wallets, USD, reserved ' +
        'or held funds, and more than is unexplained); repeating it never moves the money twice',
    )
    .argument('<walletId>', 'the CryptoConnect wallet')
    .argument('<currency>', 'the currency, e.g. USDC')
    .argument('<amount>', 'a decimal amount, at most the report\'s "sweepable"')
    .option('--reference <ref>', "your reference (ticket id); default: the report entry's id")
    .option('--dry-run', 'say what would happen (same refusals); change nothing')
    .action(
      (
        walletId: string,
        currency: string,
        amount: string,
        options: { reference?: string; dryRun?: boolean },
        command: Command,
      ) =>
        cli.run(command, async (deps) => {
          if (options.reference !== undefined && !/^[\x21-\x7e]{1,128}$/.test(options.reference))
            throw usageError('--reference must be 1-128 printable characters without spaces');
          const result = await reconcileSweep(deps, {
            walletId,
            currency,
            amount,
            dryRun: options.dryRun === true,
            ...(options.reference !== undefined ? { reference: options.reference } : {}),
          });
          return {
            json: result,
            text: formatFields({ ...result, ...(result.line ? { line: JSON.stringify(result.line) } : {}) }, [
              'outcome',
              'depositId',
              'clientTransactionId',
              'walletId',
              'currency',
              'amount',
              'reference',
              'state',
            ]),
          };
        }),
    );
  return group;
}
