import { describe, expect, it } from 'vitest';
import {
  checkPayoutRequest,
  decideTransition,
  fitsDailyLimit,
  fundingWallet,
  fundsLocation,
  judgeFailure,
  mayResend,
  nextAction,
  planWithdrawal,
  PAYOUT_EVENTS,
  recheckControls,
  SETTLES_DOUBT,
  PAYOUT_STATES,
  PAYOUT_TRANSITIONS,
  retryEvent,
  reservation,
  transferStatusEvent,
  type PayoutEvent,
  type PayoutFacts,
  type PayoutState,
} from '../../src/policy/payout-policy.js';

const facts = (state: PayoutState, more: Partial<PayoutFacts> = {}): PayoutFacts => ({
  state,
  stage: 'none',
  fundingCalled: false,
  withdrawCalled: false,
  onHold: false,
  refundRequested: false,
  ...more,
});

describe('decideTransition', () => {
  const allowed: [string, PayoutFacts, PayoutEvent, PayoutState][] = [
    ['approval', facts('requested'), 'approve', 'approved'],
    ['cancel before any call', facts('approved'), 'cancel', 'cancelled'],
    ['step 1 done', facts('approved'), 'funded', 'funded'],
    ['step 3 done', facts('funded', { stage: 'funded' }), 'converted', 'converted'],
    ['step 5 answered', facts('converted', { stage: 'converted' }), 'sent', 'sent'],
    [
      'Closed before the answer was recorded',
      facts('converted', { withdrawCalled: true }),
      'confirmed',
      'confirmed',
    ],
    [
      'Closed after a stall',
      facts('held', { stage: 'sent', withdrawCalled: true }),
      'confirmed',
      'confirmed',
    ],
    ['ON_HOLD', facts('sent', { stage: 'sent', withdrawCalled: true }), 'on-hold', 'held'],
    ['retry of an unknown step 3', facts('held', { stage: 'funded' }), 'retry-convert', 'funded'],
    [
      'retry of an unknown refund',
      facts('held', { stage: 'funded', refundRequested: true }),
      'retry-refund',
      'refunding',
    ],
    ['refund of USD', facts('failed', { stage: 'funded' }), 'refund', 'refunding'],
    ['refund of the stablecoin', facts('held', { stage: 'converted' }), 'refund', 'refunding'],
    ['refund done', facts('refunding', { stage: 'converted' }), 'refunded', 'refunded'],
  ];
  it.each(allowed)('allows %s', (_label, given, event, to) => {
    const decision = decideTransition(given, event);
    expect(decision).toMatchObject({ ok: true, to });
  });

  const refused: [string, PayoutFacts, PayoutEvent, RegExp][] = [
    ['cancel once step 1 was called', facts('approved', { fundingCalled: true }), 'cancel', /refund instead/],
    ['a step skipped', facts('approved'), 'converted', /cannot take/],
    ['a confirmed payout moving again', facts('confirmed', { stage: 'confirmed' }), 'refund', /cannot take/],
    ['a stall check after the payout moved on', facts('confirmed'), 'confirmation-timeout', /a repeat/],
    ['a refund of money on hold', facts('held', { stage: 'sent', onHold: true }), 'refund', /ON_HOLD/],
    [
      'a retry of an ON_HOLD transfer',
      facts('held', { stage: 'sent', onHold: true }),
      'retry-send',
      /never retried/,
    ],
    ['a refund with nothing in the wallet', facts('failed', { stage: 'none' }), 'refund', /stage none/],
    ['a Closed for a payout that never sent', facts('converted'), 'confirmed', /never called/],
  ];
  it.each(refused)('refuses %s', (_label, given, event, reason) => {
    const decision = decideTransition(given, event);
    expect(decision.ok).toBe(false);
    expect(decision.ok ? '' : decision.reason).toMatch(reason);
  });

  it('records the stage that a money-moving event proves', () => {
    expect(
      decideTransition(facts('converted', { stage: 'converted', withdrawCalled: true }), 'transfer-failed'),
    ).toMatchObject({
      to: 'failed',
      stage: 'converted',
    });
    expect(decideTransition(facts('funded', { stage: 'funded' }), 'outcome-unknown')).toMatchObject({
      stage: 'funded',
    });
  });
});

