import { EventEmitter } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import express, { type Express } from 'express';
import type {
  CryptoConnectWallet,
  DepositResource,
  DepositStatus,
  InfinityWallet,
} from '../src/interlace/types.js';
import { INTERLACE_API_PREFIX } from '../src/interlace/types.js';
import { openApiRouter } from './api-routes.js';
import { createContext, resetContext, type SimContext } from './context.js';
import { controlRouter } from './control-routes.js';
import { CODE_NOT_FOUND } from './envelope.js';
import type { FaultController } from './faults.js';
import {
  buildEnvelope,
  postNotification,
  type BuiltNotification,
  type RawNotificationOptions,
} from './notifications.js';
import { resolveOptions } from './options.js';
import type { SimTrade, SimWithdrawal, WithdrawalStatus } from './payout-books.js';
import { changeWithdrawalStatus, viewWithdrawal } from './withdraw.js';
import type { SimEvents } from './runtime.js';
import type { CreateAccountInput, CreateWalletInput } from './state.js';
import { SimulatorError } from './simulator-error.js';
import type {
  CreditDepositInput,
  DeliveryResult,
  RequestLogEntry,
  ResolvedOptions,
  SentNotification,
  SimDeposit,
  SimSummary,
  SimTransfer,
  SimulatorOptions,
  TokenInfo,
  TransferCalls,
} from './types.js';

export type { BuiltNotification, RawNotificationOptions } from './notifications.js';
export type { Fault, FaultController, FaultEndpoint, FaultKind, FaultRates, FaultStats } from './faults.js';
export type { SimEvents } from './runtime.js';
export type { SimTrade, SimWithdrawal, WithdrawalStatus } from './payout-books.js';
export type {
  CreditDepositInput,
  DeliveryResult,
  RequestLogEntry,
  SentNotification,
  SimDeposit,
  SimSummary,
  SimTransfer,
  SimulatorOptions,
  TokenInfo,
  TransferCalls,
} from './types.js';

export type NotificationOptions = RawNotificationOptions & {
  /** The resource's status; the deposit's current one when absent. Does not change the deposit. */
  status?: DepositStatus;
  /** The envelope's eventType; the simulator's depositEventType when absent. */
  eventType?: string;
};

const SENT_LOG_LIMIT = 10_000;
/**
 * Interlace redelivers a notification that got no 2xx, 16 times over hours (API-NOTES §5); the
 * simulator does it 12 times over about 15 s, enough to outlast a receiver or Redis restart.
 */
const WITHDRAWAL_DELIVERY_ATTEMPTS = 12;
const WITHDRAWAL_RETRY_BASE_MS = 50;
const WITHDRAWAL_RETRY_MAX_MS = 2_000;

/** Builds an Interlace simulator; nothing listens until `listen()`. */
export function createSimulator(options: SimulatorOptions): Simulator {
  return new Simulator(options);
}

/**
 * A stand-in for the Interlace Open API v3 and its webhooks: in-memory books, real HTTP, seeded
 * ids and faults, and a control API under `/_sim` for other processes.
 */
export class Simulator {
  /** The request handler: Open API under `/open-api/v3`, control API under `/_sim`. */
  readonly app: Express;
  readonly events = new EventEmitter<SimEvents>();
  readonly options: Readonly<ResolvedOptions>;
  private readonly context: SimContext;
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();
  private baseUrl: string | undefined;
  private sent: SentNotification[] = [];

  constructor(options: SimulatorOptions) {
    this.options = resolveOptions(options);
    // Tests attach many one-shot listeners (waitFor); that is not a leak.
    this.events.setMaxListeners(0);
    this.context = createContext(this.options, this.events);
    this.context.onWithdrawal = (withdrawal, fault) => this.withdrawalCreated(withdrawal, fault);
    this.app = express();
    this.app.disable('x-powered-by');
    this.app.set('etag', false);
    this.app.use(INTERLACE_API_PREFIX, openApiRouter(this.context));
    this.app.use('/_sim', controlRouter(this));
    this.app.use((req, res) => {
      res.status(404).json({ code: CODE_NOT_FOUND, message: `no such endpoint: ${req.method} ${req.path}` });
    });
  }

  /** Scripted and seeded random faults of the Open API. */
  get faults(): FaultController {
    return this.context.faults;
  }

  /** The base URL (`http://127.0.0.1:PORT`) once listening. */
  get url(): string | undefined {
    return this.baseUrl;
  }

