import type {
  CryptoConnectWallet,
  DepositResource,
  DepositStatus,
  InfinityWallet,
} from '../src/interlace/types.js';
import { checkAmount } from './money.js';
import { Decimal } from './money.js';
import { fakeAddress, fakeTxHash } from './addresses.js';
import type { Prng } from './prng.js';
import { SimulatorError } from './simulator-error.js';
import type {
  CreditDepositInput,
  CurrencySummary,
  ResolvedOptions,
  SimDeposit,
  SimSummary,
  SimTransfer,
} from './types.js';

/** Balances a new CryptoConnect wallet starts with (seed 000 shows USDC and USDT; WUSD and USD may move in too). */
export const WALLET_CURRENCIES = ['USDC', 'USDT', 'WUSD', 'USD'] as const;

export const DEPOSIT_STATUSES: readonly DepositStatus[] = ['PENDING', 'CLOSED', 'ON_HOLD', 'FAIL'];

const CURRENCY = /^[A-Z0-9]{2,12}$/;
const USD_AMOUNT = /^(0|[1-9]\d{0,29})(\.\d{1,2})?$/;

type InfinityRecord = {
  id: string;
  accountId: string;
  currency: string;
  walletType: number;
  available: Decimal;
  createTime: string;
};

type AccountRecord = { accountId: string; infinity: InfinityRecord[] };

type Address = { currency: string; chain: string; address: string; selected: boolean };

type WalletRecord = {
  id: string;
  referenceId: string;
  accountId: string;
  nickname: string;
  master: boolean;
  balances: Map<string, { available: Decimal; frozen: Decimal }>;
  addresses: Address[];
};

export type CreateAccountInput = {
  accountId?: string;
  usdAvailable?: string;
  /** Gateway mode (seed 000): the account comes with one master wallet per MASTER_CURRENCIES entry. */
  masterWallets?: boolean;
};

/** The master wallets Interlace provisions after KYC in Gateway mode (seed 000: BTC, ETH, USDT, USDC). */
export const MASTER_CURRENCIES = ['BTC', 'ETH', 'USDT', 'USDC'] as const;
export type CreateWalletInput = {
  walletId?: string;
  nickname?: string;
  referenceId?: string;
  master?: boolean;
  /** The balance lines it has; default WALLET_CURRENCIES (a master wallet has its one currency). */
  currencies?: readonly string[];
};

/** The simulated Interlace books: accounts, Infinity wallets, CryptoConnect wallets, deposits, transfers. */
export class SimState {
  private readonly accounts = new Map<string, AccountRecord>();
  private readonly wallets = new Map<string, WalletRecord>();
  private readonly depositsById = new Map<string, SimDeposit>();
  private readonly ledger: SimTransfer[] = [];
  private readonly byClientTransactionId = new Map<string, SimTransfer>();
  private readonly fundingLedger: (SimTransfer & { walletId: string })[] = [];

  constructor(
    private readonly options: ResolvedOptions,
    private readonly prng: Prng,
  ) {}

  /**
   * An account with its Infinity wallets: USD and EUR of walletType 0, and a USD wallet of another
   * type, so a client has to filter on both currency and type to find the sweep's destination.
   */
  createAccount(input: CreateAccountInput = {}): { accountId: string; infinityWalletId: string } {
    const accountId = input.accountId ?? this.prng.uuid();
    assertId(accountId, 'accountId');
    if (this.accounts.has(accountId)) throw new SimulatorError(409, `account ${accountId} already exists`);
    const usdAvailable = input.usdAvailable ?? '0';
    if (typeof usdAvailable !== 'string' || !USD_AMOUNT.test(usdAvailable)) {
      throw new SimulatorError(
        400,
        'usdAvailable must be a non-negative decimal string with at most 2 decimals',
      );
    }
    const createTime = String(this.options.now());
    const make = (currency: string, walletType: number, available: string): InfinityRecord => ({
      id: this.prng.uuid(),
      accountId,
      currency,
      walletType,
      available: new Decimal(available),
      createTime,
    });
    const usd = make('USD', 0, usdAvailable);
    this.accounts.set(accountId, { accountId, infinity: [make('EUR', 0, '0'), make('USD', 1, '0'), usd] });
    if (input.masterWallets === true) {
      for (const currency of MASTER_CURRENCIES) {
        this.createWallet(accountId, { master: true, nickname: 'Master Wallet', currencies: [currency] });
      }
    }
    return { accountId, infinityWalletId: usd.id };
  }

