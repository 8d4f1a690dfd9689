import { describe, expect, it } from 'vitest';
import {
  payoutMoneyCheck,
  afterAccept,
  afterFinalFailure,
  claimStatusDecision,
  decideCredited,
  decideFailure,
  DEPOSIT_STATES,
  DEPOSIT_TRANSITIONS,
  forgetsInfinityWallet,
  isFinalFailure,
  judgeTransferStatus,
  MERCHANT_EVENT_RULES,
  merchantEventsFor,
  mayCallTransfer,
  DEFAULT_TRANSFER_WINDOW_MS,
  notificationEvent,
  recheckBeforeTransfer,
  recheckOwnership,
  unownedWalletEvent,
  type DepositEventName,
  type DepositStateOrNew,
  type FailureFacts,
  CLAIM_STATUS_RULE,
  CLAIM_STATUS_RULES,
  DEFAULT_UNCONFIRMED_STATUSES,
  depositRows,
  describeDepositEvent,
  operatorApproved,
  REQUEUEABLE_STATES,
} from '../../src/policy/deposit-policy.js';
import { OPERATOR_SWEEP_STATUS } from '../../src/policy/reconcile-policy.js';
import { defineTransitionTable, encodeEvent, transition } from '../../src/policy/transition-table.js';

const rules = { currencies: ['USDC', 'USDT'], minAmount: '1', maxAmount: '1000' };

describe('what a credited deposit is', () => {
  it.each([
    [{ currency: 'USDC', amount: '1' }, 'sweep'],
    [{ currency: 'USDC', amount: '1000' }, 'sweep'],
    [{ currency: 'USDC', amount: '0.999999' }, 'dust'],
    [{ currency: 'USDC', amount: '1000.000001' }, 'over-limit'],
    [{ currency: 'BTC', amount: '5' }, 'unsupported'],
    [{ currency: 'BTC', amount: '0.1' }, 'unsupported'],
  ])('%j is %s', (deposit, kind) => {
    expect(decideCredited(deposit, rules).kind).toBe(kind);
  });

  it('has no upper bound when SWEEP_MAX_AMOUNT is none', () => {
    const huge = { currency: 'USDC', amount: `1${'0'.repeat(29)}` };
    expect(decideCredited(huge, { ...rules, maxAmount: undefined })).toEqual({ kind: 'sweep' });
  });
});

describe('the event a notification brings', () => {
  it.each([
    ['PENDING', { kind: 'sweep' } as const, 'seen-pending'],
    ['CLOSED', { kind: 'sweep' } as const, 'credited'],
    ['CLOSED', { kind: 'dust', reason: 'r' } as const, 'credited-dust'],
    ['CLOSED', { kind: 'unsupported', reason: 'r' } as const, 'credited-unsupported'],
    ['CLOSED', { kind: 'over-limit', reason: 'r' } as const, 'credited-over-limit'],
    ['ON_HOLD', { kind: 'sweep' } as const, 'put-on-hold'],
    ['FAIL', { kind: 'sweep' } as const, 'upstream-failed'],
    ['closed', { kind: 'sweep' } as const, 'unknown-status'],
    ['REFUNDED', { kind: 'sweep' } as const, 'unknown-status'],
  ])('%s (%j) is %s', (status, credit, event) => {
    expect(notificationEvent(status, credit).event).toBe(event);
  });

  it('names an unknown status in the reason the record keeps', () => {
    expect(notificationEvent('REFUNDED', { kind: 'sweep' }).reason).toContain('"REFUNDED"');
  });
});

