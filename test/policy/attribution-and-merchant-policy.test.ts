import { describe, expect, it } from 'vitest';
import {
  merchantEventName,
  merchantReason,
  ownedWalletModes,
  type WalletMode,
} from '../../src/policy/deposit-policy.js';
import {
  afterCreateFailure,
  creationLeaseMs,
  interlaceCallBudgetMs,
  type CreateFailure,
} from '../../src/policy/wallet-creation-policy.js';

describe('which owner records make a wallet the service’s', () => {
  it.each<[WalletMode, string, boolean]>([
    ['mor', 'mor', true],
    ['mor', '', true], // an owner record from before the mode was stored: POST /wallets wrote it
    ['mor', 'gateway', false], // a master wallet adopted in gateway mode, after the switch to MoR
    ['gateway', 'gateway', true],
    ['gateway', 'mor', true],
    ['gateway', '', true],
  ])('in %s mode, an owner record of mode "%s" counts: %s', (service, owner, owned) => {
    expect(ownedWalletModes(service).includes(owner)).toBe(owned);
  });
});

describe('what names a merchant event', () => {
  it.each([
    ['d-1', 'deposit.swept', 'swept', 'interlace-sweep:merchant-event:d-1:deposit.swept:swept'],
    ['d-1', 'deposit.failed', 'dead', 'interlace-sweep:merchant-event:d-1:deposit.failed:dead'],
    ['d-1', 'deposit.failed', 'failed', 'interlace-sweep:merchant-event:d-1:deposit.failed:failed'],
    ['d-1', 'deposit.held', 'held', 'interlace-sweep:merchant-event:d-1:deposit.held:held'],
    ['d-1', 'deposit.received', 'queued', 'interlace-sweep:merchant-event:d-1:deposit.received:recorded'],
    ['d-1', 'deposit.received', 'pending', 'interlace-sweep:merchant-event:d-1:deposit.received:recorded'],
  ] as const)('%s %s entering %s is %s', (depositId, type, state, name) => {
    expect(merchantEventName(depositId, type, state)).toBe(name);
  });
});

describe('the reason the merchant reads', () => {
  it.each([
    ['held', 'ON_HOLD: compliance hold at Interlace', 'ON_HOLD: compliance hold at Interlace'],
    ['failed', 'FAIL: Interlace reports the deposit failed', 'FAIL: Interlace reports the deposit failed'],
    [
      'dead',
      'business-error: POST /business/transfer/internal: business error code 1002: Account 42 of Jane Doe frozen (HTTP 200)',
      'business-error: the sweep failed for good; an operator decides what happens to the deposit',
    ],
    [
      'dead',
      'retries-exhausted: http-5xx: POST /business/transfer/internal: HTTP 502: upstream says x',
      'retries-exhausted: the sweep failed for good; an operator decides what happens to the deposit',
    ],
    [
      'dead',
      'Something Else',
      'sweep-error: the sweep failed for good; an operator decides what happens to the deposit',
    ],
    ['dead', 'dead', 'dead: the sweep failed for good; an operator decides what happens to the deposit'],
    ['swept', '', null],
    ['queued', undefined, null],
  ] as const)('of a %s deposit with reason %j is %j', (state, reason, told) => {
    expect(merchantReason(state, reason)).toBe(told);
  });
});

describe('creating a wallet exactly once', () => {
  it.each<[CreateFailure, ReturnType<typeof afterCreateFailure>]>([
    [{ category: 'transient', reason: 'timeout' }, 'look-up-after-settle'],
    [{ category: 'transient', reason: 'network' }, 'look-up-after-settle'],
    [{ category: 'transient', reason: 'http-5xx' }, 'look-up-after-settle'],
    [{ category: 'transient', reason: 'rate-limited' }, 'stop'],
    [{ category: 'permanent', reason: 'business-error' }, 'look-up-now'],
    [{ category: 'permanent', reason: 'http-4xx' }, 'stop'],
    [{ category: 'authentication', reason: 'token-invalid' }, 'stop'],
    [{ category: 'unknown' }, 'stop'],
  ])('after a create that failed with %j: %s (never another create)', (failure, next) => {
    expect(afterCreateFailure(failure)).toBe(next);
  });

  it('gives one call its token renewals, and the lease two settles and three calls', () => {
    expect(interlaceCallBudgetMs(10_000)).toBe(60_000);
    expect(creationLeaseMs({ timeoutMs: 10_000, settleMs: 20_000 })).toBe(220_000);
    // The create call fits in what is left of the lease after a settle and a look-up.
    const timing = { timeoutMs: 1_000, settleMs: 5_000 };
    expect(
      creationLeaseMs(timing) - timing.settleMs - interlaceCallBudgetMs(timing.timeoutMs),
    ).toBeGreaterThanOrEqual(interlaceCallBudgetMs(timing.timeoutMs));
  });
});