  hasAccount(accountId: string): boolean {
    return this.accounts.has(accountId);
  }

  /** The account's Infinity wallets, optionally of one walletType only, in the simulator's fixed order. */
  infinityWallets(accountId: string, walletType?: number): InfinityWallet[] {
    const account = this.accounts.get(accountId);
    if (account === undefined) return [];
    return account.infinity
      .filter((w) => walletType === undefined || w.walletType === walletType)
      .map(viewInfinity);
  }

  /** The walletType 0 Infinity wallet of a currency. */
  infinityWallet(accountId: string, currency = 'USD'): InfinityWallet | undefined {
    const record = this.infinityRecord(accountId, currency);
    return record === undefined ? undefined : viewInfinity(record);
  }

  createWallet(accountId: string, input: CreateWalletInput = {}): CryptoConnectWallet {
    if (!this.accounts.has(accountId)) throw new SimulatorError(404, `account ${accountId} does not exist`);
    const id = input.walletId ?? this.prng.uuid();
    assertId(id, 'walletId');
    if (this.wallets.has(id)) throw new SimulatorError(409, `wallet ${id} already exists`);
    const record: WalletRecord = {
      id,
      referenceId: input.referenceId ?? this.prng.uuid(),
      accountId,
      nickname: input.nickname ?? '',
      master: input.master ?? false,
      balances: new Map(
        (input.currencies ?? WALLET_CURRENCIES).map((c) => [
          c,
          { available: new Decimal(0), frozen: new Decimal(0) },
        ]),
      ),
      addresses: [],
    };
    this.wallets.set(id, record);
    return viewWallet(record);
  }

  /** The wallet of that account with that referenceId, if one exists. */
  walletByReference(accountId: string, referenceId: string): CryptoConnectWallet | undefined {
    for (const record of this.wallets.values()) {
      if (record.accountId === accountId && record.referenceId === referenceId) return viewWallet(record);
    }
    return undefined;
  }

  /** The wallet holding a deposit address, with that address's currency and chain. */
  walletByAddress(address: string): { walletId: string; currency: string; chain: string } | undefined {
    for (const record of this.wallets.values()) {
      const found = record.addresses.find((a) => a.address === address);
      if (found) return { walletId: record.id, currency: found.currency, chain: found.chain };
    }
    return undefined;
  }

  wallet(walletId: string): CryptoConnectWallet | undefined {
    const record = this.wallets.get(walletId);
    return record === undefined ? undefined : viewWallet(record);
  }

  listWallets(accountId: string, master?: boolean): CryptoConnectWallet[] {
    return [...this.wallets.values()]
      .filter((w) => w.accountId === accountId && (master === undefined || w.master === master))
      .map(viewWallet);
  }

  /** A new deposit address for currency and chain; it becomes the selected one of that pair. */
  addAddress(walletId: string, currency: string, chain: string): Address {
    const record = this.walletRecord(walletId);
    for (const address of record.addresses) {
      if (address.currency === currency && address.chain === chain) address.selected = false;
    }
    const address: Address = { currency, chain, address: fakeAddress(chain, this.prng), selected: true };
    record.addresses.push(address);
    return { ...address };
  }

  /** A deposit seen on chain; CLOSED credits the wallet now, other statuses wait for setDepositStatus. */
  creditDeposit(input: CreditDepositInput): SimDeposit {
    if (typeof input.currency !== 'string' || !CURRENCY.test(input.currency)) {
      throw new SimulatorError(400, 'currency must be an upper-case currency code such as USDC');
    }
    const amount = checkAmount(input.amount, input.currency);
    if (!amount.ok) throw new SimulatorError(400, amount.reason);
    const status = input.status ?? 'CLOSED';
    assertStatus(status);
    const chain = input.chain ?? 'ETH';
    if (typeof chain !== 'string' || chain === '') throw new SimulatorError(400, 'chain must be non-empty');
    const wallet = this.walletRecord(input.walletId);
    const id = input.depositId ?? this.prng.uuid();
    assertId(id, 'depositId');
    if (this.depositsById.has(id)) throw new SimulatorError(409, `deposit ${id} already exists`);
    const address = input.address ?? this.depositAddress(wallet, input.currency, chain);
    const now = String(this.options.now());
    const deposit: SimDeposit = {
      id,
      accountId: wallet.accountId,
      walletId: wallet.id,
      currency: input.currency,
      amount: amount.amount,
      chain,
      txHash: input.txHash ?? fakeTxHash(chain, this.prng),
      address,
      status,
      credited: false,
      createTime: now,
      updateTime: now,
    };
    this.depositsById.set(id, deposit);
    if (status === 'CLOSED') this.credit(deposit);
    return { ...deposit };
  }