describe('the deposit transition table', () => {
  it('has exactly one row for every state and event', () => {
    const events = new Set(DEPOSIT_TRANSITIONS.rows.map((row) => row.event));
    expect(DEPOSIT_TRANSITIONS.rows).toHaveLength(DEPOSIT_STATES.length * events.size);
  });

  it('refuses an incomplete or ambiguous table', () => {
    const base = { name: 't', states: ['a', 'b'] as const, events: ['go'] as const };
    const row = (from: 'a' | 'b') => ({ from, event: 'go' as const, to: 'b' as const, action: 'x', why: '' });
    expect(() => defineTransitionTable({ ...base, rows: [row('a')] })).toThrow('no row for b × go');
    expect(() => defineTransitionTable({ ...base, rows: [row('a'), row('a'), row('b')] })).toThrow(
      'two rows',
    );
  });

  // The rows a money reviewer reads first: where money may move, and what stops it.
  it.each<[DepositStateOrNew, DepositEventName, DepositStateOrNew, string]>([
    ['new', 'credited', 'queued', 'create'],
    ['new', 'put-on-hold', 'held', 'create'],
    ['new', 'unknown-status', 'held', 'create'],
    ['new', 'credited-over-limit', 'held', 'create'],
    ['pending', 'credited', 'queued', 'replace'],
    ['queued', 'seen-pending', 'queued', 'ignore'],
    ['queued', 'put-on-hold', 'held', 'move'],
    ['queued', 'upstream-failed', 'failed', 'move'],
    ['queued', 'unknown-status', 'held', 'move'],
    ['sweeping', 'put-on-hold', 'held', 'move'],
    ['dead', 'put-on-hold', 'held', 'move'],
    ['dust', 'upstream-failed', 'failed', 'move'],
    ['held', 'credited', 'held', 'compare'],
    ['held', 'upstream-failed', 'failed', 'move'],
    ['failed', 'credited', 'failed', 'compare'],
    ['swept', 'put-on-hold', 'swept', 'ignore'],
    ['swept', 'credited', 'swept', 'compare'],
    ['queued', 'claim', 'sweeping', 'claim'],
    ['sweeping', 'claim', 'sweeping', 'claim'],
    ['held', 'claim', 'held', 'refuse'],
    ['swept', 'claim', 'swept', 'refuse'],
    ['sweeping', 'recheck-unsupported', 'unsupported', 'move'],
    ['sweeping', 'recheck-over-limit', 'held', 'move'],
    ['held', 'transfer-confirmed', 'swept', 'mark-swept'],
    ['swept', 'transfer-confirmed', 'swept', 'ignore'],
    ['new', 'transfer-confirmed', 'new', 'remember'],
    ['sweeping', 'sweep-dead', 'dead', 'bury'],
    ['held', 'sweep-dead', 'held', 'refuse'],
    ['swept', 'sweep-dead', 'swept', 'refuse'],
    ['dead', 'operator-requeue', 'queued', 'requeue'],
    ['held', 'operator-requeue', 'queued', 'requeue'],
    ['swept', 'operator-requeue', 'swept', 'refuse'],
    ['sweeping', 'operator-requeue', 'sweeping', 'refuse'],
  ])('%s × %s → %s (%s)', (from, event, to, action) => {
    expect(transition(DEPOSIT_TRANSITIONS, from, event)).toMatchObject({ to, action });
  });

  it('never lets a swept deposit leave swept, whatever arrives', () => {
    const leaving = DEPOSIT_TRANSITIONS.rows.filter((row) => row.from === 'swept' && row.to !== 'swept');
    expect(leaving).toEqual([]);
  });

  it('only claims queued or sweeping deposits', () => {
    const claims = DEPOSIT_TRANSITIONS.rows.filter((row) => row.action === 'claim').map((row) => row.from);
    expect(claims.sort()).toEqual(['queued', 'sweeping']);
  });

  it('encodes an event for the scripts as from=to/action pairs', () => {
    expect(encodeEvent(DEPOSIT_TRANSITIONS, 'sweep-dead')).toContain('queued=dead/bury');
    expect(encodeEvent(DEPOSIT_TRANSITIONS, 'sweep-dead')).toContain('swept=swept/refuse');
  });
});

