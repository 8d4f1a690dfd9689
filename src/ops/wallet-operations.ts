import { UNSET_CREDENTIAL } from '../config.js';
import { createInterlaceClient, type InterlaceClient } from '../interlace/client.js';
import { createLogger } from '../logger.js';
import { ApiError } from '../merchant-api/api-error.js';
import {
  createAddress,
  createWallet,
  listWallets,
  publicWallet,
  showWallet,
  type WalletCommandDeps,
} from '../wallets/wallet-commands.js';
import { createWalletStore } from '../wallets/wallet-store.js';
import { appendAudit } from './audit-log.js';
import type { OpsDeps } from './ops-context.js';
import { OpsError } from './ops-error.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Whether the CLI can call Interlace (the ops role runs without credentials by default). */
function hasCredentials(deps: OpsDeps): boolean {
  return deps.config.interlace.clientId !== UNSET_CREDENTIAL;
}

function requireCredentials(deps: OpsDeps, command: string): void {
  if (!hasCredentials(deps))
    throw new OpsError(`${command} calls Interlace: set INTERLACE_CLIENT_ID and INTERLACE_CLIENT_SECRET`);
}

/** Runs `action` with the wallet commands' deps, and an Interlace client when there are credentials. */
async function withWalletDeps<T>(
  deps: OpsDeps,
  action: (command: WalletCommandDeps) => Promise<T>,
): Promise<T> {
  let client: InterlaceClient | undefined;
  if (hasCredentials(deps)) {
    client = createInterlaceClient({
      config: deps.config,
      redis: deps.redis,
      keys: deps.keys,
      logger: createLogger({ level: 'silent' }),
    });
  }
  const refuse = async (): Promise<never> => {
    throw new OpsError('this command calls Interlace: set INTERLACE_CLIENT_ID and INTERLACE_CLIENT_SECRET');
  };
  try {
    return await action({
      config: deps.config,
      logger: deps.receiver.logger,
      wallets: createWalletStore(deps.redis, deps.keys),
      deposits: deps.deposits,
      client: client ?? {
        createCryptoConnectWallet: refuse,
        listCryptoConnectWalletsPage: refuse,
        getCryptoConnectWallet: refuse,
        createWalletAddress: refuse,
      },
      now: deps.now,
    });
  } catch (error) {
    throw asOpsError(error);
  } finally {
    client?.close();
  }
}

/** The API's refusal as the CLI reports it: one line; a bad argument exits 2, anything else 1. */
function asOpsError(error: unknown): unknown {
  if (!(error instanceof ApiError)) return error;
  const field = typeof error.details.field === 'string' ? ` (${error.details.field})` : '';
  return new OpsError(`${error.code}: ${error.message}${field}`, error.code === 'invalid_request' ? 2 : 1);
}

/** `wallets create`: POST /wallets from the CLI (same checks, same exactly-once creation), audited. */
export async function createWalletCommand(deps: OpsDeps, input: { name: string; externalId: string }) {
  requireCredentials(deps, 'wallets create');
  if (deps.config.merchantApi.accountId === '')
    throw new OpsError('wallets create needs INTERLACE_ACCOUNT_ID: the account the wallet is created in');
  try {
    const { wallet } = await withWalletDeps(deps, (command) =>
      createWallet(command, { name: input.name, external_id: input.externalId }, `cli:${deps.operator}`),
    );
    await appendAudit(deps, {
      command: 'wallets create',
      targets: [wallet.id],
      result: { external_id: wallet.external_id, wallet_id: wallet.wallet_id },
    });
    return wallet;
  } catch (error) {
    await appendAudit(deps, {
      command: 'wallets create',
      targets: [input.externalId],
      result: { refused: error instanceof Error ? error.message : String(error) },
    });
    throw error;
  }
}

/** A wallet id, or an external_id: the record's id. */
async function resolveWallet(deps: OpsDeps, ref: string): Promise<string> {
  const store = createWalletStore(deps.redis, deps.keys);
  const record = UUID.test(ref) ? await store.get(ref) : undefined;
  const found = record ?? (await store.findByExternalId(ref));
  if (found === undefined) throw new OpsError(`no wallet with id or external_id ${ref}`);
  return found.id;
}

/**
 * `wallets show <id|external_id>`: the record, with balances and addresses from Interlace when the CLI
 * has credentials (`interlace: false` says they were not read).
 */
export async function showWalletCommand(deps: OpsDeps, ref: string) {
  const id = await resolveWallet(deps, ref);
  if (!hasCredentials(deps)) {
    const record = await createWalletStore(deps.redis, deps.keys).get(id);
    return { ...publicWallet(record!), interlace: false };
  }
  return { ...(await withWalletDeps(deps, (command) => showWallet(command, id))), interlace: true };
}

/** `wallets list [--external-id X] [--limit N] [--cursor C]` (gateway mode adopts master wallets first). */
export async function listWalletsCommand(
  deps: OpsDeps,
  input: { externalId?: string; limit: number; cursor?: string },
) {
  return withWalletDeps(deps, async (command) => {
    // Without credentials, gateway mode lists what it has adopted so far instead of asking Interlace.
    const config = hasCredentials(deps)
      ? command.config
      : { ...command.config, merchantApi: { ...command.config.merchantApi, mode: 'mor' as const } };
    return listWallets(
      { ...command, config },
      {
        limit: input.limit,
        ...(input.externalId === undefined ? {} : { external_id: input.externalId }),
        ...(input.cursor === undefined ? {} : { cursor: input.cursor }),
      },
    );
  });
}

/** `wallets address <id|external_id> --currency C --chain X`: a new deposit address, audited. */
export async function walletAddressCommand(
  deps: OpsDeps,
  input: { ref: string; currency: string; chain: string },
) {
  requireCredentials(deps, 'wallets address');
  const id = await resolveWallet(deps, input.ref);
  const address = await withWalletDeps(deps, (command) =>
    createAddress(command, id, { currency: input.currency, chain: input.chain }),
  );
  await appendAudit(deps, {
    command: 'wallets address',
    targets: [id],
    result: { currency: address.currency, chain: address.chain, address: address.address },
  });
  return address;
}