  /** Moves a deposit to a status; the first CLOSED credits the wallet, and nothing ever credits twice. */
  setDepositStatus(depositId: string, status: DepositStatus): SimDeposit {
    const deposit = this.depositRecord(depositId);
    assertStatus(status);
    deposit.status = status;
    deposit.updateTime = String(this.options.now());
    if (status === 'CLOSED' && !deposit.credited) this.credit(deposit);
    return { ...deposit };
  }

  deposit(depositId: string): SimDeposit | undefined {
    const deposit = this.depositsById.get(depositId);
    return deposit === undefined ? undefined : { ...deposit };
  }

  deposits(): SimDeposit[] {
    return [...this.depositsById.values()].map((d) => ({ ...d }));
  }

  /** The notification resource of a deposit (API-NOTES §6), optionally with another status than its own. */
  depositResource(depositId: string, status?: DepositStatus): DepositResource {
    const deposit = this.depositRecord(depositId);
    if (status !== undefined) assertStatus(status);
    return {
      id: deposit.id,
      accountId: deposit.accountId,
      walletId: deposit.walletId,
      direction: 'IN',
      chain: deposit.chain,
      currency: deposit.currency,
      amount: deposit.amount,
      txHash: deposit.txHash,
      address: deposit.address,
      status: status ?? deposit.status,
      createTime: deposit.createTime,
      updateTime: deposit.updateTime,
    };
  }

  /** Balance line of a wallet currency, for the transfer; undefined is Interlace's 010021. */
  balance(walletId: string, currency: string): { available: Decimal; frozen: Decimal } | undefined {
    return this.wallets.get(walletId)?.balances.get(currency);
  }

  walletAccount(walletId: string): string | undefined {
    return this.wallets.get(walletId)?.accountId;
  }

  infinityRecord(accountId: string, currency: string): InfinityRecord | undefined {
    return this.accounts.get(accountId)?.infinity.find((w) => w.currency === currency && w.walletType === 0);
  }

  transferByClientId(clientTransactionId: string): SimTransfer | undefined {
    return this.byClientTransactionId.get(clientTransactionId);
  }

  /** Records a committed transfer; the caller has already moved the money. */
  recordTransfer(transfer: SimTransfer): void {
    this.ledger.push(transfer);
    this.byClientTransactionId.set(transfer.clientTransactionId, transfer);
  }

  /** Records a committed Infinity -> CryptoConnect transfer; kept apart from the sweeps' ledger. */
  recordFunding(transfer: SimTransfer, walletId: string): void {
    this.fundingLedger.push({ ...transfer, walletId });
    this.byClientTransactionId.set(transfer.clientTransactionId, transfer);
  }

  /** Infinity USD -> CryptoConnect transfers (payout fundings), oldest first. */
  fundings(): (SimTransfer & { walletId: string })[] {
    return structuredClone(this.fundingLedger);
  }

  /** The wallet a trade and an account-addressed funding use: the account's master wallet, else its first. */
  defaultWallet(accountId: string): CryptoConnectWallet | undefined {
    const wallets = [...this.wallets.values()].filter((w) => w.accountId === accountId);
    const chosen = wallets.find((w) => w.master) ?? wallets[0];
    return chosen === undefined ? undefined : viewWallet(chosen);
  }

  transferCount(): number {
    return this.ledger.length;
  }

  transfers(): SimTransfer[] {
    return structuredClone(this.ledger);
  }