describe('the claim re-reads the latest upstream status', () => {
  it.each([
    [{ upstreamStatus: 'CLOSED' }, { kind: 'claim' }],
    [{ upstreamStatus: 'ON_HOLD' }, { kind: 'stop', state: 'held' }],
    [{ upstreamStatus: 'FAIL' }, { kind: 'stop', state: 'failed' }],
    [{ upstreamStatus: 'WHATEVER' }, { kind: 'stop', state: 'held' }],
    [{ upstreamStatus: 'constructor' }, { kind: 'stop', state: 'held' }],
    [{}, { kind: 'stop', state: 'held' }],
    [{ upstreamStatus: 'ON_HOLD', statusAt: '100', replayedAt: '200' }, { kind: 'claim' }],
    [
      { upstreamStatus: 'ON_HOLD', statusAt: '300', replayedAt: '200' },
      { kind: 'stop', state: 'held' },
    ],
  ])('%j → %j', (record, decision) => {
    expect(claimStatusDecision(record)).toEqual(decision);
  });
});

describe('the re-check right before the transfer', () => {
  it.each([
    [{ currency: 'USDC', amount: '10' }, 'sweep'],
    [{ currency: 'BTC', amount: '10' }, 'recheck-unsupported'],
    [{ currency: 'USDC', amount: '0.5' }, 'recheck-dust'],
    [{ currency: 'USDC', amount: '5000' }, 'recheck-over-limit'],
    [{ currency: 'BTC', amount: '10', statusAt: '1', replayedAt: '2' }, 'sweep'],
  ])('%j → %s', (record, outcome) => {
    const decision = recheckBeforeTransfer(record, rules);
    expect(decision.kind === 'sweep' ? 'sweep' : decision.event).toBe(outcome);
  });
});

describe('the unknown-wallet rule re-checked right before the transfer', () => {
  it.each([
    [{ walletOwnership: 'unowned' }, 'hold', 'recheck-unowned'],
    [{ walletOwnership: 'unowned' }, 'sweep', 'sweep'],
    [{ walletOwnership: 'owned' }, 'hold', 'sweep'],
    // Recorded before attribution existed, or an operator's reconcile sweep: no ownership to judge.
    [{}, 'hold', 'sweep'],
    // An operator released it by name (sweep enqueue) after its latest status: their decision stands.
    [{ walletOwnership: 'unowned', statusAt: '1', approvedAt: '2' }, 'hold', 'sweep'],
    [{ walletOwnership: 'unowned', statusAt: '3', approvedAt: '2' }, 'hold', 'recheck-unowned'],
    // A bulk dlq replay only stamps replayedAt: it retries a failed sweep, it does not release unowned money.
    [{ walletOwnership: 'unowned', statusAt: '1', replayedAt: '2' }, 'hold', 'recheck-unowned'],
  ] as const)('%j under %s → %s', (record, rule, outcome) => {
    const decision = recheckOwnership(record, rule);
    expect(decision.kind === 'sweep' ? 'sweep' : decision.event).toBe(outcome);
  });
});

describe('what a transfer answer means', () => {
  const success = { successStatuses: ['CLOSED'] };
  it.each([
    ['CLOSED', 'swept'],
    ['closed', 'swept'],
    ['Closed', 'swept'],
    ['PENDING', 'unconfirmed'],
    ['processing', 'unconfirmed'],
    ['FAIL', 'rejected'],
    ['FAILED', 'rejected'],
    ['Fail', 'rejected'],
    ['REJECTED', 'rejected'],
    ['SUCCESS', 'rejected'],
    ['', 'rejected'],
    [undefined, 'rejected'],
  ])('%j is %s', (status, kind) => {
    expect(judgeTransferStatus(status, success).kind).toBe(kind);
  });

  it('takes the allow-list from the configuration', () => {
    expect(judgeTransferStatus('SUCCESS', { successStatuses: ['CLOSED', 'SUCCESS'] }).kind).toBe('swept');
  });
});