describe('the table', () => {
  it('has exactly one row per state and event', () => {
    expect(PAYOUT_TRANSITIONS.rows).toHaveLength(PAYOUT_STATES.length * PAYOUT_EVENTS.length);
  });

  it('never moves a final payout', () => {
    const final = PAYOUT_TRANSITIONS.rows.filter((row) =>
      ['confirmed', 'cancelled', 'refunded'].includes(row.from),
    );
    expect(final.filter((row) => row.action === 'move')).toEqual([]);
  });

  it.each([
    ['before step 1', facts('held'), 'retry-fund'],
    ['with USD in the wallet', facts('held', { stage: 'funded' }), 'retry-convert'],
    ['with the stablecoin in the wallet', facts('held', { stage: 'converted' }), 'retry-send'],
    ['during a refund', facts('held', { stage: 'converted', refundRequested: true }), 'retry-refund'],
  ] as const)('retries a payout held %s with %s', (_label, given, event) => {
    expect(retryEvent(given)).toBe(event);
  });
});

describe('nextAction', () => {
  it.each([
    ['approved', { kind: 'call', step: 'fund' }],
    ['funded', { kind: 'call', step: 'convert' }],
    ['converted', { kind: 'call', step: 'send' }],
    ['refunding', { kind: 'call', step: 'refund' }],
    ['sent', { kind: 'await', what: 'confirmation' }],
    ['requested', { kind: 'await', what: 'approval' }],
    ['confirmed', { kind: 'stop' }],
    ['held', { kind: 'stop' }],
  ] as const)('in %s: %o', (state, action) => {
    expect(nextAction(state)).toEqual(action);
  });
});

describe('judgeFailure and mayResend', () => {
  it.each([
    ['a 5xx with attempts left', { category: 'transient', reason: 'http-5xx' }, false, true, 'retry'],
    ['a timeout on the last attempt', { category: 'transient', reason: 'timeout' }, false, false, 'unknown'],
    [
      'a business error, first attempt',
      { category: 'permanent', reason: 'business-error' },
      false,
      true,
      'refused',
    ],
    [
      'a business error after a timeout',
      { category: 'permanent', reason: 'business-error' },
      true,
      true,
      'unknown',
    ],
    [
      'insufficient balance',
      { category: 'transient', reason: 'insufficient-balance' },
      false,
      true,
      'refused',
    ],
  ] as const)('%s → %s', (_label, failure, inDoubt, attemptsLeft, verdict) => {
    expect(judgeFailure(failure, { earlierAttemptInDoubt: inDoubt, attemptsLeft })).toBe(verdict);
  });

  it('refuses to resend a step first called 90 days ago or more', () => {
    const day = 86_400_000;
    expect(mayResend(undefined, 100 * day, 90 * day)).toBe(true);
    expect(mayResend(0, 89 * day, 90 * day)).toBe(true);
    expect(mayResend(0, 90 * day, 90 * day)).toBe(false);
  });
});

