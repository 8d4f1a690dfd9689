import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ETH_ADDRESS, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';
import { cli, snapshotKeys } from './cli-harness.js';

let stack: PayoutStack;
beforeAll(async () => {
  stack = await startPayoutStack('payout-cli', { env: { PAYOUT_REQUIRE_APPROVAL: 'true' } });
});
afterAll(async () => {
  await stack.close();
});

const create = (externalId: string, ...more: string[]) =>
  cli(
    stack.env,
    'payouts',
    'create',
    '--external-id',
    externalId,
    '--amount',
    '10',
    '--currency',
    'usdc',
    '--chain',
    'eth',
    '--address',
    ETH_ADDRESS,
    '--operator',
    'alice',
    ...more,
  );

describe('payouts create|approve|show|list', () => {
  it('creates a payout that waits for approval, then an audited approve sends it to the address', async () => {
    const created = await create('cli-1', '--json');
    expect(created.code).toBe(0);
    const { payout } = created.json<{ payout: { payoutId: string; state: string } }>();
    expect(payout.state).toBe('requested');

    const closed = stack.delivered('Closed');
    const approved = await cli(stack.env, 'payouts', 'approve', 'cli-1', '--operator', 'bob');
    expect(approved.code).toBe(0);
    expect(approved.out).toMatch(/^approve: .* approved/);
    await stack.finished(payout.payoutId);
    await closed;

    const shown = await cli(stack.env, 'payouts', 'show', payout.payoutId);
    expect(shown.out).toMatch(/money +9\.75 USDC at destination/);
    expect(shown.out).toMatch(/requested +→ approved +approve \(by bob\)/);
    const audit = await cli(stack.env, 'audit', 'list', '--json');
    const entries = audit.json<{ operator: string; command: string; targets: string[] }[]>();
    expect(entries.find((e) => e.command === 'payouts approve')).toMatchObject({
      operator: 'bob',
      targets: [payout.payoutId],
    });
    const list = await cli(stack.env, 'payouts', 'list', '--state', 'confirmed');
    expect(list.out).toContain('cli-1');
  });

  it('previews with --dry-run: quote, gas and what would arrive, and writes nothing', async () => {
    const before = await snapshotKeys(stack.redis, stack.prefix);
    const calls = stack.sim.requestCount();
    const preview = await create('cli-dry', '--dry-run', '--json');
    expect(preview.code).toBe(0);
    expect(preview.json()).toMatchObject({
      dryRun: true,
      withinDailyLimit: true,
      quote: { bought: '9.95 USDC', fee: '0.05 USD' },
      gas: '0.2 USDC',
      wouldArrive: '9.75 USDC',
    });
    expect(await snapshotKeys(stack.redis, stack.prefix)).toEqual(before);
    expect(stack.sim.requests(calls).map((r) => r.endpoint)).not.toContain('transfer');
  });

  it('refuses a bad request with exit 1 and a reason, and a missing flag with exit 2', async () => {
    const bad = await cli(
      stack.env,
      'payouts',
      'create',
      '--external-id',
      'cli-bad',
      '--amount',
      '10',
      '--currency',
      'USDC',
      '--chain',
      'ETH',
      '--address',
      '0x12',
    );
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/invalid-payout: address is not a ETH address/);
    const missing = await cli(stack.env, 'payouts', 'create', '--external-id', 'cli-bad');
    expect(missing.code).toBe(2);
  });

  it('cancels a requested payout, and refuses to cancel it twice', async () => {
    await create('cli-cancel');
    const cancelled = await cli(stack.env, 'payouts', 'cancel', 'cli-cancel');
    expect(cancelled.out).toMatch(/cancelled/);
    const again = await cli(stack.env, 'payouts', 'refund', 'cli-cancel');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/refused/);
  });
});