describe('what a failure means', () => {
  const limits = { insufficientBalanceRetries: 2, transferLookups: 3, defaultPauseMs: 500 };
  const facts = (patch: Partial<FailureFacts>): FailureFacts => ({
    category: 'transient',
    reason: 'http-5xx',
    message: 'HTTP 500',
    attempt: 1,
    maxAttempts: 5,
    sameReason: 1,
    ...patch,
  });
  it.each<[string, Partial<FailureFacts>, ReturnType<typeof decideFailure>]>([
    ['a 5xx retries', {}, { kind: 'retry' }],
    [
      'a 5xx on the last attempt dies',
      { attempt: 5 },
      { kind: 'dead', reason: 'retries-exhausted: http-5xx: HTTP 500' },
    ],
    [
      'a 429 pauses for Retry-After',
      { reason: 'rate-limited', retryAfterMs: 1200 },
      { kind: 'pause', waitMs: 1200 },
    ],
    [
      'a 429 without Retry-After pauses the default',
      { reason: 'rate-limited' },
      { kind: 'pause', waitMs: 500 },
    ],
    [
      'a 429 on the last attempt still pauses',
      { reason: 'rate-limited', attempt: 5 },
      { kind: 'pause', waitMs: 500 },
    ],
    [
      'a permanent error dies at once',
      { category: 'permanent', reason: 'business-error', message: 'code 010021' },
      { kind: 'dead', reason: 'business-error: code 010021' },
    ],
    ['insufficient balance retries', { reason: 'insufficient-balance', sameReason: 2 }, { kind: 'retry' }],
    [
      'insufficient balance dies past its retries',
      { reason: 'insufficient-balance', sameReason: 3 },
      { kind: 'dead', reason: 'insufficient-balance: still insufficient after 2 retries' },
    ],
    [
      'an unconfirmed transfer is looked up again',
      { reason: 'transfer-unconfirmed', message: 'status PENDING', sameReason: 3 },
      { kind: 'retry' },
    ],
    [
      'an unconfirmed transfer dies past its look-ups',
      { reason: 'transfer-unconfirmed', message: 'status PENDING', sameReason: 4 },
      { kind: 'dead', reason: 'transfer-unconfirmed: status PENDING (still not final after 3 look-ups)' },
    ],
    [
      'a rejected status dies at once',
      { category: 'permanent', reason: 'transfer-failed', message: 'status "FAILED"' },
      { kind: 'dead', reason: 'transfer-failed: status "FAILED"' },
    ],
  ])('%s', (_name, patch, decision) => {
    expect(decideFailure(facts(patch), limits)).toEqual(decision);
  });

  it.each([
    [{ errorName: 'UnrecoverableError', attemptsMade: 1, maxAttempts: 10 }, true],
    [{ errorName: 'InterlaceError', attemptsMade: 10, maxAttempts: 10 }, true],
    [{ errorName: 'InterlaceError', attemptsMade: 3, maxAttempts: 10 }, false],
    // A message that merely mentions stalling is not final: only BullMQ's UnrecoverableError is.
    [{ errorName: 'Error', attemptsMade: 1, maxAttempts: 10 }, false],
  ])('a failure %j is final: %s', (facts, final) => {
    expect(isFinalFailure(facts)).toBe(final);
  });

  it.each([
    ['dead', 'write-letter'],
    ['queued', 'bury'],
    ['sweeping', 'bury'],
    ['held', 'none'],
    ['swept', 'none'],
    [undefined, 'none'],
  ] as const)('after a final failure a %s deposit needs: %s', (state, todo) => {
    expect(afterFinalFailure(state)).toBe(todo);
  });

  it.each([
    [{ category: 'permanent', reason: 'business-error', endpoint: 'POST /business/transfer/internal' }, true],
    [{ category: 'permanent', reason: 'http-4xx', endpoint: 'POST /business/transfer/internal' }, true],
    [
      { category: 'permanent', reason: 'transfer-failed', endpoint: 'POST /business/transfer/internal' },
      false,
    ],
    [{ category: 'transient', reason: 'http-5xx', endpoint: 'POST /business/transfer/internal' }, false],
    [{ category: 'permanent', reason: 'business-error', endpoint: 'GET /cards/wallets' }, false],
  ] as const)('%j forgets the cached Infinity wallet id: %s', (failure, forget) => {
    expect(forgetsInfinityWallet(failure)).toBe(forget);
  });
});

