import { describe, expect, it } from 'vitest';
import {
  AUTO_APPROVED_BY,
  recheckApproval,
  judgeStepStatus,
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
  EVENT_GUARDS,
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

describe('decideTransition: what it answers', () => {
  it('tells a repeat (ignored) from a refusal', () => {
    expect(decideTransition(facts('cancelled'), 'cancel')).toEqual({
      ok: false,
      ignored: true,
      reason: 'a repeat, or news the payout has moved past',
    });
    expect(decideTransition(facts('requested'), 'refunded')).toEqual({
      ok: false,
      ignored: false,
      reason: 'a requested payout cannot take refunded',
    });
    // A guard's refusal is a refusal, not a repeat.
    expect(decideTransition(facts('approved', { fundingCalled: true }), 'cancel')).toEqual({
      ok: false,
      ignored: false,
      reason: 'step 1 has already been called: refund instead of cancel',
    });
  });

  it('answers the whole move, keeping the stage of an event that proves none', () => {
    expect(decideTransition(facts('requested', { stage: 'none' }), 'approve')).toEqual({
      ok: true,
      from: 'requested',
      to: 'approved',
      stage: 'none',
      event: 'approve',
      why: 'approved: step 1 may run',
      settlesDoubt: false,
    });
    expect(decideTransition(facts('held', { stage: 'converted' }), 'retry-send')).toMatchObject({
      ok: true,
      stage: 'converted',
    });
    expect(
      decideTransition(facts('sent', { stage: 'sent', withdrawCalled: true }), 'confirmed'),
    ).toMatchObject({ ok: true, stage: 'confirmed' });
    expect(decideTransition(facts('approved'), 'funded')).toMatchObject({ ok: true, stage: 'funded' });
  });

  it.each<[string, PayoutFacts, PayoutEvent, string | undefined]>([
    ['a refund of the USD', facts('failed', { stage: 'funded' }), 'refund', undefined],
    ['a refund of the stablecoin', facts('failed', { stage: 'converted' }), 'refund', undefined],
    [
      'a refund once sent',
      facts('failed', { stage: 'sent' }),
      'refund',
      'no money of this payout is known to be in the wallet (stage sent)',
    ],
    [
      'a refund on hold',
      facts('held', { stage: 'converted', onHold: true }),
      'refund',
      'the transfer is ON_HOLD at Interlace: it needs their refund request',
    ],
    [
      'a retry on hold',
      facts('held', { stage: 'funded', onHold: true }),
      'retry-convert',
      'the transfer is ON_HOLD at Interlace: never retried blindly',
    ],
    ['a retry not on hold', facts('held', { stage: 'none' }), 'retry-fund', undefined],
    ['a cancel before any call', facts('requested'), 'cancel', undefined],
    [
      'a FAIL without a send',
      facts('sent', { stage: 'sent' }),
      'transfer-failed',
      'step 5 was never called for this payout',
    ],
    [
      'a FAIL after the send',
      facts('sent', { stage: 'sent', withdrawCalled: true }),
      'transfer-failed',
      undefined,
    ],
    [
      'an unknown status without a send',
      facts('converted', { stage: 'converted' }),
      'status-unknown',
      'step 5 was never called for this payout',
    ],
  ])('guards %s', (_label, given, event, refusal) => {
    const decision = decideTransition(given, event);
    if (refusal === undefined) expect(decision.ok).toBe(true);
    else expect(decision).toEqual({ ok: false, ignored: false, reason: refusal });
  });

  it('guards exactly the events the docs name', () => {
    expect(EVENT_GUARDS).toEqual({
      cancel: 'no-money-call-yet',
      'needs-approval': 'no-money-call-yet',
      confirmed: 'withdraw-called',
      'on-hold': 'withdraw-called',
      'transfer-failed': 'withdraw-called',
      'status-unknown': 'withdraw-called',
      'retry-fund': 'not-on-hold',
      'retry-convert': 'not-on-hold',
      'retry-send': 'not-on-hold',
      'retry-refund': 'not-on-hold',
      refund: 'money-in-wallet',
    });
  });

  it('retries a held payout that was sent by resending step 5', () => {
    expect(retryEvent(facts('held', { stage: 'sent' }))).toBe('retry-send');
    expect(retryEvent(facts('held', { stage: 'none', refundRequested: true }))).toBe('retry-refund');
  });
});

describe('nextAction of the final and waiting states', () => {
  it.each(['cancelled', 'failed', 'refunded'] as const)('%s stops', (state) => {
    expect(nextAction(state)).toEqual({ kind: 'stop' });
  });
});

describe('judgeFailure: the rest of the table', () => {
  it.each([
    [
      'a refusal after an attempt in doubt, none left',
      { category: 'permanent', reason: 'http-4xx' },
      true,
      false,
      'unknown',
    ],
    ['a refusal, none left', { category: 'permanent', reason: 'http-4xx' }, false, false, 'refused'],
    [
      'insufficient balance after a timeout',
      { category: 'transient', reason: 'insufficient-balance' },
      true,
      true,
      'unknown',
    ],
    [
      'a rejected token with attempts left',
      { category: 'authentication', reason: 'token-invalid' },
      false,
      true,
      'retry',
    ],
    [
      'a rejected token, none left',
      { category: 'authentication', reason: 'token-invalid' },
      false,
      false,
      'unknown',
    ],
    [
      'a 5xx after a timeout, attempts left',
      { category: 'transient', reason: 'http-5xx' },
      true,
      true,
      'retry',
    ],
  ] as const)('%s → %s', (_label, failure, inDoubt, attemptsLeft, verdict) => {
    expect(judgeFailure(failure, { earlierAttemptInDoubt: inDoubt, attemptsLeft })).toBe(verdict);
  });

  it('resends one millisecond inside the window, not at its end', () => {
    expect(mayResend(1_000, 1_999, 1_000)).toBe(true);
    expect(mayResend(1_000, 2_000, 1_000)).toBe(false);
  });
});

describe('money amounts: the fallbacks and the rounding', () => {
  it('sums every GAS fee and rounds what is sent on top down to the currency’s decimals', () => {
    expect(planWithdrawal('9.95', ['0.1', '0.1'], 'deducted', 'USDC')).toEqual({
      ok: true,
      amount: '9.95',
      gas: '0.2',
      arrives: '9.75',
    });
    expect(planWithdrawal('9.95', ['0.0000005'], 'on-top', 'USDC')).toEqual({
      ok: true,
      amount: '9.949999',
      gas: '0.0000005',
      arrives: '9.949999',
    });
    expect(planWithdrawal('9.95', [], 'deducted', 'USDC')).toEqual({
      ok: true,
      amount: '9.95',
      gas: '0',
      arrives: '9.95',
    });
  });

  it('refuses a withdrawal that GAS leaves nothing of, and says so', () => {
    expect(planWithdrawal('0.2', ['0.2'], 'on-top', 'USDC')).toEqual({
      ok: false,
      reason: 'GAS 0.2 USDC leaves nothing to send',
    });
    expect(planWithdrawal('0.2', ['0.3'], 'deducted', 'USDT')).toEqual({
      ok: false,
      reason: 'GAS 0.3 USDT leaves nothing to send',
    });
    expect(planWithdrawal('0.2', ['0.1999999'], 'deducted', 'USDC')).toMatchObject({
      ok: true,
      arrives: '0.0000001',
    });
  });

  it('says where the money is when amounts are missing', () => {
    const bare = { amount: '10', currency: 'USDT' };
    expect(fundsLocation('funded', false, bare)).toEqual({
      at: 'cryptoconnect-wallet',
      amount: '10',
      currency: 'USD',
    });
    expect(fundsLocation('converted', false, bare)).toEqual({
      at: 'cryptoconnect-wallet',
      amount: '',
      currency: 'USDT',
    });
    expect(fundsLocation('sent', false, bare)).toEqual({ at: 'in-transit', amount: '', currency: 'USDT' });
    expect(fundsLocation('sent', false, { ...bare, boughtAmount: '9.9' })).toEqual({
      at: 'in-transit',
      amount: '9.9',
      currency: 'USDT',
    });
    expect(fundsLocation('sent', false, { ...bare, boughtAmount: '9.9', sentAmount: '9.8' }).amount).toBe(
      '9.8',
    );
    expect(fundsLocation('confirmed', false, bare)).toEqual({
      at: 'destination',
      amount: '',
      currency: 'USDT',
    });
    expect(fundsLocation('confirmed', false, { ...bare, sentAmount: '9.8' }).amount).toBe('9.8');
    expect(fundsLocation('refunded', false, bare)).toEqual({ at: 'infinity', amount: '', currency: 'USD' });
    expect(fundsLocation('refunded', false, { ...bare, refundedAmount: '9.7' })).toEqual({
      at: 'infinity',
      amount: '9.7',
      currency: 'USD',
    });
  });

  it('reserves what the wallet holds for the payout, falling back when an amount is missing', () => {
    const bare = { amount: '10', currency: 'USDT' };
    expect(reservation('none', bare)).toBeNull();
    expect(reservation('funded', bare)).toEqual({ currency: 'USD', amount: '10' });
    expect(reservation('converted', bare)).toEqual({ currency: 'USDT', amount: '0' });
    expect(reservation('sent', bare)).toEqual({ currency: 'USDT', amount: '0' });
    expect(reservation('sent', { ...bare, boughtAmount: '9.9' })).toEqual({
      currency: 'USDT',
      amount: '9.9',
    });
    expect(reservation('sent', { ...bare, boughtAmount: '9.9', sentAmount: '9.8' })).toEqual({
      currency: 'USDT',
      amount: '9.8',
    });
  });

  it('maps statuses by the configured lists in order: Closed first, an unknown one held', () => {
    const names = { pending: ['PENDING'], closed: ['closed'], onHold: ['hold'], failed: ['failed'] };
    expect(transferStatusEvent('Closed', names)).toBe('confirmed');
    expect(transferStatusEvent('pending', names)).toBe('still-pending');
    expect(transferStatusEvent('HOLD', names)).toBe('on-hold');
    expect(transferStatusEvent('FAILED', names)).toBe('transfer-failed');
    expect(transferStatusEvent('', names)).toBe('status-unknown');
    const overlapping = { pending: ['X'], closed: ['X'], onHold: ['X'], failed: ['X'] };
    expect(transferStatusEvent('x', overlapping)).toBe('confirmed');
    expect(transferStatusEvent('x', { ...overlapping, closed: [] })).toBe('still-pending');
    expect(transferStatusEvent('x', { ...overlapping, closed: [], pending: [] })).toBe('on-hold');
  });

  it('counts the daily limit with used and the new amount together', () => {
    expect(fitsDailyLimit('0', '100', '100')).toBe(true);
    expect(fitsDailyLimit('0.01', '100', '100')).toBe(false);
  });
});

describe('checkPayoutRequest: each control, its edges and its words', () => {
  const controls = {
    maxAmount: '1000',
    currencies: ['USDC', 'USDT'],
    chains: ['ETH', 'TRON', 'SOL', 'DOGE'],
    allowedAddresses: [] as string[],
  };
  const good = {
    external_id: 'inv-1',
    amount: '10.50',
    currency: 'USDC',
    chain: 'ETH',
    address: `0x${'a'.repeat(40)}`,
  };
  const tron = `T${'1'.repeat(33)}`;
  const sol = '1'.repeat(32);
  const check = (change: Record<string, unknown>, more: Partial<typeof controls> = {}) =>
    checkPayoutRequest({ ...good, ...change }, { ...controls, ...more });

  it.each<[string, Record<string, unknown>, boolean]>([
    ['a 128-character external id', { external_id: `a${'b'.repeat(127)}` }, true],
    ['a 129-character external id', { external_id: `a${'b'.repeat(128)}` }, false],
    ['an external id with . _ : -', { external_id: 'a.b_c:d-e' }, true],
    ['an external id starting with -', { external_id: '-a' }, false],
    ['an external id with a space', { external_id: 'a b' }, false],
    ['an external id with a newline after it', { external_id: 'a\n' }, false],
    ['a numeric external id', { external_id: 7 }, false],
    ['the maximum amount', { amount: '1000' }, true],
    ['a 15-digit amount within a larger maximum', { amount: '100000000000000' }, true],
    ['a cent', { amount: '0.01' }, true],
    ['an amount with a leading zero', { amount: '01' }, false],
    ['an amount with a sign', { amount: '+1' }, false],
    ['an amount with trailing text', { amount: '1x' }, false],
    ['an amount with leading text', { amount: 'x1' }, false],
    ['an amount 0.00', { amount: '0.00' }, false],
    ['a currency that is not a string', { currency: ['USDC'] }, false],
    ['USDT', { currency: 'USDT' }, true],
    ['a chain that is not a string', { chain: 1 }, false],
    ['a TRON address on TRON', { chain: 'TRON', address: tron }, true],
    ['a TRON address one character short', { chain: 'TRON', address: tron.slice(1) }, false],
    ['a TRON address that does not start with T', { chain: 'TRON', address: `X${'1'.repeat(33)}` }, false],
    ['a TRON address with trailing text', { chain: 'TRON', address: `${tron}1` }, false],
    ['a SOL address of 32 characters', { chain: 'SOL', address: sol }, true],
    ['a SOL address of 44 characters', { chain: 'SOL', address: '1'.repeat(44) }, true],
    ['a SOL address of 31 characters', { chain: 'SOL', address: '1'.repeat(31) }, false],
    ['a SOL address of 45 characters', { chain: 'SOL', address: '1'.repeat(45) }, false],
    ['a SOL address with an l', { chain: 'SOL', address: `l${'1'.repeat(31)}` }, false],
    ['an EVM address of 41 hex digits', { address: `0x${'a'.repeat(41)}` }, false],
    ['an EVM address in upper case', { address: `0x${'A'.repeat(40)}` }, true],
    ['an EVM address without 0x', { address: `00${'a'.repeat(40)}` }, false],
    ['an EVM address with a non-hex digit', { address: `0x${'g'.repeat(40)}` }, false],
    ['an EVM address with text before it', { address: ` 0x${'a'.repeat(40)}` }, false],
    ['an address that is not a string', { address: 5 }, false],
  ])('%s: ok=%s', (_label, change, ok) => {
    expect(check(change, { maxAmount: '1000000000000000' }).ok).toBe(ok);
  });

  it('words each refusal so the caller can fix the request', () => {
    expect(check({ external_id: '' })).toEqual({
      ok: false,
      field: 'externalId',
      reason: 'external_id must be 1-128 letters, digits, . _ : -',
    });
    expect(check({ amount: '1.001' })).toEqual({
      ok: false,
      field: 'amount',
      reason: 'amount must be a positive USD decimal string with at most 2 decimals',
    });
    expect(check({ amount: '1000.01' })).toEqual({
      ok: false,
      field: 'amount',
      reason: 'amount exceeds PAYOUT_MAX_AMOUNT (1000 USD)',
    });
    expect(check({ currency: 'BTC' })).toEqual({
      ok: false,
      field: 'currency',
      reason: 'currency must be one of USDC, USDT',
    });
    // DOGE is configured but has no known address format: neither accepted nor offered.
    expect(check({ chain: 'DOGE' })).toEqual({
      ok: false,
      field: 'chain',
      reason: 'chain must be one of ETH, TRON, SOL',
    });
    expect(check({ chain: 'TRON' })).toEqual({
      ok: false,
      field: 'address',
      reason: 'address is not a TRON address (T followed by 33 base58 characters)',
    });
    expect(check({}, { allowedAddresses: ['0x1'] })).toEqual({
      ok: false,
      field: 'address',
      reason: 'address is not on PAYOUT_ALLOWED_ADDRESSES',
    });
  });

  it('refuses a chain with a known format that the controls do not list', () => {
    expect(check({ chain: 'BSC' })).toMatchObject({ ok: false, field: 'chain' });
  });

  it.each<[string, string, string, string, boolean]>([
    ['a bare EVM entry, any case', `0x${'A'.repeat(40)}`, 'ETH', `0x${'a'.repeat(40)}`, true],
    ['a prefixed entry in lower case', `eth:0x${'a'.repeat(40)}`, 'ETH', `0x${'a'.repeat(40)}`, true],
    ['an entry for another chain', `TRON:0x${'a'.repeat(40)}`, 'ETH', `0x${'a'.repeat(40)}`, false],
    ['a prefixed entry for another address', `ETH:0x${'b'.repeat(40)}`, 'ETH', `0x${'a'.repeat(40)}`, false],
    ['a TRON entry in the same case', `TRON:${tron}`, 'TRON', tron, true],
    ['a TRON entry in another case', `TRON:${tron.toLowerCase()}`, 'TRON', tron, false],
    ['a bare TRON entry in another case', tron.toLowerCase(), 'TRON', tron, false],
    ['a bare TRON entry', tron, 'TRON', tron, true],
  ])('allow-list: %s → %s', (_label, entry, chain, address, ok) => {
    expect(check({ chain, address }, { allowedAddresses: ['unrelated', entry] }).ok).toBe(ok);
  });
});

describe('the address format of every payout chain', () => {
  const controls = {
    maxAmount: '1000',
    currencies: ['USDC'],
    chains: ['ETH', 'ARB', 'BSC', 'POLYGON', 'BASE', 'OP', 'ETH_SEPOLIA', 'TRON', 'SOL'],
    allowedAddresses: [] as string[],
  };
  const request = (chain: string, address: string) => ({
    external_id: 'inv-1',
    amount: '1',
    currency: 'USDC',
    chain,
    address,
  });
  const evm = `0x${'a'.repeat(40)}`;
  const tron = `T${'1'.repeat(33)}`;

  it.each(['ETH', 'ARB', 'BSC', 'POLYGON', 'BASE', 'OP', 'ETH_SEPOLIA'])(
    '%s takes an EVM address',
    (chain) => {
      expect(checkPayoutRequest(request(chain, evm), controls).ok).toBe(true);
      expect(checkPayoutRequest(request(chain, tron), controls)).toEqual({
        ok: false,
        field: 'address',
        reason: `address is not a ${chain} address (0x followed by 40 hex digits)`,
      });
    },
  );

  it('anchors the TRON format at both ends', () => {
    expect(checkPayoutRequest(request('TRON', `a${tron}`), controls).ok).toBe(false);
    expect(checkPayoutRequest(request('TRON', `${tron}a`), controls).ok).toBe(false);
  });

  it('describes the SOL format when it refuses an address', () => {
    expect(checkPayoutRequest(request('SOL', evm), controls)).toEqual({
      ok: false,
      field: 'address',
      reason: 'address is not a SOL address (32 to 44 base58 characters)',
    });
  });
});

describe('what an answered step 1, trade or refund proves (judgeStepStatus, allow-lists)', () => {
  const transfer = { success: ['CLOSED'], failed: ['FAIL', 'FAILED', 'REJECTED'] };
  const trade = { success: ['COMPLETE'], failed: ['FAIL', 'FAILED', 'REJECTED'] };
  it.each([
    // [status, rules, verdict]
    ['CLOSED', transfer, 'done'],
    ['closed', transfer, 'done'],
    ['FAIL', transfer, 'refused'],
    ['Failed', transfer, 'refused'],
    ['REJECTED', transfer, 'refused'],
    // Not final, or nobody listed it: the money may have moved.
    ['PENDING', transfer, 'unknown'],
    ['PROCESSING', transfer, 'unknown'],
    ['SOMETHING_NEW', transfer, 'unknown'],
    ['', transfer, 'unknown'],
    [undefined, transfer, 'unknown'],
    [7, transfer, 'unknown'],
    ['COMPLETE', transfer, 'unknown'],
    ['COMPLETE', trade, 'done'],
    ['FAILED', trade, 'refused'],
    ['PROCESSING', trade, 'unknown'],
    ['CLOSED', trade, 'unknown'],
  ] as const)('%j → %s', (status, rules, kind) => {
    expect(judgeStepStatus(status, rules as typeof transfer).kind).toBe(kind);
  });
});

describe('which events settle a step in doubt', () => {
  // The events that tell what a step's call did; an approval, a cancel, a retry or a timeout tell nothing.
  const settling = [
    'funded',
    'converted',
    'sent',
    'confirmed',
    'on-hold',
    'transfer-failed',
    'status-unknown',
    'step-refused',
    'refunded',
  ];
  const moves = PAYOUT_TRANSITIONS.rows.filter((row) => row.action === 'move');

  it.each(moves.map((row) => [row.from, row.event] as const))('%s × %s', (from, event) => {
    const given = facts(from, { stage: 'funded', withdrawCalled: true });
    const decision = decideTransition(given, event);
    expect(decision).toMatchObject({ ok: true, settlesDoubt: settling.includes(event) });
  });

  it('names the step in doubt when it refuses a refund', () => {
    expect(decideTransition(facts('failed', { stage: 'funded', stepInDoubt: 'convert' }), 'refund')).toEqual({
      ok: false,
      ignored: false,
      reason:
        'step convert is in doubt (sent without an answer): it may have moved the money; `payouts retry` ' +
        'resends the same request, whose answer tells; or check at Interlace',
    });
  });
});

describe('news about one step settles only the doubt of that step (attack review round 2, item 6)', () => {
  const sent = { stage: 'converted' as const, withdrawCalled: true };
  it.each<[string, PayoutFacts, PayoutEvent, 'moves, settles' | 'moves, keeps' | 'ignored']>([
    [
      'a redelivered step-5 Failed, the refund in doubt',
      facts('held', { ...sent, refundRequested: true, stepInDoubt: 'refund' }),
      'transfer-failed',
      'ignored',
    ],
    [
      'a step-5 Closed, the refund in doubt',
      facts('held', { ...sent, refundRequested: true, stepInDoubt: 'refund' }),
      'confirmed',
      'ignored',
    ],
    [
      'a step-5 Failed, step 5 in doubt',
      facts('held', { ...sent, stepInDoubt: 'send' }),
      'transfer-failed',
      'moves, settles',
    ],
    [
      'a step-5 Closed, step 5 in doubt',
      facts('converted', { ...sent, stepInDoubt: 'send' }),
      'confirmed',
      'moves, settles',
    ],
    [
      'the refund answered, the refund in doubt',
      facts('refunding', { stage: 'funded', stepInDoubt: 'refund' }),
      'refunded',
      'moves, settles',
    ],
    [
      'step 1 answered, step 1 in doubt',
      facts('approved', { stepInDoubt: 'fund' }),
      'funded',
      'moves, settles',
    ],
    [
      'a refusal of the running step',
      facts('refunding', { stage: 'funded', stepInDoubt: 'refund' }),
      'step-refused',
      'moves, settles',
    ],
    [
      'a step-5 Failed, nothing in doubt',
      facts('sent', { ...sent, stage: 'sent' }),
      'transfer-failed',
      'moves, settles',
    ],
  ])('%s: %s × %s → %s', (_label, given, event, expected) => {
    const decision = decideTransition(given, event);
    if (expected === 'ignored') {
      expect(decision).toMatchObject({ ok: false, ignored: true });
      return;
    }
    expect(decision).toMatchObject({ ok: true, settlesDoubt: expected === 'moves, settles' });
  });
});

describe("the worker's re-check of approval and the daily limit before step 1 (attack review round 2, item 3)", () => {
  const rules = (requireApproval: boolean, dailyLimit = '100') => ({ requireApproval, dailyLimit });
  it.each([
    // [approvedBy, requireApproval, used through its creation, verdict]
    [AUTO_APPROVED_BY, true, '10', 'needs-approval'],
    [undefined, true, '10', 'needs-approval'],
    ['alice', true, '10', 'ok'],
    [AUTO_APPROVED_BY, false, '10', 'ok'],
    [AUTO_APPROVED_BY, false, '100', 'ok'],
    [AUTO_APPROVED_BY, false, '100.01', 'step-refused'],
    ['alice', true, '150', 'step-refused'],
  ] as const)(
    'approved by %s, approval required %s, %s USD used → %s',
    (approvedBy, required, used, verdict) => {
      const result = recheckApproval({ amount: '10', approvedBy }, rules(required), used);
      expect(result.ok ? 'ok' : result.event).toBe(verdict);
    },
  );

  it('sends an auto-approved payout back to requested before step 1 is ever called', () => {
    expect(decideTransition(facts('approved'), 'needs-approval')).toMatchObject({
      ok: true,
      to: 'requested',
    });
    expect(decideTransition(facts('approved', { fundingCalled: true }), 'needs-approval')).toMatchObject({
      ok: false,
    });
  });
});

describe('judgeStepStatus: only a string status can prove anything', () => {
  it('never takes a number, boolean or null for a listed status, and quotes at most 60 characters', () => {
    const rules = { success: ['7', 'true'], failed: ['null', '8'] };
    expect(judgeStepStatus(7, rules)).toEqual({ kind: 'unknown', status: '7' });
    expect(judgeStepStatus(true, rules)).toEqual({ kind: 'unknown', status: 'true' });
    expect(judgeStepStatus(null, rules)).toEqual({ kind: 'unknown', status: 'null' });
    expect(judgeStepStatus(8, rules)).toEqual({ kind: 'unknown', status: '8' });
    expect(judgeStepStatus('S'.repeat(61), rules)).toEqual({ kind: 'unknown', status: 'S'.repeat(60) });
  });
});

describe('news about one step while another is in doubt', () => {
  it.each([
    ['funded', 'approved', 'fund'],
    ['converted', 'funded', 'convert'],
    ['sent', 'converted', 'send'],
    ['confirmed', 'sent', 'send'],
    ['on-hold', 'sent', 'send'],
    ['transfer-failed', 'sent', 'send'],
    ['status-unknown', 'sent', 'send'],
    ['refunded', 'refunding', 'refund'],
  ] as const)('%s (from %s) tells about step %s only', (event, from, step) => {
    const other = step === 'refund' ? 'send' : 'refund';
    const given = (stepInDoubt: 'fund' | 'convert' | 'send' | 'refund') =>
      facts(from, { stage: 'funded', withdrawCalled: true, stepInDoubt });
    expect(decideTransition(given(other), event)).toEqual({
      ok: false,
      ignored: true,
      reason: `news about step ${step} while step ${other} is in doubt: it tells nothing about that step`,
    });
    expect(decideTransition(given(step), event)).toMatchObject({ ok: true, settlesDoubt: true });
  });
});
