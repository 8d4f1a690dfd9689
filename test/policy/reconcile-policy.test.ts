import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  unstoredRefusal,
  compareBalance,
  deadOperatorSweeps,
  decideOperatorSweep,
  historyDepositId,
  isOperatorSweep,
  recheckOperatorSweep,
  isDiscrepancy,
  operatorSweepDepositId,
  reconcileEntryId,
  type LedgerEntry,
} from '../../src/policy/reconcile-policy.js';
import { claimStatusDecision } from '../../src/policy/deposit-policy.js';

const entry = (state: string, amount: string, patch: Partial<LedgerEntry> = {}): LedgerEntry => ({
  depositId: `dep-${state}-${amount}`,
  state,
  currency: 'USDC',
  amount,
  ...patch,
});

describe('what the ledger explains of a balance', () => {
  it.each([
    // [available, entries, reserved, unexplained, held, sweepable]
    ['12', [], undefined, '12', '0', '12'],
    [
      '12',
      [entry('queued', '5'), entry('sweeping', '2'), entry('dust', '0.5'), entry('dead', '1')],
      undefined,
      '3.5',
      '0',
      '3.5',
    ],
    // Swept, failed and pending deposits are not in the balance: they explain nothing.
    ['4', [entry('swept', '10'), entry('failed', '3'), entry('pending', '2')], undefined, '4', '0', '4'],
    // A payout's reservation is explained.
    ['15', [], '10', '5', '0', '5'],
    // Held money is on its own line and hides nothing: 7 held, 7 unexplained, none of it movable.
    ['7', [entry('held', '7')], undefined, '7', '7', '0'],
    ['10', [entry('held', '7')], undefined, '10', '7', '3'],
    // A dead sweep made from a balance moved nothing: its money IS the balance.
    ['9', [entry('dead', '9', { depositId: 'reconcile-abc' })], undefined, '9', '0', '9'],
    ['9', [entry('dead', '9', { depositId: 'backfill-w-USDC-1' })], undefined, '9', '0', '9'],
    // Other currencies do not count; amounts past the precision are cut, never rounded up.
    ['1.2345678', [entry('queued', '1', { currency: 'USDT' })], undefined, '1.234567', '0', '1.234567'],
    // The ledger explains more than there is: negative, nothing to move.
    ['1', [entry('queued', '3')], undefined, '-2', '0', '0'],
  ] as const)(
    'available %s, %j, reserved %s → unexplained %s, held %s, sweepable %s',
    (available, entries, reserved, unexplained, held, sweepable) => {
      const line = compareBalance({
        currency: 'USDC',
        available,
        entries,
        ...(reserved !== undefined ? { reserved } : {}),
      });
      expect(line).toMatchObject({ unexplained, held, sweepable });
    },
  );

  it('counts a deposit swept after the balance was read as explaining it, and one swept before as not', () => {
    const entries = [
      entry('swept', '5', { depositId: 'late', sweptAt: '2000' }),
      entry('swept', '4', { depositId: 'early', sweptAt: '500' }),
    ];
    expect(compareBalance({ currency: 'USDC', available: '9', entries, balanceReadAt: 1000 })).toMatchObject({
      explained: '5',
      unexplained: '4',
    });
    expect(compareBalance({ currency: 'USDC', available: '9', entries })).toMatchObject({ unexplained: '9' });
  });

  it.each([
    ['1', true],
    ['0.99', false],
    ['0', false],
    ['-3', false],
  ])('unexplained %s is a discrepancy: %s (minimum 1)', (unexplained, expected) => {
    const line = compareBalance({
      currency: 'USDC',
      available: unexplained.startsWith('-') ? '0' : unexplained,
      entries: unexplained.startsWith('-') ? [entry('queued', '3')] : [],
    });
    expect(isDiscrepancy(line, '1')).toBe(expected);
  });

  it('gives a report entry the same id while the picture is the same, and another when it changes', () => {
    const line = compareBalance({ currency: 'USDC', available: '12', entries: [] });
    expect(reconcileEntryId('w-1', line)).toBe(reconcileEntryId('w-1', { ...line }));
    expect(reconcileEntryId('w-1', line)).not.toBe(reconcileEntryId('w-2', line));
    expect(reconcileEntryId('w-1', line)).not.toBe(
      reconcileEntryId('w-1', compareBalance({ currency: 'USDC', available: '13', entries: [] })),
    );
  });
});