describe('what the receiver does after the ledger took a notification', () => {
  it.each([
    [
      { state: 'queued', change: 'created' },
      { enqueue: true, alert: undefined },
    ],
    [
      { state: 'queued', change: 'unchanged' },
      { enqueue: true, alert: undefined },
    ],
    [
      { state: 'held', change: 'transitioned' },
      { enqueue: false, alert: 'held' },
    ],
    [
      { state: 'held', change: 'unchanged' },
      { enqueue: false, alert: undefined },
    ],
    [
      { state: 'failed', change: 'created' },
      { enqueue: false, alert: 'failed' },
    ],
    [
      { state: 'swept', change: 'unchanged' },
      { enqueue: false, alert: undefined },
    ],
  ] as const)('%j → %j', (outcome, then) => {
    expect(afterAccept(outcome)).toEqual(then);
  });
});

describe('a deposit into a wallet the service did not create', () => {
  const credited = notificationEvent('CLOSED', { kind: 'sweep' });
  it.each([
    ['hold', credited, 'credited-unowned'],
    ['sweep', credited, 'credited'],
    ['hold', notificationEvent('PENDING', { kind: 'sweep' }), 'seen-pending'],
    ['hold', notificationEvent('CLOSED', { kind: 'dust', reason: 'small' }), 'credited-dust'],
    ['hold', notificationEvent('ON_HOLD', { kind: 'sweep' }), 'put-on-hold'],
    ['hold', notificationEvent('FAIL', { kind: 'sweep' }), 'upstream-failed'],
  ] as const)('under %s, %o becomes %s', (rule, event, expected) => {
    expect(unownedWalletEvent(event, rule, 'w-1').event).toBe(expected);
  });

  it('says why it is held, naming the wallet and the setting', () => {
    expect(unownedWalletEvent(credited, 'hold', 'w-1').reason).toMatch(
      /wallet w-1 .*UNKNOWN_WALLET_DEPOSITS=hold/,
    );
  });

  it('is held on entry and from pending, compared afterwards', () => {
    const to = (from: DepositStateOrNew) =>
      DEPOSIT_TRANSITIONS.rows.find((row) => row.from === from && row.event === 'credited-unowned')?.to;
    expect(to('new')).toBe('held');
    expect(to('pending')).toBe('held');
    expect(to('queued')).toBe('queued');
    expect(to('swept')).toBe('swept');
  });
});

describe('the merchant events of a state change', () => {
  it.each([
    ['new', 'pending', ['deposit.received']],
    ['new', 'queued', ['deposit.received']],
    ['new', 'dust', ['deposit.received']],
    ['new', 'held', ['deposit.received', 'deposit.held']],
    ['new', 'failed', ['deposit.received', 'deposit.failed']],
    ['pending', 'queued', []],
    ['pending', 'held', ['deposit.held']],
    ['queued', 'sweeping', []],
    ['sweeping', 'swept', ['deposit.swept']],
    ['sweeping', 'dead', ['deposit.failed']],
    ['queued', 'failed', ['deposit.failed']],
    ['held', 'queued', []],
    ['held', 'held', []],
    ['swept', 'swept', []],
  ] as const)('%s → %s emits %o', (from, to, expected) => {
    expect(merchantEventsFor(from, to)).toEqual(expected);
  });

  it('is encoded for the scripts as the same rule', () => {
    expect(MERCHANT_EVENT_RULES).toBe(
      'new=deposit.received;swept=deposit.swept,held=deposit.held,failed=deposit.failed,dead=deposit.failed',
    );
  });
});

describe('mayCallTransfer: the idempotency window', () => {
  const day = 86_400_000;
  it.each([
    ['never called', undefined, 1_000 * day, true],
    ['first called 84 days ago', 0, 84 * day, true],
    ['first called 85 days ago', 0, 85 * day, false],
    ['first called a year ago', 0, 365 * day, false],
  ] as const)('%s → %s', (_label, firstCalledAt, now, allowed) => {
    expect(mayCallTransfer(firstCalledAt, now, DEFAULT_TRANSFER_WINDOW_MS)).toBe(allowed);
  });

  it('stays safely inside the 90 days Interlace keeps idempotency records', () => {
    expect(DEFAULT_TRANSFER_WINDOW_MS).toBeLessThan(90 * day);
  });
});

