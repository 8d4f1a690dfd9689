import { afterEach, expect, it } from 'vitest';
import { approvePayout, createPayout } from '../../src/payouts/payout-commands.js';
import type { PayoutCommandDeps } from '../../src/payouts/payout-commands.js';
import { cli } from '../ops/cli-harness.js';
import { ETH_ADDRESS, startPayoutStack, type PayoutStack } from '../helpers/payouts.js';

// Attack review A (payout controls): the controls a payout is created under come from the environment
// of whoever creates it. `payouts create` in an operator's shell (a checkout, `npm run ops`, a stale or
// partial .env) uses that shell's PAYOUT_REQUIRE_APPROVAL and PAYOUT_DAILY_LIMIT, and the worker that
// moves the money re-checks neither (recheckControls covers the allow-list, maximum, currencies and
// chains only). The service's approval requirement and daily limit are silently skipped.
// Fixed (fix-money): the service publishes its payout controls with its policy and the CLI applies them
// (the two attack tests); and the worker re-checks approval and the daily limit with its own settings
// right before step 1 (recheckApproval), whoever created the payout (the tests below: a creating process
// with other settings, the published policy bypassed).

let stack: PayoutStack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

/** The operator's shell: the service's Redis, prefix and credentials, not its payout controls. */
function shellEnv(s: PayoutStack, drop: string[]) {
  const env: Record<string, string | undefined> = { ...s.env };
  for (const name of drop) delete env[name];
  return env;
}

const create = (env: Record<string, string | undefined>, externalId: string) =>
  cli(
    env,
    '--operator',
    'mallory',
    '--json',
    'payouts',
    'create',
    '--external-id',
    externalId,
    '--amount',
    '10',
    '--currency',
    'USDC',
    '--chain',
    'ETH',
    '--address',
    ETH_ADDRESS,
  );

it('a payout created from a shell without PAYOUT_REQUIRE_APPROVAL still waits for an approval the service requires', async () => {
  const s = await startPayoutStack('attack-a-shell-approval', { env: { PAYOUT_REQUIRE_APPROVAL: 'true' } });
  stack = s;
  const made = await create(shellEnv(s, ['PAYOUT_REQUIRE_APPROVAL']), 'shell-approval-1');
  expect(made.code).toBe(0);
  // The CLI applied the service's published PAYOUT_REQUIRE_APPROVAL: never approved at all.
  expect(made.json<{ payout: { state: string } }>().payout.state).toBe('requested');
  const payoutId = (await s.payouts.idForExternal('shell-approval-1'))!;
  const record = await s.finished(payoutId).catch(async () => s.payouts.get(payoutId));

  expect(record).toMatchObject({ state: 'requested' });
  expect(s.stepCallsFor(payoutId, 'fund')).toHaveLength(0);
});

it("payouts created from a shell with another PAYOUT_DAILY_LIMIT never move more than the service's limit", async () => {
  const s = await startPayoutStack('attack-a-shell-daily', { env: { PAYOUT_DAILY_LIMIT: '15' } });
  stack = s;
  // The service's own path refuses the second 10 USD within 24 h.
  await createPayout(s.commands, s.request('svc-daily-1'), 'api');
  await expect(createPayout(s.commands, s.request('svc-daily-2'), 'api')).rejects.toThrow(/daily/i);
  await s.finished((await s.payouts.idForExternal('svc-daily-1'))!);

  // From the shell (default limit 10 000): accepted and paid.
  const made = await create(shellEnv(s, ['PAYOUT_DAILY_LIMIT']), 'shell-daily-1');
  // The CLI applied the service's published PAYOUT_DAILY_LIMIT: refused, exit 1, nothing recorded.
  expect(made.code).toBe(1);
  expect(made.err).toMatch(/daily/i);
  const payoutId = (await s.payouts.idForExternal('shell-daily-1')) ?? 'none';
  if (made.code === 0) await s.finished(payoutId);
  expect(s.stepCallsFor(payoutId, 'fund')).toHaveLength(0);
});

/** A creating process with its own payout settings (a stale process, a caller that ignores the policy). */
function creatorWith(
  s: PayoutStack,
  payout: Partial<PayoutCommandDeps['config']['payout']>,
): PayoutCommandDeps {
  return { ...s.commands, config: { ...s.config, payout: { ...s.config.payout, ...payout } } };
}

it('the worker sends an auto-approved payout back to wait for an operator when the service requires approval', async () => {
  const s = await startPayoutStack('attack-a-worker-approval', { env: { PAYOUT_REQUIRE_APPROVAL: 'true' } });
  stack = s;
  const { payout } = await createPayout(
    creatorWith(s, { requireApproval: false }),
    s.request('worker-approval-1'),
    'x',
  );
  expect(payout.state).toBe('approved');
  const record = await s.finished(payout.payoutId);
  expect(record).toMatchObject({ state: 'requested' });
  expect(record.reason).toMatch(/^needs-approval: /);
  expect(s.stepCallsFor(payout.payoutId, 'fund')).toHaveLength(0);

  // An operator's approval then lets it run.
  await approvePayout(s.commands, payout.payoutId, 'alice');
  await expect
    .poll(async () => (await s.payouts.get(payout.payoutId))?.stage, { timeout: 15_000 })
    .toMatch(/^(sent|confirmed)$/);
  expect(s.committedFor(payout.payoutId, 'fund')).toHaveLength(1);
});

it("the worker refuses step 1 of a payout created over the service's daily limit", async () => {
  const s = await startPayoutStack('attack-a-worker-daily', { env: { PAYOUT_DAILY_LIMIT: '15' } });
  stack = s;
  const first = (await createPayout(s.commands, s.request('worker-daily-1'), 'api')).payout.payoutId;
  await s.finished(first);
  const second = (
    await createPayout(creatorWith(s, { dailyLimit: '10000' }), s.request('worker-daily-2'), 'x')
  ).payout.payoutId;
  const record = await s.finished(second);
  expect(record).toMatchObject({ state: 'failed', stage: 'none' });
  expect(record.reason).toMatch(/^daily-limit: .*20\.00 USD.*15/);
  expect(s.stepCallsFor(second, 'fund')).toHaveLength(0);
  expect(s.committedFor(first, 'fund')).toHaveLength(1);
});