describe("an operator's reconcile sweep", () => {
  const policy = { currencies: ['USDC', 'USDT'], minAmount: '1', maxAmount: '1000' };
  const line = (available: string, entries: LedgerEntry[] = [], reserved?: string) =>
    compareBalance({ currency: 'USDC', available, entries, ...(reserved ? { reserved } : {}) });

  it.each([
    ['abc', 'USDC', false, line('10'), 'bad-amount'],
    ['0', 'USDC', false, line('10'), 'bad-amount'],
    ['1.0000001', 'USDC', false, line('10'), 'bad-amount'],
    ['5', 'USDC', true, line('10'), 'master-wallet'],
    [
      '5',
      'USD',
      false,
      compareBalance({ currency: 'USD', available: '100', entries: [] }),
      'usd-without-notification',
    ],
    [
      '5',
      'BTC',
      false,
      compareBalance({ currency: 'BTC', available: '100', entries: [] }),
      'unsupported-currency',
    ],
    ['0.5', 'USDC', false, line('10'), 'below-minimum'],
    ['1001', 'USDC', false, line('5000'), 'above-maximum'],
    ['10.000001', 'USDC', false, line('10'), 'above-unexplained'],
    // Funds a payout keeps reserved are never movable.
    ['6', 'USDC', false, line('15', [], '10'), 'above-unexplained'],
    // Nor held money.
    ['4', 'USDC', false, line('10', [entry('held', '7')]), 'above-unexplained'],
  ] as const)('refuses %s %s (master %s): %s', (amount, currency, master, balance, refusal) => {
    expect(decideOperatorSweep({ amount, currency, master, line: balance, policy })).toMatchObject({
      ok: false,
      refusal,
    });
  });

  it.each([
    ['10', line('10')],
    ['10.000000', line('10')],
    ['3', line('10', [entry('held', '7')])],
    ['5', line('15', [], '10')],
  ] as const)('allows %s of what is unexplained', (amount, balance) => {
    expect(
      decideOperatorSweep({ amount, currency: 'USDC', master: false, line: balance, policy }),
    ).toMatchObject({
      ok: true,
    });
  });

  it('names one deposit for the same command and reference, another for another reference', () => {
    const input = { walletId: 'w-1', currency: 'USDC', amount: '10', reference: 'USDC-abc' };
    expect(operatorSweepDepositId(input)).toBe(operatorSweepDepositId({ ...input }));
    expect(operatorSweepDepositId(input)).toMatch(/^reconcile-[0-9a-f]{40}$/);
    expect(operatorSweepDepositId(input)).not.toBe(operatorSweepDepositId({ ...input, reference: 'T-2' }));
    expect(operatorSweepDepositId(input)).not.toBe(operatorSweepDepositId({ ...input, amount: '9' }));
  });

  it('is claimed by the sweep (an operator decided), while no status Interlace sends is mistaken for it', () => {
    expect(claimStatusDecision({ upstreamStatus: 'operator:reconcile' })).toEqual({ kind: 'claim' });
    expect(claimStatusDecision({ upstreamStatus: 'RECONCILE' })).toMatchObject({
      kind: 'stop',
      state: 'held',
    });
    expect(claimStatusDecision({ upstreamStatus: 'BACKFILL' })).toMatchObject({
      kind: 'stop',
      state: 'held',
    });
  });
});

describe('an operator sweep while an earlier one is dead (attack review round 2, item 2)', () => {
  const policy = { currencies: ['USDC', 'USDT'], minAmount: '1', maxAmount: '1000' };
  const dead = entry('dead', '5', { depositId: 'reconcile-aaa' });

  it.each([
    // [entries, currency, dead ids]
    [[dead], 'USDC', ['reconcile-aaa']],
    [[dead], 'USDT', []],
    // A dead deposit from a notification is not an operator's sweep.
    [[entry('dead', '5')], 'USDC', []],
    [[entry('queued', '5', { depositId: 'reconcile-bbb' })], 'USDC', []],
  ] as const)('finds the dead operator sweeps of %j in %s', (entries, currency, ids) => {
    expect(deadOperatorSweeps(entries, currency)).toEqual(ids);
  });

  it('refuses a new one (a replay of the dead one could move that money again), naming it', () => {
    const decision = decideOperatorSweep({
      amount: '5',
      currency: 'USDC',
      master: false,
      line: compareBalance({ currency: 'USDC', available: '5', entries: [dead] }),
      policy,
      deadSweeps: ['reconcile-aaa'],
    });
    expect(decision).toMatchObject({ ok: false, refusal: 'dead-operator-sweep' });
    expect(decision.ok ? '' : decision.message).toContain('reconcile-aaa');
  });

  it.each([
    { depositId: 'reconcile-abc', upstreamStatus: 'CLOSED', operator: true },
    { depositId: 'dep-1', upstreamStatus: 'operator:reconcile', operator: true },
    { depositId: 'dep-1', upstreamStatus: 'CLOSED', operator: false },
  ])('knows an operator sweep: $depositId $upstreamStatus → $operator', ({ operator, ...deposit }) => {
    expect(isOperatorSweep(deposit)).toBe(operator);
  });
});