// The exact words below are what an operator reads on the record, the dead letter and the alert.
describe('the reasons the policy gives', () => {
  it('says why a credited deposit is not swept', () => {
    expect(decideCredited({ currency: 'BTC', amount: '5' }, rules)).toEqual({
      kind: 'unsupported',
      reason: 'currency BTC is not in SWEEP_CURRENCIES',
    });
    expect(decideCredited({ currency: 'USDC', amount: '0.5' }, rules)).toEqual({
      kind: 'dust',
      reason: 'amount 0.5 is below SWEEP_MIN_AMOUNT 1',
    });
    expect(decideCredited({ currency: 'USDC', amount: '1001' }, rules)).toEqual({
      kind: 'over-limit',
      reason: 'amount 1001 is above SWEEP_MAX_AMOUNT 1000: held for an operator',
    });
  });

  it('keeps the reason of each notification event', () => {
    expect(notificationEvent('PENDING', { kind: 'sweep' })).toEqual({ event: 'seen-pending', reason: '' });
    expect(notificationEvent('CLOSED', { kind: 'sweep' })).toEqual({ event: 'credited', reason: '' });
    expect(notificationEvent('CLOSED', { kind: 'dust', reason: 'too small' })).toEqual({
      event: 'credited-dust',
      reason: 'too small',
    });
    expect(notificationEvent('ON_HOLD', { kind: 'sweep' })).toEqual({
      event: 'put-on-hold',
      reason: 'ON_HOLD: compliance hold at Interlace',
    });
    expect(notificationEvent('FAIL', { kind: 'sweep' })).toEqual({
      event: 'upstream-failed',
      reason: 'FAIL: Interlace reports the deposit failed',
    });
    expect(notificationEvent('REFUNDED', { kind: 'sweep' })).toEqual({
      event: 'unknown-status',
      reason: 'unknown upstream status "REFUNDED": kept, never swept',
    });
  });

  it('quotes at most 40 characters of an unknown status', () => {
    const status = 'S'.repeat(41);
    expect(notificationEvent(status, { kind: 'sweep' }).reason).toBe(
      `unknown upstream status "${'S'.repeat(40)}": kept, never swept`,
    );
  });

  it('says the re-check stopped the transfer, and why', () => {
    expect(recheckBeforeTransfer({ currency: 'USDC', amount: '0.5' }, rules)).toEqual({
      kind: 'stop',
      event: 'recheck-dust',
      reason: 're-checked before the transfer: amount 0.5 is below SWEEP_MIN_AMOUNT 1',
    });
    expect(recheckBeforeTransfer({ currency: 'USDC', amount: '10' }, rules)).toEqual({ kind: 'sweep' });
  });
});

describe('an operator’s requeue outranks the upstream status it came after', () => {
  it.each([
    [{}, false],
    [{ statusAt: '5' }, false],
    [{ replayedAt: '5' }, true],
    [{ replayedAt: '0' }, true],
    [{ statusAt: '5', replayedAt: '5' }, true],
    [{ statusAt: '6', replayedAt: '5' }, false],
    [{ statusAt: '4', replayedAt: '5' }, true],
  ])('%j approved: %s', (record, approved) => {
    expect(operatorApproved(record)).toBe(approved);
  });

  it('lets a requeue after the status through the re-check too', () => {
    expect(
      recheckBeforeTransfer({ currency: 'BTC', amount: '10', statusAt: '2', replayedAt: '2' }, rules),
    ).toEqual({ kind: 'sweep' });
    expect(
      recheckBeforeTransfer({ currency: 'BTC', amount: '10', statusAt: '3', replayedAt: '2' }, rules).kind,
    ).toBe('stop');
  });

  it("claims an operator's reconcile sweep and stops a FAIL one as failed, a requeued FAIL one not", () => {
    expect(claimStatusDecision({ upstreamStatus: OPERATOR_SWEEP_STATUS })).toEqual({ kind: 'claim' });
    expect(claimStatusDecision({ upstreamStatus: 'BACKFILL' })).toEqual({ kind: 'stop', state: 'held' });
    expect(claimStatusDecision({ upstreamStatus: 'FAIL', statusAt: '9', replayedAt: '9' })).toEqual({
      kind: 'claim',
    });
    expect(claimStatusDecision({ upstreamStatus: '*' })).toEqual({ kind: 'stop', state: 'held' });
  });

  it('gives the claim script the same rule as one string', () => {
    expect(CLAIM_STATUS_RULES).toBe(`CLOSED=claim,${OPERATOR_SWEEP_STATUS}=claim,FAIL=failed,*=held`);
    expect(Object.isFrozen(CLAIM_STATUS_RULE)).toBe(true);
  });
});