describe('money amounts', () => {
  it.each([
    ['deducted', '9.95', ['0.2'], { ok: true, amount: '9.95', gas: '0.2', arrives: '9.75' }],
    ['on-top', '9.95', ['0.2'], { ok: true, amount: '9.75', gas: '0.2', arrives: '9.75' }],
    ['deducted', '0.2', ['0.2'], { ok: false }],
  ] as const)('plans a withdrawal with gas %s of %s', (mode, bought, gas, plan) => {
    expect(planWithdrawal(bought, gas, mode, 'USDC')).toMatchObject(plan);
  });

  it('says where the money is at each stage and what the wallet must keep', () => {
    const amounts = {
      amount: '10',
      currency: 'USDC',
      fundedAmount: '10',
      boughtAmount: '9.95',
      sentAmount: '9.95',
      arrivedAmount: '9.75',
    };
    expect(fundsLocation('none', false, amounts)).toEqual({ at: 'infinity', amount: '10', currency: 'USD' });
    expect(fundsLocation('funded', false, amounts)).toEqual({
      at: 'cryptoconnect-wallet',
      amount: '10',
      currency: 'USD',
    });
    expect(fundsLocation('converted', false, amounts)).toEqual({
      at: 'cryptoconnect-wallet',
      amount: '9.95',
      currency: 'USDC',
    });
    expect(fundsLocation('sent', true, amounts).at).toBe('on-hold-at-interlace');
    expect(fundsLocation('confirmed', false, amounts)).toEqual({
      at: 'destination',
      amount: '9.75',
      currency: 'USDC',
    });
    expect(reservation('funded', amounts)).toEqual({ currency: 'USD', amount: '10' });
    expect(reservation('converted', amounts)).toEqual({ currency: 'USDC', amount: '9.95' });
    expect(reservation('sent', amounts)).toEqual({ currency: 'USDC', amount: '9.95' });
    expect(reservation('confirmed', amounts)).toBeNull();
    expect(reservation('refunded', amounts)).toBeNull();
  });

  it('maps transfer statuses case-insensitively; an unknown one is for an operator', () => {
    const names = {
      pending: ['Pending'],
      closed: ['Closed'],
      onHold: ['ON_HOLD'],
      failed: ['Failed', 'FAIL'],
    };
    expect(transferStatusEvent('CLOSED', names)).toBe('confirmed');
    expect(transferStatusEvent('Pending', names)).toBe('still-pending');
    expect(transferStatusEvent('on_hold', names)).toBe('on-hold');
    expect(transferStatusEvent('fail', names)).toBe('transfer-failed');
    expect(transferStatusEvent('Reversed', names)).toBe('status-unknown');
  });

  it('fits the daily limit exactly and not a cent more', () => {
    expect(fitsDailyLimit('90', '10', '100')).toBe(true);
    expect(fitsDailyLimit('90', '10.01', '100')).toBe(false);
  });
});

describe('checkPayoutRequest', () => {
  const controls = {
    maxAmount: '1000',
    currencies: ['USDC', 'USDT'],
    chains: ['ETH', 'TRON', 'SOL'],
    allowedAddresses: [],
  };
  const good = {
    external_id: 'inv-1',
    amount: '10.50',
    currency: 'USDC',
    chain: 'ETH',
    address: `0x${'a'.repeat(40)}`,
  };

  it('accepts a well-formed request', () => {
    expect(checkPayoutRequest(good, controls)).toEqual({
      ok: true,
      request: {
        externalId: 'inv-1',
        amount: '10.50',
        currency: 'USDC',
        chain: 'ETH',
        address: good.address,
      },
    });
  });

  it.each([
    ['a number amount', { amount: 10 }, 'amount'],
    ['three decimals', { amount: '1.001' }, 'amount'],
    ['zero', { amount: '0' }, 'amount'],
    ['over the maximum', { amount: '1000.01' }, 'amount'],
    ['an unsupported currency', { currency: 'BTC' }, 'currency'],
    ['an unknown chain', { chain: 'DOGE' }, 'chain'],
    ['an EVM address that is too short', { address: '0x1234' }, 'address'],
    ['an ETH address on TRON', { chain: 'TRON' }, 'address'],
    ['a TRON address with a 0', { chain: 'TRON', address: `T${'0'.repeat(33)}` }, 'address'],
    ['no external id', { external_id: '' }, 'externalId'],
  ] as const)('refuses %s', (_label, change, field) => {
    expect(checkPayoutRequest({ ...good, ...change }, controls)).toMatchObject({ ok: false, field });
  });

  it('enforces the allow-list, case-insensitively for EVM addresses, per chain when prefixed', () => {
    const allowed = { ...controls, allowedAddresses: [`ETH:0x${'A'.repeat(40)}`] };
    expect(checkPayoutRequest(good, allowed).ok).toBe(true);
    expect(checkPayoutRequest({ ...good, address: `0x${'b'.repeat(40)}` }, allowed)).toMatchObject({
      ok: false,
    });
  });
});