describe("the worker's re-check of an operator sweep against the live balance", () => {
  const policy = { currencies: ['USDC'], minAmount: '1', maxAmount: '1000' };
  const self = entry('sweeping', '5', { depositId: 'reconcile-self' });
  const recheck = (available: string, entries: LedgerEntry[], reserved?: string) =>
    recheckOperatorSweep({
      depositId: 'reconcile-self',
      amount: '5',
      currency: 'USDC',
      master: false,
      available,
      ...(reserved !== undefined ? { reserved } : {}),
      entries,
      policy,
    });

  it.each([
    // [available, entries, reserved, ok, refusal]
    // Its own money is still there: its own (sweeping) entry does not explain it away.
    ['5', [self], undefined, true, undefined],
    ['12', [self, entry('queued', '7')], undefined, true, undefined],
    // The money left another way; what is there is a payout's.
    ['10', [self], '10', false, 'above-unexplained'],
    // What is there is another deposit's.
    ['5', [self, entry('queued', '5')], undefined, false, 'above-unexplained'],
    ['0', [self], undefined, false, 'above-unexplained'],
  ] as const)(
    'available %s, ledger %j, reserved %s: ok %s (%s)',
    (available, entries, reserved, ok, refusal) => {
      const verdict = recheck(available, [...entries], reserved);
      expect(verdict.ok).toBe(ok);
      if (!verdict.ok) expect(verdict.refusal).toBe(refusal);
    },
  );
});

describe('an operator sweep while notifications for the wallet are received and not stored (attack review, ingest round 2)', () => {
  it.each([
    [{ inLog: 0, letters: [], unknown: false }, undefined],
    [{ inLog: 1, letters: [], unknown: false }, 'ingest-backlog'],
    [{ inLog: 0, letters: [], unknown: true }, 'ingest-backlog'],
    [{ inLog: 0, letters: ['notification-ab'], unknown: false }, 'ingest-failed'],
    [{ inLog: 3, letters: ['notification-ab'], unknown: true }, 'ingest-failed'],
  ] as const)('%o → %s', (unstored, refusal) => {
    const verdict = unstoredRefusal(unstored);
    expect(verdict?.refusal).toBe(refusal);
    if (refusal === 'ingest-failed') expect(verdict?.message).toContain('notification-ab');
  });
});

describe('the deposit id of a transfer from a history source', () => {
  const transfer = { accountId: 'a-1', walletId: 'w-1', currency: 'USDC', amount: '5', status: 'CLOSED' };

  it("is Interlace's transfer id: the id its webhook would have given", () => {
    expect(historyDepositId({ ...transfer, transferId: 'tr-123', txHash: '0xabc' })).toBe('tr-123');
  });

  it('derives from the transaction hash (with chain, wallet and currency) when there is no usable transfer id, never from a counter', () => {
    const byHash = historyDepositId({ ...transfer, txHash: '0xABC', chain: 'ETH' });
    expect(byHash).toMatch(/^tx-[0-9a-f]{40}$/);
    expect(historyDepositId({ ...transfer, txHash: '0xabc', chain: 'ETH', transferId: 'bad id:x' })).toBe(
      byHash,
    );
    expect(historyDepositId({ ...transfer, txHash: '0xabc', chain: 'ETH', walletId: 'w-2' })).not.toBe(
      byHash,
    );
    expect(historyDepositId({ ...transfer, txHash: '0xabc', chain: 'TRX' })).not.toBe(byHash);
  });

  it('is undefined without either', () => {
    expect(historyDepositId(transfer)).toBeUndefined();
  });
});

// The ids below must never change across releases: a report entry, an operator's sweep or a transfer
// learnt from a history source must name the same deposit (and clientTransactionId) on every run.
describe('the derived ids, computed independently', () => {
  const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
  const transfer = { accountId: 'a-1', walletId: 'w-1', currency: 'USDC', amount: '5', status: 'CLOSED' };

  it('derives a history deposit id from chain|lower-case hash|wallet|currency', () => {
    expect(historyDepositId({ ...transfer, txHash: '0xAbC', chain: 'ETH' })).toBe(
      `tx-${sha256('ETH|0xabc|w-1|USDC').slice(0, 40)}`,
    );
    expect(historyDepositId({ ...transfer, txHash: '0xabc' })).toBe(
      `tx-${sha256('|0xabc|w-1|USDC').slice(0, 40)}`,
    );
    expect(historyDepositId({ ...transfer, txHash: '' })).toBeUndefined();
  });

  it("derives a report entry's id from the wallet and its balance picture", () => {
    const line = compareBalance({ currency: 'USDC', available: '12.5', entries: [], reserved: '1' });
    expect(reconcileEntryId('w-1', line)).toBe(`USDC-${sha256('w-1|USDC|12.5|0|1|0').slice(0, 16)}`);
  });

  it("derives an operator sweep's deposit id from what was asked and the reference", () => {
    expect(
      operatorSweepDepositId({ walletId: 'w-1', currency: 'USDC', amount: '5', reference: 'ref-1' }),
    ).toBe(`reconcile-${sha256('w-1|USDC|5|ref-1').slice(0, 40)}`);
  });
});