describe('what a transfer answer means, with the configured lists', () => {
  it('keeps the status as Interlace said it', () => {
    expect(judgeTransferStatus('Processing', { successStatuses: ['CLOSED'] })).toEqual({
      kind: 'unconfirmed',
      status: 'Processing',
    });
    expect(judgeTransferStatus('Failed', { successStatuses: ['CLOSED'] })).toEqual({
      kind: 'rejected',
      status: 'Failed',
    });
    expect(judgeTransferStatus(7, { successStatuses: ['CLOSED'] })).toEqual({
      kind: 'rejected',
      status: '7',
    });
    expect(judgeTransferStatus('closed', { successStatuses: ['Closed'] })).toEqual({ kind: 'swept' });
  });

  it('takes the not-final list from the configuration, case-insensitively', () => {
    const custom = { successStatuses: ['CLOSED'], unconfirmedStatuses: ['Queued'] };
    expect(judgeTransferStatus('QUEUED', custom).kind).toBe('unconfirmed');
    expect(judgeTransferStatus('PENDING', custom).kind).toBe('rejected');
    expect(DEFAULT_UNCONFIRMED_STATUSES).toEqual(['PENDING', 'PROCESSING']);
  });
});

describe('the edges of the failure policy', () => {
  const limits = { insufficientBalanceRetries: 2, transferLookups: 3, defaultPauseMs: 500 };
  const base: FailureFacts = {
    category: 'transient',
    reason: 'http-5xx',
    message: 'HTTP 500',
    attempt: 1,
    maxAttempts: 5,
    sameReason: 1,
  };

  it.each<[string, Partial<FailureFacts>, ReturnType<typeof decideFailure>]>([
    ['the attempt before the last retries', { attempt: 4 }, { kind: 'retry' }],
    [
      'an attempt past the last dies',
      { attempt: 6 },
      { kind: 'dead', reason: 'retries-exhausted: http-5xx: HTTP 500' },
    ],
    [
      'insufficient balance within its retries still dies when attempts run out',
      { reason: 'insufficient-balance', message: 'insufficient', sameReason: 1, attempt: 5 },
      { kind: 'dead', reason: 'retries-exhausted: insufficient-balance: insufficient' },
    ],
    [
      'a 5xx repeated many times is judged by attempts, not by its count',
      { sameReason: 99 },
      { kind: 'retry' },
    ],
    [
      'a permanent 429 still only pauses',
      { category: 'permanent', reason: 'rate-limited', retryAfterMs: 0 },
      { kind: 'pause', waitMs: 0 },
    ],
    [
      'an authentication failure retries',
      { category: 'authentication', reason: 'token-invalid' },
      { kind: 'retry' },
    ],
  ])('%s', (_name, patch, decision) => {
    expect(decideFailure({ ...base, ...patch }, limits)).toEqual(decision);
  });

  it.each([
    [{ errorName: 'UnrecoverableError', attemptsMade: 0, maxAttempts: 10 }, true],
    [{ errorName: 'Error', attemptsMade: 11, maxAttempts: 10 }, true],
    [{ errorName: 'Error', attemptsMade: 9, maxAttempts: 10 }, false],
  ])('a failure %j is final: %s', (facts, final) => {
    expect(isFinalFailure(facts)).toBe(final);
  });

  it.each([
    [
      { category: 'authentication', reason: 'business-error', endpoint: 'POST /business/transfer/internal' },
      false,
    ],
    [{ category: 'permanent', reason: 'bad-response', endpoint: 'POST /business/transfer/internal' }, false],
  ] as const)('%j forgets the cached Infinity wallet id: %s', (failure, forget) => {
    expect(forgetsInfinityWallet(failure)).toBe(forget);
  });

  it.each([
    [
      { state: 'failed', change: 'unchanged' },
      { enqueue: false, alert: undefined },
    ],
    [
      { state: 'dust', change: 'created' },
      { enqueue: false, alert: undefined },
    ],
    [
      { state: 'queued', change: 'transitioned' },
      { enqueue: true, alert: undefined },
    ],
  ] as const)('after the ledger: %j → %j', (outcome, then) => {
    expect(afterAccept(outcome)).toEqual(then);
  });
});