describe('the attack review (issue #11)', () => {
  const base = {
    maxAmount: '1000',
    currencies: ['USDC'],
    chains: ['ETH'],
    allowedAddresses: [] as string[],
  };
  const request = {
    externalId: 'inv-1',
    amount: '10',
    currency: 'USDC',
    chain: 'ETH',
    address: `0x${'a'.repeat(40)}`,
  };

  const refunds: [string, PayoutFacts, boolean][] = [
    ['failed with USD, nothing in doubt', facts('failed', { stage: 'funded' }), true],
    ['failed with the stablecoin, nothing in doubt', facts('failed', { stage: 'converted' }), true],
    ['held, the withdrawal in doubt', facts('held', { stage: 'converted', stepInDoubt: 'send' }), false],
    ['held, the trade in doubt', facts('held', { stage: 'funded', stepInDoubt: 'convert' }), false],
    ['failed, a refund in doubt', facts('failed', { stage: 'funded', stepInDoubt: 'refund' }), false],
  ];
  it.each(refunds)('refund: %s → allowed %s', (_label, given, allowed) => {
    const decision = decideTransition(given, 'refund');
    expect(decision.ok).toBe(allowed);
    if (!decision.ok) expect(decision.reason).toMatch(/in doubt/);
  });

  it.each([
    ['an answer', 'funded', true],
    ['a definitive refusal', 'step-refused', true],
    ['a notification of the transfer', 'transfer-failed', true],
    ['an operator retry', 'retry-send', false],
    ['an unknown outcome', 'outcome-unknown', false],
  ] as const)('%s (%s) settles the doubt: %s', (_label, event, settles) => {
    expect(SETTLES_DOUBT.includes(event)).toBe(settles);
  });

  it('names the guard the store re-checks atomically (cancel, refund)', () => {
    expect(decideTransition(facts('approved'), 'cancel')).toMatchObject({
      ok: true,
      guard: 'no-money-call-yet',
    });
    expect(decideTransition(facts('failed', { stage: 'funded' }), 'refund')).toMatchObject({
      ok: true,
      guard: 'money-in-wallet',
    });
  });

  it.each([
    ['unchanged controls', base, { ok: true }],
    ['a shrunk allow-list', { ...base, allowedAddresses: [`0x${'b'.repeat(40)}`] }, { ok: false }],
    ['a lowered maximum', { ...base, maxAmount: '5' }, { ok: false }],
    ['a withdrawn chain', { ...base, chains: ['TRON'] }, { ok: false }],
  ] as const)('re-checks a stored payout against %s', (_label, controls, verdict) => {
    const result = recheckControls(request, controls);
    expect(result).toMatchObject(verdict);
    if (!result.ok) expect(result.reason).toMatch(/^controls-changed: /);
  });

  it.each([
    ['wallet mode: the named wallet', 'wallet', [{ id: 'w-master', master: true }], 'w-payouts'],
    [
      'account mode: the master wallet',
      'account',
      [{ id: 'w-1' }, { id: 'w-master', master: true }],
      'w-master',
    ],
    ['account mode, no master: the first listed', 'account', [{ id: 'w-1' }, { id: 'w-2' }], 'w-1'],
    ['account mode, nothing listed: the named wallet', 'account', [], 'w-payouts'],
  ] as const)('puts step 1 USD in %s', (_label, mode, wallets, expected) => {
    expect(fundingWallet(mode, 'w-payouts', wallets)).toBe(expected);
  });
});