  /** Starts the HTTP server; port 0 picks a free port. */
  async listen(port = 0, host = '127.0.0.1'): Promise<{ url: string; port: number }> {
    if (this.server !== undefined) throw new Error('the simulator is already listening');
    this.context.timers.reopen();
    const server = createServer(this.app);
    server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const address = server.address() as AddressInfo;
    const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
    this.baseUrl = `http://${hostPart}:${address.port}`;
    return { url: this.baseUrl, port: address.port };
  }

  /** Stops listening and destroys every socket, held answers included; never waits on a client. */
  async close(): Promise<void> {
    this.context.timers.abortAll();
    const server = this.server;
    this.server = undefined;
    this.baseUrl = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
      this.sockets.clear();
    });
  }

  createAccount(opts?: CreateAccountInput): { accountId: string; infinityWalletId: string } {
    return this.context.state.createAccount(opts);
  }

  createWallet(accountId: string, opts?: CreateWalletInput): CryptoConnectWallet {
    return this.context.state.createWallet(accountId, opts);
  }

  /** A deposit on chain; CLOSED (the default) credits the wallet now, PENDING/ON_HOLD/FAIL do not. */
  creditDeposit(input: CreditDepositInput): SimDeposit {
    return this.context.state.creditDeposit(input);
  }

  /**
   * An on-chain deposit to a deposit address (the way a merchant's customer pays): the wallet, currency
   * and chain are the address's. CLOSED (the default) credits the wallet now.
   */
  depositToAddress(input: {
    address: string;
    amount: string;
    currency?: string;
    status?: DepositStatus;
  }): SimDeposit {
    const target = this.context.state.walletByAddress(input.address);
    if (target === undefined) throw new SimulatorError(404, `no wallet has the address ${input.address}`);
    return this.context.state.creditDeposit({
      walletId: target.walletId,
      currency: input.currency ?? target.currency,
      chain: target.chain,
      address: input.address,
      amount: input.amount,
      ...(input.status ? { status: input.status } : {}),
    });
  }

  /** Moves a deposit to a status; the first CLOSED credits the wallet, exactly once. */
  setDepositStatus(depositId: string, status: DepositStatus): SimDeposit {
    return this.context.state.setDepositStatus(depositId, status);
  }

  deposit(depositId: string): SimDeposit | undefined {
    return this.context.state.deposit(depositId);
  }

  deposits(): SimDeposit[] {
    return this.context.state.deposits();
  }

  depositResource(depositId: string, status?: DepositStatus): DepositResource {
    return this.context.state.depositResource(depositId, status);
  }

  /** The signed deposit notification Interlace would send now (API-NOTES §5/§6). */
  buildNotification(depositId: string, opts: NotificationOptions = {}): BuiltNotification {
    const resource = this.depositResource(depositId, opts.status);
    return this.buildRawNotification(opts.eventType ?? this.options.depositEventType, resource, opts);
  }

  /** A signed notification of any event type; a string resource is sent (and signed) byte for byte. */
  buildRawNotification(
    eventType: string,
    resource: unknown,
    opts: RawNotificationOptions = {},
  ): BuiltNotification {
    return buildEnvelope({
      eventType,
      resource: typeof resource === 'string' ? resource : JSON.stringify(resource),
      notificationId: opts.notificationId ?? this.context.ids.uuid(),
      secret: opts.secret ?? this.options.webhookSecret,
      time: opts.time ?? this.options.now(),
    });
  }

  /** Builds and POSTs a deposit notification; rejects only when no HTTP answer came back. */
  async deliverNotification(
    url: string,
    depositId: string,
    opts: NotificationOptions = {},
  ): Promise<DeliveryResult> {
    return this.postNotification(url, this.buildNotification(depositId, opts));
  }

  /**
   * Run after every delivery answered 2xx, before the delivery resolves: a test's wait for what the
   * receiver does after its answer (its ingest consumer storing the notification). Interlace itself
   * has no such hook; the simulator's own deliveries (withdrawal notifications) run it too.
   */
  afterDelivery: ((url: string) => Promise<void>) | undefined;

  /** POSTs an already built notification (for example a duplicate, or a tampered one). */
  async postNotification(url: string, notification: BuiltNotification): Promise<DeliveryResult> {
    const record: SentNotification = {
      time: this.options.now(),
      url,
      notificationId: notification.envelope.id,
      eventType: notification.envelope.eventType,
      depositId: null,
      resourceStatus: null,
      status: null,
      error: null,
    };
    try {
      const resource = JSON.parse(notification.envelope.resource) as { id?: unknown; status?: unknown };
      if (typeof resource.id === 'string') record.depositId = resource.id;
      if (typeof resource.status === 'string') record.resourceStatus = resource.status;
    } catch {
      // A deliberately malformed resource: nothing to note.
    }
    try {
      const result = await postNotification(
        url,
        notification,
        this.options.deliveryTimeoutMs,
        this.context.timers.signal,
      );
      record.status = result.status;
      if (this.afterDelivery && result.status >= 200 && result.status < 300) await this.afterDelivery(url);
      return result;
    } catch (error) {
      record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      throw error;
    } finally {
      if (this.sent.length >= SENT_LOG_LIMIT) this.sent.shift();
      this.sent.push(record);
      this.events.emit('notification', { ...record });
    }
  }

  /** The receiver's webhook URL the simulator notifies on its own (withdrawals, deposits to addresses). */
  get webhookUrl(): string | undefined {
    return this.context.books.webhookUrl;
  }

  /** Where withdrawal status notifications go (the receiver's webhook URL); undefined stops them. */
  setWebhookUrl(url: string | undefined): void {
    this.context.books.webhookUrl = url;
  }

  /** Sets a pair's rate (quote per base, e.g. "1.02" for USDC-USD): the next trade re-quotes at it. */
  setConvertRate(symbol: string, rate: string): void {
    this.context.books.setRate(symbol, rate);
  }

  /** Conversion trades, oldest first. */
  trades(): SimTrade[] {
    return this.context.books.trades();
  }

  /** Blockchain transfers out (withdrawals), oldest first. */
  withdrawals(): SimWithdrawal[] {
    return this.context.books.withdrawals();
  }

  /** Infinity USD -> CryptoConnect transfers (payout fundings), oldest first. */
  fundings(): (SimTransfer & { walletId: string })[] {
    return this.context.state.fundings();
  }

  /** Moves a withdrawal to a status (the chain confirmed it, compliance held it...) and notifies the receiver. */
  setWithdrawalStatus(withdrawalId: string, status: WithdrawalStatus): SimWithdrawal {
    const changed = changeWithdrawalStatus(this.context, withdrawalId, status);
    this.withdrawalChanged(changed);
    return changed;
  }

  /** Re-sends a withdrawal's current status notification (a redelivery, or one the receiver missed). */
  async notifyWithdrawal(withdrawalId: string): Promise<DeliveryResult | null> {
    const withdrawal = this.context.books.withdrawal(withdrawalId);
    if (withdrawal === undefined) throw new Error(`withdrawal ${withdrawalId} does not exist`);
    const url = this.context.books.webhookUrl;
    if (url === undefined) return null;
    const notification = this.buildRawNotification(
      this.options.withdrawalEventType,
      viewWithdrawal(withdrawal),
    );
    return this.postNotification(url, notification);
  }

  /** Pending is notified now; unless a fault keeps it Pending, the next status follows withdrawConfirmMs later. */
  private withdrawalCreated(withdrawal: SimWithdrawal, fault: string | null): void {
    this.withdrawalChanged(withdrawal);
    const next: WithdrawalStatus | null =
      fault === 'withdraw-stuck'
        ? null
        : fault === 'withdraw-on-hold'
          ? 'ON_HOLD'
          : fault === 'withdraw-failed'
            ? 'Failed'
            : 'Closed';
    if (next === null) return;
    // After the Pending delivery has been attempted, so the receiver normally sees the statuses in order.
    const pending = this.deliveries.get(withdrawal.id) ?? Promise.resolve();
    void pending
      .then(() => this.context.timers.delay(this.options.withdrawConfirmMs))
      .then(
        () => this.setWithdrawalStatus(withdrawal.id, next),
        () => undefined,
      );
  }

  private readonly deliveries = new Map<string, Promise<void>>();

  /** Emits the change and queues its notification behind the withdrawal's earlier ones. */
  private withdrawalChanged(withdrawal: SimWithdrawal): void {
    this.events.emit('withdrawal', structuredClone(withdrawal));
    const url = this.context.books.webhookUrl;
    if (url === undefined) return;
    const notification = this.buildRawNotification(
      this.options.withdrawalEventType,
      viewWithdrawal(withdrawal),
    );
    const previous = this.deliveries.get(withdrawal.id) ?? Promise.resolve();
    const delivery = previous.then(() => this.deliverWithRetries(url, notification));
    this.deliveries.set(withdrawal.id, delivery);
  }

  private async deliverWithRetries(url: string, notification: BuiltNotification): Promise<void> {
    for (let attempt = 1; attempt <= WITHDRAWAL_DELIVERY_ATTEMPTS; attempt += 1) {
      try {
        const result = await this.postNotification(url, notification);
        if (result.status >= 200 && result.status < 300) return;
      } catch {
        // No answer: retried like any other failed delivery.
      }
      if (this.context.timers.signal.aborted) return;
      try {
        await this.context.timers.delay(
          Math.min(WITHDRAWAL_RETRY_BASE_MS * 2 ** (attempt - 1), WITHDRAWAL_RETRY_MAX_MS),
        );
      } catch {
        return;
      }
    }
  }

  /** Every notification delivery attempted, oldest first. */
  notifications(): SentNotification[] {
    return this.sent.map((record) => ({ ...record }));
  }

  /** The transfer ledger, oldest first. */
  transfers(): SimTransfer[] {
    return this.context.state.transfers();
  }

  /**
   * The transfer calls received for one clientTransactionId (or for all): how many, how many were
   * answered CLOSED, and when calls came again after that. "Exactly once" is checked on these.
   */
  transferCalls(clientTransactionId: string): TransferCalls;
  transferCalls(): TransferCalls[];
  transferCalls(clientTransactionId?: string): TransferCalls | TransferCalls[] {
    return clientTransactionId === undefined
      ? this.context.calls.all()
      : this.context.calls.get(clientTransactionId);
  }

  transferCount(): number {
    return this.context.state.transferCount();
  }

  /** The account's CryptoConnect wallets (master ones only, or none of them, when `master` is given). */
  wallets(accountId: string, master?: boolean): CryptoConnectWallet[] {
    return this.context.state.listWallets(accountId, master);
  }

  wallet(walletId: string): CryptoConnectWallet | undefined {
    return this.context.state.wallet(walletId);
  }

  /** The account's walletType 0 Infinity wallet of a currency. */
  infinityWallet(accountId: string, currency = 'USD'): InfinityWallet | undefined {
    return this.context.state.infinityWallet(accountId, currency);
  }

  /** All Infinity wallets of the account, whatever their type. */
  infinityWallets(accountId: string): InfinityWallet[] {
    return this.context.state.infinityWallets(accountId);
  }

  /** Open API calls, oldest first (about the latest 100,000), or only those after `sinceSeq`. */
  requests(sinceSeq?: number): RequestLogEntry[] {
    return this.context.log.list(sinceSeq);
  }

  /** How many Open API calls arrived since the last reset. */
  requestCount(): number {
    return this.context.log.count;
  }

  tokensIssued(): TokenInfo[] {
    return this.context.tokens.issued();
  }

  /** Per currency: deposited, transferred out, fees, USD credited; transferredOut = usdCredited + fees. */
  summary(): SimSummary {
    return this.context.state.summary(this.context.log.count);
  }

  /** Every issued token expires now. */
  expireTokens(): void {
    this.context.tokens.expireAll();
  }

  /** Every issued token is revoked now. */
  revokeTokens(): void {
    this.context.tokens.revokeAll();
  }

  /** Forgets all state, tokens, logs and faults, and restarts the seeded streams. Keeps listening. */
  reset(): void {
    resetContext(this.context);
    this.sent = [];
    this.deliveries.clear();
  }

  /** Resolves with the next `event` payload matching `predicate`; rejects after timeoutMs or on close(). */
  waitFor<K extends keyof SimEvents>(
    event: K,
    predicate: (...args: SimEvents[K]) => boolean = () => true,
    timeoutMs = 10_000,
  ): Promise<SimEvents[K][0]> {
    return new Promise((resolve, reject) => {
      const signal = this.context.timers.signal;
      if (signal.aborted) {
        reject(new Error(`simulator closed while waiting for "${event}"`));
        return;
      }
      const cleanup = (): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.events.off(event, listener as never);
      };
      const listener = (...args: SimEvents[K]): void => {
        if (!predicate(...args)) return;
        cleanup();
        resolve(args[0]);
      };
      const onAbort = (): void => {
        cleanup();
        reject(new Error(`simulator closed while waiting for "${event}"`));
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`no "${event}" event within ${timeoutMs} ms`));
      }, timeoutMs);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      this.events.on(event, listener as never);
    });
  }

  /** Resolves true once `condition()` holds (re-checked on every event), false after timeoutMs. */
  waitUntil(condition: () => boolean, timeoutMs: number): Promise<boolean> {
    if (condition()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const signal = this.context.timers.signal;
      if (signal.aborted) {
        resolve(condition());
        return;
      }
      const names = ['request', 'transfer', 'notification', 'trade', 'withdrawal'] as const;
      const done = (result: boolean): void => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        for (const name of names) this.events.off(name, check);
        resolve(result);
      };
      const check = (): void => {
        if (condition()) done(true);
      };
      const onAbort = (): void => done(condition());
      const timer = setTimeout(() => done(condition()), timeoutMs);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
      for (const name of names) this.events.on(name, check);
    });
  }
}