  summary(requests: number): SimSummary {
    const rows = new Map<string, Record<keyof CurrencySummary, Decimal>>();
    const row = (currency: string) => {
      let current = rows.get(currency);
      if (current === undefined) {
        const zero = new Decimal(0);
        current = {
          deposited: zero,
          transferredOut: zero,
          fees: zero,
          usdCredited: zero,
          walletAvailable: zero,
        };
        rows.set(currency, current);
      }
      return current;
    };
    for (const deposit of this.depositsById.values()) {
      if (deposit.credited)
        row(deposit.currency).deposited = row(deposit.currency).deposited.plus(deposit.amount);
    }
    let usdCreditedTotal = new Decimal(0);
    let replays = 0;
    for (const transfer of this.ledger) {
      const r = row(transfer.currency);
      r.transferredOut = r.transferredOut.plus(transfer.amount);
      r.fees = r.fees.plus(transfer.fee);
      r.usdCredited = r.usdCredited.plus(transfer.net);
      usdCreditedTotal = usdCreditedTotal.plus(transfer.net);
      replays += transfer.replays;
    }
    for (const wallet of this.wallets.values()) {
      for (const [currency, balance] of wallet.balances) {
        row(currency).walletAvailable = row(currency).walletAvailable.plus(balance.available);
      }
    }
    const currencies: Record<string, CurrencySummary> = {};
    for (const [currency, r] of [...rows].sort(([a], [b]) => a.localeCompare(b))) {
      currencies[currency] = {
        deposited: r.deposited.toFixed(),
        transferredOut: r.transferredOut.toFixed(),
        fees: r.fees.toFixed(),
        usdCredited: r.usdCredited.toFixed(),
        walletAvailable: r.walletAvailable.toFixed(),
      };
    }
    return {
      currencies,
      usdCreditedTotal: usdCreditedTotal.toFixed(),
      deposits: this.depositsById.size,
      transfers: this.ledger.length,
      replays,
      requests,
    };
  }

  clear(): void {
    this.accounts.clear();
    this.wallets.clear();
    this.depositsById.clear();
    this.ledger.length = 0;
    this.fundingLedger.length = 0;
    this.byClientTransactionId.clear();
  }

  private credit(deposit: SimDeposit): void {
    const wallet = this.walletRecord(deposit.walletId);
    let balance = wallet.balances.get(deposit.currency);
    if (balance === undefined) {
      // A deposit in a currency the wallet has no line for yet (BTC, ETH...) opens one.
      balance = { available: new Decimal(0), frozen: new Decimal(0) };
      wallet.balances.set(deposit.currency, balance);
    }
    balance.available = balance.available.plus(deposit.amount);
    deposit.credited = true;
  }

  private depositAddress(wallet: WalletRecord, currency: string, chain: string): string {
    const selected = wallet.addresses.find((a) => a.currency === currency && a.chain === chain && a.selected);
    return selected?.address ?? this.addAddress(wallet.id, currency, chain).address;
  }

  private walletRecord(walletId: string): WalletRecord {
    const record = this.wallets.get(walletId);
    if (record === undefined) throw new SimulatorError(404, `wallet ${String(walletId)} does not exist`);
    return record;
  }

  private depositRecord(depositId: string): SimDeposit {
    const deposit = this.depositsById.get(depositId);
    if (deposit === undefined) throw new SimulatorError(404, `deposit ${String(depositId)} does not exist`);
    return deposit;
  }
}

function viewInfinity(record: InfinityRecord): InfinityWallet {
  return {
    id: record.id,
    accountId: record.accountId,
    createTime: record.createTime,
    currency: record.currency,
    walletType: record.walletType,
    available: record.available.toFixed(),
  };
}

function viewWallet(record: WalletRecord): CryptoConnectWallet {
  return {
    id: record.id,
    referenceId: record.referenceId,
    accountId: record.accountId,
    nickname: record.nickname,
    master: record.master,
    balances: [...record.balances].map(([currency, b]) => ({
      currency,
      available: b.available.toFixed(),
      frozen: b.frozen.toFixed(),
    })),
    addresses: record.addresses.map((a) => ({ ...a })),
  };
}

function assertId(value: unknown, name: string): asserts value is string {
  if (typeof value !== 'string' || value === '' || value.length > 128) {
    throw new SimulatorError(400, `${name} must be a non-empty string of at most 128 characters`);
  }
}

function assertStatus(status: unknown): asserts status is DepositStatus {
  if (!DEPOSIT_STATUSES.includes(status as DepositStatus)) {
    throw new SimulatorError(400, `status must be one of ${DEPOSIT_STATUSES.join(', ')}`);
  }
}
