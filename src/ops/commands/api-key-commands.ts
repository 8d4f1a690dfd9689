import { Command } from 'commander';
import {
  API_SCOPES,
  apiKeyEntry,
  generateApiKey,
  hashApiKey,
  parseApiKeys,
  type ApiScope,
} from '../../merchant-api/api-keys.js';
import type { CliRuntime } from '../cli-runtime.js';
import { usageError } from '../ops-error.js';

/**
 * `api-keys new|hash`: makes a merchant API key and its MERCHANT_API_KEYS entry, or hashes an existing
 * key read from stdin. Needs neither Redis nor the service's configuration; the key is printed once and
 * stored nowhere.
 */
export function apiKeyCommands(cli: CliRuntime): Command {
  const group = new Command('api-keys').description(
    'merchant API keys: make one with its MERCHANT_API_KEYS entry (only the hash is configured)',
  );

  group
    .command('new')
    .description('a new random key and its MERCHANT_API_KEYS entry; the key is shown once, keep it')
    .requiredOption('--name <NAME>', 'who uses it (logs and audit name the key by it)')
    .option('--scopes <LIST>', 'read, or read,write (creating wallets and payouts needs both)', 'read,write')
    .action((options: { name: string; scopes: string }, command: Command) =>
      cli.runOffline(command, async () => {
        const scopes = parseScopes(options.scopes);
        const key = generateApiKey();
        const entry = checkedEntry(options.name, key, scopes);
        return {
          json: { name: options.name, scopes, key, entry },
          text: [
            `key    ${key}`,
            `entry  ${entry}`,
            'Give the key to the merchant backend; add the entry to MERCHANT_API_KEYS (comma-separated).',
          ].join('\n'),
        };
      }),
    );

  group
    .command('hash')
    .description('the MERCHANT_API_KEYS entry of an existing key, read from stdin (never from argv)')
    .requiredOption('--name <NAME>', 'who uses it')
    .option('--scopes <LIST>', 'read, or read,write', 'read,write')
    .action((options: { name: string; scopes: string }, command: Command) =>
      cli.runOffline(command, async () => {
        const scopes = parseScopes(options.scopes);
        const key = (await cli.readStdin()).trim();
        if (key === '')
          throw usageError('no key on stdin (e.g. printf %s "$KEY" | … api-keys hash --name x)');
        const entry = checkedEntry(options.name, key, scopes);
        return { json: { name: options.name, scopes, sha256: hashApiKey(key), entry }, text: entry };
      }),
    );
  return group;
}

function parseScopes(list: string): ApiScope[] {
  const scopes = [...new Set(list.split(/[,+\s]+/).filter(Boolean))];
  if (scopes.length === 0 || !scopes.every((scope) => (API_SCOPES as string[]).includes(scope)))
    throw usageError('--scopes must be read or read,write');
  return API_SCOPES.filter((scope) => scopes.includes(scope));
}

/** The entry, checked by the same parser the service boots with. */
function checkedEntry(name: string, key: string, scopes: readonly ApiScope[]): string {
  const entry = apiKeyEntry(name, key, scopes);
  try {
    parseApiKeys(entry);
  } catch (error) {
    throw usageError((error as Error).message.replace(/^entry 1: /, ''));
  }
  return entry;
}
