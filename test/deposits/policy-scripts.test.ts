import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { createDepositStore } from '../../src/deposits/deposit-store.js';
import { createKeys } from '../../src/keys.js';
import {
  DEPOSIT_STATES,
  DEPOSIT_TRANSITIONS,
  merchantEventsFor,
  NOTIFICATION_EVENTS,
  SWEEP_EVENTS,
  type CreditDecision,
  type DepositState,
  type DepositStateOrNew,
  type NotificationEvent,
} from '../../src/policy/deposit-policy.js';
import { connectTestRedis, deleteKeysWithPrefix, uniquePrefix } from '../helpers/redis.js';

// The Lua scripts hold no rule of their own, but they carry out each row's action: this runs every
// row of the policy's table against them, so the table and the scripts cannot drift apart.

let redis: Redis;
const prefix = uniquePrefix('policy-scripts');
const keys = createKeys(prefix);
let store: ReturnType<typeof createDepositStore>;
let counter = 0;

beforeAll(() => {
  redis = connectTestRedis();
  // Merchant events on: every row is also checked for the events the policy says its change emits.
  store = createDepositStore(redis, keys, { merchantEvents: true });
});
afterAll(async () => {
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

const NOTIFICATION: Record<
  NotificationEvent,
  { status: string; credit: CreditDecision; unknownWallets?: 'hold' }
> = {
  'seen-pending': { status: 'PENDING', credit: { kind: 'sweep' } },
  credited: { status: 'CLOSED', credit: { kind: 'sweep' } },
  'credited-dust': { status: 'CLOSED', credit: { kind: 'dust', reason: 'small' } },
  'credited-unsupported': { status: 'CLOSED', credit: { kind: 'unsupported', reason: 'BTC' } },
  'credited-over-limit': { status: 'CLOSED', credit: { kind: 'over-limit', reason: 'large' } },
  // The wallet 'w' has no owner record: under the hold rule a sweepable deposit is held.
  'credited-unowned': { status: 'CLOSED', credit: { kind: 'sweep' }, unknownWallets: 'hold' },
  'put-on-hold': { status: 'ON_HOLD', credit: { kind: 'sweep' } },
  'upstream-failed': { status: 'FAIL', credit: { kind: 'sweep' } },
  'unknown-status': { status: 'MYSTERY', credit: { kind: 'sweep' } },
};

/** A deposit whose record is in `from` (none for `new`), credited and CLOSED as far as it knows. */
async function depositIn(from: DepositStateOrNew): Promise<string> {
  counter += 1;
  const depositId = `p-${counter}`;
  if (from === 'new') return depositId;
  await redis.hset(keys.deposit(depositId), {
    depositId,
    accountId: 'acc',
    walletId: 'w',
    currency: 'USDC',
    amount: '10',
    state: from,
    upstreamStatus: from === 'pending' ? 'PENDING' : 'CLOSED',
    statusAt: '1',
    notifications: '1',
  });
  return depositId;
}

async function stateOf(depositId: string): Promise<string> {
  return (await redis.hget(keys.deposit(depositId), 'state')) ?? 'new';
}

/** The merchant events `action` wrote to the outbox for the deposit, in order. */
async function emitted(depositId: string, action: () => Promise<unknown>): Promise<string[]> {
  const [last] = await redis.xrevrange(keys.merchantOutbox, '+', '-', 'COUNT', 1);
  await action();
  const entries = await redis.xrange(keys.merchantOutbox, last ? `(${last[0]}` : '-', '+');
  return entries.filter(([, fields]) => fields[3] === depositId).map(([, fields]) => fields[1]!);
}

const rowsOf = (events: readonly string[]) =>
  DEPOSIT_TRANSITIONS.rows
    .filter((row) => events.includes(row.event))
    .map((row) => [row.from, row.event, row.to] as const);

describe('the ledger scripts carry out the policy table', () => {
  it.each(rowsOf(NOTIFICATION_EVENTS))('accept: %s × %s → %s', async (from, event, to) => {
    const depositId = await depositIn(from);
    const { status, credit, unknownWallets } = NOTIFICATION[event as NotificationEvent];
    let outcome: Awaited<ReturnType<typeof store.accept>> | undefined;
    const events = await emitted(depositId, async () => {
      outcome = await store.accept({
        depositId,
        notificationId: `n-${depositId}`,
        status,
        credit,
        ...(unknownWallets ? { unknownWallets } : {}),
        fields: { depositId, accountId: 'acc', walletId: 'w', currency: 'USDC', amount: '10' },
        now: Date.now(),
      });
    });
    expect(outcome?.state).toBe(to);
    expect(await stateOf(depositId)).toBe(to);
    expect(events).toEqual(merchantEventsFor(from, to));
  });

  it.each(rowsOf(['claim']))('claim: %s × %s → %s', async (from, _event, to) => {
    const depositId = await depositIn(from);
    const events = await emitted(depositId, async () =>
      expect((await store.claim(depositId)).state).toBe(to === 'new' ? 'missing' : to),
    );
    expect(await stateOf(depositId)).toBe(to);
    expect(events).toEqual(merchantEventsFor(from, to));
  });

  it.each(
    rowsOf([
      'recheck-dust',
      'recheck-unsupported',
      'recheck-over-limit',
      'recheck-unexplained',
      'recheck-payout-funds',
    ]),
  )('move: %s × %s → %s', async (from, event, to) => {
    const depositId = await depositIn(from);
    const events = await emitted(depositId, () =>
      store.move(depositId, event as 'recheck-dust', 'policy changed'),
    );
    expect(await stateOf(depositId)).toBe(to);
    expect(events).toEqual(merchantEventsFor(from, to));
  });

  it.each(rowsOf(['transfer-confirmed']))('markSwept: %s × %s → %s', async (from, _event, to) => {
    const depositId = await depositIn(from);
    const events = await emitted(depositId, () =>
      store.markSwept(depositId, { transferId: `t-${depositId}` }),
    );
    expect(await stateOf(depositId)).toBe(to);
    expect(events).toEqual(merchantEventsFor(from, to));
    // Whatever the record said, the long-lived record now knows the transfer that moved the money.
    expect(await store.sweptTransfer(depositId)).toBe(`t-${depositId}`);
  });

  it.each(rowsOf(['sweep-dead']))('markDead: %s × %s → %s', async (from, _event, to) => {
    const depositId = await depositIn(from);
    const events = await emitted(depositId, () => store.markDead(depositId, 'boom'));
    expect(await stateOf(depositId)).toBe(to);
    expect(events).toEqual(merchantEventsFor(from, to));
  });

  it.each(rowsOf(['operator-requeue']))('requeue: %s × %s → %s', async (from, _event, to) => {
    const depositId = await depositIn(from);
    const events = await emitted(depositId, () =>
      store.requeue(
        depositId,
        'op',
        DEPOSIT_STATES.filter((s): s is DepositState => s !== 'new'),
      ),
    );
    expect(await stateOf(depositId)).toBe(to);
    expect(events).toEqual(merchantEventsFor(from, to));
  });

  it('covers every event of the table', () => {
    const tested = [...NOTIFICATION_EVENTS, ...SWEEP_EVENTS];
    expect([...DEPOSIT_TRANSITIONS.events].sort()).toEqual(tested.sort());
  });
});
