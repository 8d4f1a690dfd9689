import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMerchantStack } from '../helpers/merchant-api.js';
import { cli } from './cli-harness.js';

type Stack = Awaited<ReturnType<typeof startMerchantStack>>;
type Wallet = {
  id: string;
  external_id: string;
  wallet_id: string;
  balances?: unknown[];
  interlace?: boolean;
};

let stack: Stack;
let env: Record<string, string | undefined>;

beforeAll(async () => {
  stack = await startMerchantStack('wallet-cli');
  env = { ...stack.env, MERCHANT_API_KEYS: undefined };
});
afterAll(async () => {
  await stack.close();
});

describe('ops wallets create|show|list|address', () => {
  it('creates a wallet once, shows it by external_id, lists it, makes an address; audited', async () => {
    const created = await cli(
      env,
      '--json',
      'wallets',
      'create',
      '--name',
      'Customer 1',
      '--external-id',
      'cli-1',
    );
    expect(created.code).toBe(0);
    const wallet = created.json<Wallet>();
    expect(stack.sim.wallet(wallet.wallet_id)).toMatchObject({
      accountId: stack.accountId,
      nickname: 'Customer 1',
    });

    const again = await cli(env, 'wallets', 'create', '--name', 'Customer 1', '--external-id', 'cli-1');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/^interlace-sweep-ops: duplicate_external_id: /);
    expect(again.err.trim().split('\n')).toHaveLength(1);

    const shown = await cli(env, '--json', 'wallets', 'show', 'cli-1');
    expect(shown.json<Wallet>()).toMatchObject({
      id: wallet.id,
      interlace: true,
      balances: expect.any(Array),
    });
    const text = await cli(env, 'wallets', 'show', wallet.id);
    expect(text.out).toMatch(/external_id +cli-1/);

    const listed = await cli(env, 'wallets', 'list');
    expect(listed.out).toContain('cli-1');

    const address = await cli(
      env,
      '--json',
      'wallets',
      'address',
      'cli-1',
      '--currency',
      'USDC',
      '--chain',
      'ETH',
    );
    expect(address.code).toBe(0);
    expect(address.json<{ address: string }>().address).toMatch(/^0x/);

    const audit = await cli(env, 'audit', 'list', '--json');
    const commands = audit.json<{ command: string; targets: string[] }[]>().map((e) => e.command);
    expect(commands).toEqual(expect.arrayContaining(['wallets create', 'wallets address']));
  });

  it('shows a wallet without Interlace credentials, saying the balances were not read', async () => {
    await cli(env, 'wallets', 'create', '--name', 'Customer 2', '--external-id', 'cli-2');
    const bare = { ...env, INTERLACE_CLIENT_ID: undefined, INTERLACE_CLIENT_SECRET: undefined };
    const shown = await cli(bare, 'wallets', 'show', 'cli-2');
    expect(shown.code).toBe(0);
    expect(shown.out).toMatch(/balances +\(not read/);
    const refused = await cli(bare, 'wallets', 'create', '--name', 'x', '--external-id', 'cli-3');
    expect(refused).toMatchObject({ code: 1, err: expect.stringMatching(/set INTERLACE_CLIENT_ID/) });
  });

  it('exits 2 for a bad argument and 1 for an unknown wallet, with one line', async () => {
    const bad = await cli(env, 'wallets', 'address', 'cli-1', '--currency', 'US DC', '--chain', 'ETH');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/invalid_request: .*\(currency\)/);
    const unknown = await cli(env, 'wallets', 'show', 'nobody');
    expect(unknown.code).toBe(1);
    expect(unknown.err.trim().split('\n')).toHaveLength(1);
    expect((await cli(env, 'wallets', 'list', '--limit', '500')).code).toBe(2);
  });
});