describe('the rows the scripts get', () => {
  it('lists every state of an event as from=to/action, in state order', () => {
    expect(depositRows('claim')).toBe(
      DEPOSIT_STATES.map((from) => {
        const row = transition(DEPOSIT_TRANSITIONS, from, 'claim');
        return `${from}=${row.to}/${row.action}`;
      }).join(','),
    );
    expect(depositRows('claim').split(',')).toHaveLength(DEPOSIT_STATES.length);
    expect(depositRows('claim')).toContain('queued=sweeping/claim');
  });

  it('lets an operator requeue exactly the states kept out of the sweep on purpose', () => {
    expect(REQUEUEABLE_STATES).toEqual(['dead', 'held', 'failed', 'dust', 'unsupported', 'pending']);
    const requeued = DEPOSIT_TRANSITIONS.rows
      .filter((row) => row.event === 'operator-requeue' && row.action === 'requeue')
      .map((row) => row.from);
    expect(requeued.sort()).toEqual([...REQUEUEABLE_STATES].sort());
  });

  it('describes every event for the docs', () => {
    expect(describeDepositEvent('credited-dust')).toBe('A `CLOSED` notification below `SWEEP_MIN_AMOUNT`.');
  });
});

describe('the edges of the unowned-wallet rule and the transfer window', () => {
  it('quotes at most 80 characters of a wallet id', () => {
    const credited = notificationEvent('CLOSED', { kind: 'sweep' });
    expect(unownedWalletEvent(credited, 'hold', 'w'.repeat(81)).reason).toBe(
      `wallet ${'w'.repeat(80)} was not created by this service (no owner record): held for an operator ` +
        '(UNKNOWN_WALLET_DEPOSITS=hold)',
    );
  });

  it('measures the window from the first call, not from zero', () => {
    expect(mayCallTransfer(1_000, 1_999, 1_000)).toBe(true);
    expect(mayCallTransfer(1_000, 2_000, 1_000)).toBe(false);
  });
});

describe("a payout's money is never a deposit to sweep (payoutMoneyCheck, attack review round 2, item 5)", () => {
  const usd = { depositId: 'dep-1', currency: 'USD', walletId: 'w-1' };
  it.each([
    // [deposit, facts, verdict]
    [usd, {}, 'sweep'],
    [usd, { reservedUsd: '10' }, 'stop'],
    [usd, { reservedUsd: '0' }, 'sweep'],
    [usd, { payoutId: 'p-1' }, 'stop'],
    [{ ...usd, currency: 'USDC' }, { reservedUsd: '10' }, 'sweep'],
    [{ ...usd, currency: 'USDC' }, { payoutId: 'p-1' }, 'stop'],
  ] as const)('%j with %j → %s', (deposit, facts, verdict) => {
    const result = payoutMoneyCheck(deposit, facts);
    expect(result.kind).toBe(verdict);
    if (result.kind === 'stop') {
      expect(result.event).toBe('recheck-payout-funds');
      expect(result.reason).toMatch(/^payout-funds: /);
    }
  });
});