describe('what the ledger explains: the edges', () => {
  const at = 1_000;
  const explained = (entries: LedgerEntry[], balanceReadAt?: number) =>
    compareBalance({
      currency: 'USDC',
      available: '100',
      entries,
      ...(balanceReadAt === undefined ? {} : { balanceReadAt }),
    }).explained;

  it.each<[string, LedgerEntry[], number | undefined, string]>([
    ['a swept deposit, no balance time', [entry('swept', '5', { sweptAt: '2000' })], undefined, '0'],
    [
      'a deposit swept exactly when the balance was read',
      [entry('swept', '5', { sweptAt: String(at) })],
      at,
      '5',
    ],
    [
      'a deposit swept before the balance was read',
      [entry('swept', '5', { sweptAt: String(at - 1) })],
      at,
      '0',
    ],
    ['an unsupported deposit, whatever its times', [entry('unsupported', '5', { sweptAt: '2000' })], at, '0'],
    ['a queued operator sweep', [entry('queued', '5', { depositId: 'reconcile-1' })], undefined, '5'],
    ['a dead operator sweep', [entry('dead', '5', { depositId: 'reconcile-1' })], undefined, '0'],
    ['a dead deposit', [entry('dead', '5')], undefined, '5'],
  ])('%s explains %s', (_label, entries, balanceReadAt, amount) => {
    expect(explained(entries, balanceReadAt)).toBe(amount);
  });
});

describe("an operator's reconcile sweep: the words of each refusal", () => {
  const policy = { currencies: ['USDC', 'USDT'], minAmount: '1', maxAmount: '1000' };
  const line = compareBalance({
    currency: 'USDC',
    available: '10',
    entries: [entry('held', '1')],
    reserved: '2',
  });
  const refusal = (patch: Partial<Parameters<typeof decideOperatorSweep>[0]>) =>
    decideOperatorSweep({ amount: '5', currency: 'USDC', master: false, line, policy, ...patch });

  it.each<[Partial<Parameters<typeof decideOperatorSweep>[0]>, string]>([
    [{ amount: 'abc' }, 'amount "abc" is not a positive amount of USDC'],
    [{ master: true }, 'the wallet is a master wallet: never swept'],
    [
      { currency: 'USD' },
      'USD in a CryptoConnect wallet is moved only with a deposit notification for it (payouts fund it)',
    ],
    [{ currency: 'BTC' }, 'BTC is not a currency the service sweeps'],
    [{ amount: '0.5' }, '0.5 is below the minimum 1'],
    [{ amount: '1001' }, '1001 is above the maximum 1000'],
    [
      { amount: '8' },
      '8 USDC is more than the unexplained balance (7: available 10, explained 0, held 1, reserved 2)',
    ],
  ])('%j: %s', (patch, reason) => {
    expect(refusal(patch)).toMatchObject({ ok: false, message: reason });
  });

  it('has no upper bound without a maximum', () => {
    expect(refusal({ policy: { currencies: ['USDC'], minAmount: '1' } })).toEqual({ ok: true, amount: '5' });
  });
});

describe('an operator sweep while earlier ones are dead: the refusal names each', () => {
  it('lists the dead sweeps and says what to do', () => {
    const line = compareBalance({ currency: 'USDC', available: '10', entries: [] });
    const policy = { currencies: ['USDC'], minAmount: '1' };
    expect(
      decideOperatorSweep({
        amount: '5',
        currency: 'USDC',
        master: false,
        line,
        policy,
        deadSweeps: ['reconcile-a', 'reconcile-b'],
      }),
    ).toEqual({
      ok: false,
      refusal: 'dead-operator-sweep',
      message:
        'an earlier operator sweep of USDC from this wallet is dead (reconcile-a, reconcile-b): replay it ' +
        'first (`dlq replay`: re-checked against the live balance, held if its money is gone)',
    });
  });
});
