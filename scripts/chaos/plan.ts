/**
 * The seeded workload of a chaos run: accounts, wallets and deposits in the simulator, and the shuffled
 * list of notification deliveries (duplicates, PENDING before CLOSED, late PENDINGs, and a handful of
 * deposits designed to fail permanently).
 */
import type { DepositResource, DepositStatus } from '../../src/interlace/types.js';
import { createPrng, deriveSeed, type Prng } from '../../simulator/prng.js';
import type { BuiltNotification, Simulator } from '../../simulator/simulator.js';
import { currencyPrecision } from '../../src/sweep/amounts.js';

export const CHAOS_CURRENCIES = ['USDC', 'USDT', 'WUSD', 'USD'] as const;

/** What a deposit must end as: swept once, recorded as dust or held, or dead-lettered. */
export type DepositKind = 'sweep' | 'dust' | 'held' | 'fail';

export type PlannedDeposit = {
  id: string;
  kind: DepositKind;
  accountId: string;
  walletId: string;
  currency: string;
  amount: string;
  /** Created PENDING in the simulator and moved to CLOSED just before its first CLOSED notification. */
  pendingFirst: boolean;
  /** For `fail` deposits: the resource (its walletId exists nowhere in the simulator). */
  resource?: DepositResource;
};

export type Delivery = { deposit: PlannedDeposit; status: DepositStatus };

export type Plan = {
  deposits: PlannedDeposit[];
  deliveries: Delivery[];
  accounts: string[];
  counts: Record<DepositKind, number>;
};

export type PlanOptions = { deposits: number; seed: number; accounts?: number; walletsPerAccount?: number };

/** How many deposits of each special kind a run of `total` deposits gets; the rest are swept. */
export function kindCounts(total: number): Record<DepositKind, number> {
  const fail = Math.min(10, Math.max(3, Math.round(total / 400)));
  const dust = Math.max(2, Math.round(total / 100));
  const held = Math.max(2, Math.round(total / 100));
  const sweep = total - fail - dust - held;
  if (sweep < 1) throw new Error(`--deposits must be at least ${fail + dust + held + 1}`);
  return { sweep, dust, held, fail };
}

export function buildPlan(sim: Simulator, options: PlanOptions): Plan {
  const prng = createPrng(deriveSeed(options.seed, 101));
  const accounts: { accountId: string; wallets: string[] }[] = [];
  for (let a = 0; a < (options.accounts ?? 3); a += 1) {
    const { accountId } = sim.createAccount();
    const wallets: string[] = [];
    for (let w = 0; w < (options.walletsPerAccount ?? 2); w += 1) {
      wallets.push(sim.createWallet(accountId, { nickname: `chaos-${a}-${w}` }).id);
    }
    accounts.push({ accountId, wallets });
  }
  const counts = kindCounts(options.deposits);
  const kinds: DepositKind[] = [];
  for (const kind of ['sweep', 'dust', 'held', 'fail'] as const) {
    for (let i = 0; i < counts[kind]; i += 1) kinds.push(kind);
  }
  shuffle(kinds, prng);

  const deposits: PlannedDeposit[] = [];
  const deliveries: Delivery[] = [];
  for (const kind of kinds) {
    const account = accounts[prng.int(accounts.length)]!;
    const walletId = account.wallets[prng.int(account.wallets.length)]!;
    const currency = CHAOS_CURRENCIES[prng.int(CHAOS_CURRENCIES.length)]!;
    const amount = kind === 'dust' ? dustAmount(prng, currency) : randomAmount(prng, currency);
    if (kind === 'fail') {
      // A CryptoConnect wallet that does not exist: the transfer answers 010021, a permanent failure.
      const id = `chaos-fail-${prng.hex(8)}`;
      const now = String(Date.now());
      const resource: DepositResource = {
        id,
        accountId: account.accountId,
        walletId: `chaos-missing-${prng.hex(8)}`,
        direction: 'IN',
        chain: 'ETH',
        currency,
        amount,
        txHash: `0x${prng.hex(32)}`,
        address: `0x${prng.hex(20)}`,
        status: 'CLOSED',
        createTime: now,
        updateTime: now,
      };
      const deposit: PlannedDeposit = {
        id,
        kind,
        accountId: account.accountId,
        walletId: resource.walletId,
        currency,
        amount,
        pendingFirst: false,
        resource,
      };
      deposits.push(deposit);
      for (let i = 0, n = 1 + prng.int(2); i < n; i += 1) deliveries.push({ deposit, status: 'CLOSED' });
      continue;
    }
    const pendingFirst = prng.next() < 0.3;
    const initial: DepositStatus = kind === 'held' ? 'ON_HOLD' : pendingFirst ? 'PENDING' : 'CLOSED';
    const created = sim.creditDeposit({ walletId, currency, amount, status: initial });
    const deposit: PlannedDeposit = {
      id: created.id,
      kind,
      accountId: account.accountId,
      walletId,
      currency,
      amount: created.amount,
      pendingFirst,
    };
    deposits.push(deposit);
    const final: DepositStatus = kind === 'held' ? 'ON_HOLD' : 'CLOSED';
    // Each notification is delivered 1-3 times; PENDING-first deposits also get a PENDING, which the
    // global shuffle may put before or (late, out of order) after their CLOSED.
    for (let i = 0, n = 1 + prng.int(3); i < n; i += 1) deliveries.push({ deposit, status: final });
    if (pendingFirst) deliveries.push({ deposit, status: 'PENDING' });
  }
  shuffle(deliveries, prng);
  return { deposits, deliveries, accounts: accounts.map((a) => a.accountId), counts };
}

/**
 * The signed notification of one delivery, built when it is first sent. A CLOSED notification of a
 * deposit still PENDING in the simulator first moves it to CLOSED (which credits the wallet), as on chain.
 */
export function buildDelivery(sim: Simulator, delivery: Delivery): BuiltNotification {
  const { deposit, status } = delivery;
  if (deposit.resource !== undefined) {
    return sim.buildRawNotification(sim.options.depositEventType, deposit.resource);
  }
  if (status === 'CLOSED' && sim.deposit(deposit.id)?.status !== 'CLOSED') {
    sim.setDepositStatus(deposit.id, 'CLOSED');
  }
  return sim.buildNotification(deposit.id, { status });
}

/** A valid amount of at least 1: up to 4999 whole units and up to the currency's precision in decimals. */
function randomAmount(prng: Prng, currency: string): string {
  const whole = String(1 + prng.int(4_999));
  const decimals = prng.int(currencyPrecision(currency) + 1);
  return decimals === 0 ? whole : `${whole}.${digits(prng, decimals)}`;
}

/** Below SWEEP_MIN_AMOUNT (1): recorded as dust, never swept. */
function dustAmount(prng: Prng, currency: string): string {
  const decimals = Math.max(2, prng.int(currencyPrecision(currency) + 1));
  let fraction = digits(prng, decimals);
  if (/^0+$/.test(fraction)) fraction = `${fraction.slice(0, -1)}1`;
  return `0.${fraction}`;
}

function digits(prng: Prng, length: number): string {
  let out = '';
  for (let i = 0; i < length; i += 1) out += String(prng.int(10));
  return out;
}

export function shuffle<T>(items: T[], prng: Prng): T[] {
  for (let i = items.length - 1; i > 0; i -= 1) {
    const j = prng.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
