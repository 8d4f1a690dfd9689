import { Command } from 'commander';
import { MAX_LIST_LIMIT, type PublicWallet, type WalletDetail } from '../../wallets/wallet-commands.js';
import type { CliRuntime } from '../cli-runtime.js';
import { formatFields, formatTable } from '../format-table.js';
import { usageError } from '../ops-error.js';
import { parseCount } from '../parse-time.js';
import {
  createWalletCommand,
  listWalletsCommand,
  showWalletCommand,
  walletAddressCommand,
} from '../wallet-operations.js';

/** `wallets create|show|list|address`: the merchant API's wallet operations (docs/wallets.md). */
export function walletCommands(cli: CliRuntime): Command {
  const group = new Command('wallets').description(
    'merchant wallets: a CryptoConnect wallet per customer (external_id), its addresses',
  );

  group
    .command('create')
    .description('a wallet, exactly once per external_id, as POST /wallets does (audited)')
    .requiredOption('--name <NAME>', 'the customer-facing name (the Interlace nickname)')
    .requiredOption('--external-id <ID>', "the merchant's id for it, unique")
    .action((options: { name: string; externalId: string }, command: Command) =>
      cli.run(command, async (deps) => {
        const wallet = await createWalletCommand(deps, options);
        return { json: wallet, text: `created  ${walletText(wallet)}` };
      }),
    );

  group
    .command('show')
    .description('one wallet by id or external_id, with balances and addresses from Interlace')
    .argument('<ref>', 'wallet id or external_id')
    .action((ref: string, _options: unknown, command: Command) =>
      cli.run(command, async (deps) => {
        const wallet = await showWalletCommand(deps, ref);
        return { json: wallet, text: walletText(wallet) };
      }),
    );

  group
    .command('list')
    .description('wallets, oldest first, a page at a time')
    .option('--external-id <ID>', 'only this one')
    .option('--limit <N>', 'how many (1-200)', '50')
    .option('--cursor <C>', "the previous page's next_cursor")
    .action((options: { externalId?: string; limit: string; cursor?: string }, command: Command) =>
      cli.run(command, async (deps) => {
        const limit = parseCount(options.limit, '--limit');
        if (limit > MAX_LIST_LIMIT) throw usageError(`--limit: at most ${MAX_LIST_LIMIT}`);
        const page = await listWalletsCommand(deps, {
          limit,
          ...(options.externalId === undefined ? {} : { externalId: options.externalId }),
          ...(options.cursor === undefined ? {} : { cursor: options.cursor }),
        });
        const table = formatTable(
          ['id', 'external_id', 'name', 'state', 'interlace wallet', 'created'],
          page.data.map((w) => [w.id, w.external_id, w.name, w.state, w.wallet_id ?? '-', w.created]),
        );
        return {
          json: page,
          text: page.next_cursor ? `${table}\nnext page: --cursor ${page.next_cursor}` : table,
        };
      }),
    );

  group
    .command('address')
    .description('a new deposit address of the wallet at Interlace (audited)')
    .argument('<ref>', 'wallet id or external_id')
    .requiredOption('--currency <C>', 'e.g. USDC')
    .requiredOption('--chain <CHAIN>', 'e.g. ETH, TRON')
    .action((ref: string, options: { currency: string; chain: string }, command: Command) =>
      cli.run(command, async (deps) => {
        const address = await walletAddressCommand(deps, { ref, ...options });
        return { json: address, text: `${address.currency} on ${address.chain}: ${address.address}` };
      }),
    );
  return group;
}

function walletText(wallet: PublicWallet & Partial<WalletDetail> & { interlace?: boolean }): string {
  const fields = ['id', 'name', 'external_id', 'wallet_id', 'state', 'mode', 'created', 'updated'] as const;
  const shown = Object.fromEntries(fields.map((field) => [field, wallet[field] ?? '-']));
  const lines = [formatFields(shown, fields)];
  if (wallet.balances) {
    lines.push(
      `balances     ${wallet.balances.map((b) => `${b.available} ${b.currency}`).join(', ') || '-'}`,
    );
  } else if (wallet.interlace === false) {
    lines.push('balances     (not read: the CLI has no Interlace credentials)');
  }
  for (const address of wallet.addresses ?? []) {
    lines.push(
      `address      ${address.currency}/${address.chain} ${address.address}${address.selected ? ' (selected)' : ''}`,
    );
  }
  return lines.join('\n');
}
