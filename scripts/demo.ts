/**
 * `npm run demo`: the whole service on one machine in a few seconds. An in-process Interlace simulator,
 * the receiver and a sweep worker run against a Redis under a throw-away prefix; a handful of deposits
 * (with duplicates, faults and bad data) go through real signed webhooks, and the outcome is printed
 * for a treasury/ops reader, ending with the exactly-once verdict.
 *
 *   npm run demo               run, report, clean up, exit 0 (1 if a check fails)
 *   npm run demo -- --keep     same, then keep serving (dashboard, webhook URL) until Ctrl-C
 *
 * Environment: REDIS_URL (default redis://127.0.0.1:6379, else a redis-server from PATH is started),
 * DEMO_PORT (receiver port, default ephemeral), LOG_LEVEL (default warn).
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';
import type { MerchantEventBody } from '../src/merchant-events/merchant-event.js';
import { Job, Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { loadConfig, type Config } from '../src/config.js';
import type { DepositRecord } from '../src/deposits/deposit-state.js';
import type { DepositStatus } from '../src/interlace/types.js';
import { createKeys, type Keys } from '../src/keys.js';
import { createLogger } from '../src/logger.js';
import { DEAD_LETTER_QUEUE, SWEEP_QUEUE, sweepJobId, type DeadLetterData } from '../src/queues/names.js';
import { startApi } from '../src/server.js';
import {
  createSimulator,
  type BuiltNotification,
  type Fault,
  type Simulator,
  type SimTransfer,
} from '../simulator/simulator.js';
import { Decimal } from '../src/sweep/decimal.js';
import { sweepTransactionId } from '../src/sweep/transaction-id.js';
import { startWorkers } from '../workers/start-workers.js';
import { findOrStartRedis, type LocalRedis } from './local-redis.js';
import { createPayout } from '../src/payouts/payout-commands.js';
import { createPayoutStore } from '../src/payouts/payout-store.js';
import type { PayoutRecord } from '../src/payouts/payout-record.js';
import { PAYOUT_QUEUE, payoutJobId, type PayoutJobData } from '../src/queues/names.js';
import type { Logger } from '../src/logger.js';
import { apiKeyEntry, generateApiKey } from '../src/merchant-api/api-keys.js';

const KEEP = process.argv.slice(2).includes('--keep');
const CLIENT_ID = 'demo-client';
const SIM_SEED = 42;
const INFINITY_USD_START = '2500.00';
// Short enough to keep the demo quick, long enough that a loaded laptop does not time out by accident.
const INTERLACE_TIMEOUT_MS = 1_000;
const SWEEP_WAIT_MS = 20_000;
/** The demo's payout: swept USD out of Infinity, converted, and sent to an external address. */
const PAYOUT_USD = '25.00';
const PAYOUT_ADDRESS = '0x89F9Cfaa0dA076351DdfC6E320bD8df8b538dB17';
/** The merchant's backend calls the merchant API with this key (configured hashed, as an operator would). */
const API_KEY = generateApiKey();

/** The merchant's two customers: each gets a wallet and a deposit address through the merchant API. */
const CUSTOMERS = [
  { externalId: 'cust-alice', name: 'Alice', currency: 'USDC', chain: 'ETH' },
  { externalId: 'cust-bob', name: 'Bob', currency: 'USDT', chain: 'TRON' },
] as const;

/** The signing secret shared with the merchant's backend (Standard Webhooks' whsec_ form). */
const MERCHANT_SECRET = `whsec_${randomBytes(32).toString('base64')}`;
const EVENTS_WAIT_MS = 10_000;

/** A customer as the merchant API answered: this service's wallet id and the address to pay to. */
type Customer = { externalId: string; name: string; walletId: string; address: string; chain: string };

/** Exit code once the report is printed; a Ctrl-C before that exits 130. */
let verdictCode: number | undefined;
let interrupted = false;

type Expected = 'swept' | 'dust' | 'unsupported' | 'held' | 'invalid';

type Stack = {
  config: Config;
  logger: Logger;
  redis: LocalRedis;
  client: Redis;
  prefix: string;
  keys: Keys;
  sim: Simulator;
  simUrl: string;
  webhookUrl: string;
  dashboardUrl: string;
  accountId: string;
  walletIds: [string, string];
  sweepQueue: Queue;
  deadQueue: Queue<DeadLetterData>;
  queueEvents: QueueEvents;
  /** The merchant API (the receiver's public port). */
  apiUrl: string;
  /** Resolves once the receiver's ingest consumer has stored every notification delivered so far. */
  ingested: () => Promise<void>;
  /** Filled in by createCustomers, before the deposits. */
  customers: Customer[];
  /** The merchant's backend: the signed events it verified, and how many it refused. */
  merchant: { events: MerchantEventBody[]; refused: number };
};

type Scenario = {
  label: string;
  wallet: 0 | 1;
  /** Paid by a customer to their own deposit address (instead of into treasury wallet `wallet`). */
  customer?: 0 | 1;
  currency: string;
  /** The amount on chain; `notified` overrides what the notification says (a bad upstream value). */
  amount: string;
  notified?: string;
  /** Upstream status when the deposit appears; CLOSED (credited) unless said otherwise. */
  status?: DepositStatus;
  expected: Expected;
  /** Injected on the next transfer call; the scenario runs alone so the fault lands on its deposit. */
  fault?: Fault;
  /** How Interlace notifies the receiver; one signed notification of the current status by default. */
  deliver?: (stack: Stack, depositId: string) => Promise<void>;
};

type Case = {
  n: number;
  label: string;
  expected: Expected;
  depositId: string;
  currency: string;
  amount: string;
};

type Row = Case & {
  record: DepositRecord | undefined;
  state: string;
  notifications: number;
  transfers: SimTransfer[];
  calls: string[];
  deadReason: string | undefined;
};

/** LIFO teardown that survives a failing step, so one stuck part never leaves Redis keys behind. */
class Cleanup {
  private readonly steps: { name: string; run: () => Promise<unknown> }[] = [];

  add(name: string, run: () => Promise<unknown>): void {
    this.steps.push({ name, run });
  }

  async run(): Promise<void> {
    for (let step = this.steps.pop(); step !== undefined; step = this.steps.pop()) {
      try {
        await step.run();
      } catch (error) {
        console.error(`cleanup: ${step.name} failed: ${message(error)}`);
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Start-up

async function startStack(cleanup: Cleanup): Promise<Stack> {
  const redis = await findOrStartRedis(process.env.REDIS_URL || 'redis://127.0.0.1:6379');
  cleanup.add('stop redis-server', () => redis.stop());
  const prefix = `demo-${randomBytes(4).toString('hex')}`;
  const client = new Redis(redis.url, { maxRetriesPerRequest: null });
  cleanup.add('close Redis client', () => client.quit());
  // Registered before the service parts, so it runs after they have closed and can no longer write.
  cleanup.add('delete demo keys', () => deleteKeys(client, prefix));

  const clientSecret = randomBytes(16).toString('hex');
  const sim = createSimulator({ clientId: CLIENT_ID, clientSecret, seed: SIM_SEED });
  const { url: simUrl } = await sim.listen(0);
  cleanup.add('close simulator', () => sim.close());
  const { accountId } = sim.createAccount({ usdAvailable: INFINITY_USD_START });
  const walletIds: [string, string] = [
    sim.createWallet(accountId, { nickname: 'treasury-1' }).id,
    sim.createWallet(accountId, { nickname: 'treasury-2' }).id,
  ];

  const merchant = await startMerchantBackend();
  cleanup.add('stop the merchant backend', () => merchant.close());
  const config = demoConfig(redis.url, prefix, simUrl, clientSecret, accountId, walletIds[0], merchant.url);
  const logger = createLogger({ level: config.logLevel, name: 'demo' }, readableLogs());
  const workers = await startWorkers(config, logger);
  cleanup.add('stop worker', () => workers.close());
  const api = await startApi(config, logger);
  cleanup.add('stop receiver', () => api.close());
  // Interlace notifies the receiver of each blockchain transfer's status (the payout at the end).
  sim.setWebhookUrl(`${api.url}/webhooks/interlace`);

  const sweepQueue = new Queue(SWEEP_QUEUE, { connection: client, prefix });
  const deadQueue = new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, { connection: client, prefix });
  const queueEvents = new QueueEvents(SWEEP_QUEUE, { connection: { url: redis.url }, prefix });
  cleanup.add('close queues', () =>
    Promise.all([sweepQueue.close(), deadQueue.close(), queueEvents.close()]),
  );
  await queueEvents.waitUntilReady();

  const password = config.dashboard?.password ?? '';
  return {
    config,
    logger,
    redis,
    client,
    prefix,
    keys: createKeys(prefix),
    sim,
    simUrl,
    webhookUrl: `${api.url}/webhooks/interlace`,
    dashboardUrl: api.url.replace('http://', `http://demo:${password}@`) + '/admin/queues',
    accountId,
    walletIds,
    sweepQueue,
    deadQueue,
    queueEvents,
    apiUrl: api.url,
    ingested: () => api.ingest.caughtUp(),
    customers: [],
    merchant: merchant.received,
  };
}

/**
 * The merchant's backend, as small as one can be: it verifies each event's signature with the
 * standardwebhooks package over the raw body (docs/merchant-events.md) and keeps what it verified.
 */
async function startMerchantBackend() {
  const webhook = new Webhook(MERCHANT_SECRET);
  const received = { events: [] as MerchantEventBody[], refused: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const headers = Object.fromEntries(
          Object.entries(req.headers).filter(
            (entry): entry is [string, string] => typeof entry[1] === 'string',
          ),
        );
        const event = webhook.verify(Buffer.concat(chunks).toString('utf8'), headers) as MerchantEventBody;
        // At least once: a repeat (same webhook-id) is recognised and acknowledged, not counted twice.
        if (!received.events.some((known) => known.id === event.id)) received.events.push(event);
        res.writeHead(204).end();
      } catch {
        received.refused += 1;
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/hooks/interlace-sweep`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function demoConfig(
  redisUrl: string,
  prefix: string,
  simUrl: string,
  clientSecret: string,
  accountId: string,
  payoutWalletId: string,
  merchantWebhookUrl: string,
): Config {
  return loadConfig({
    PAYOUT_ACCOUNT_ID: accountId,
    PAYOUT_WALLET_ID: payoutWalletId,
    NODE_ENV: 'demo',
    REDIS_URL: redisUrl,
    QUEUE_PREFIX: prefix,
    INTERLACE_BASE_URL: simUrl,
    INTERLACE_CLIENT_ID: CLIENT_ID,
    INTERLACE_CLIENT_SECRET: clientSecret,
    INTERLACE_TIMEOUT_MS: String(INTERLACE_TIMEOUT_MS),
    PORT: process.env.DEMO_PORT || '0',
    HOST: '127.0.0.1',
    DASHBOARD_USER: 'demo',
    // base64url: safe to paste inside a URL's user-info part.
    DASHBOARD_PASSWORD: randomBytes(12).toString('base64url'),
    SWEEP_BACKOFF_MS: '200',
    SWEEP_MIN_AMOUNT: '1',
    // The customers' wallets are made through the merchant API; the scripted scenarios' deposits go to
    // two treasury wallets made directly in the simulator, swept as the demo always did.
    UNKNOWN_WALLET_DEPOSITS: 'sweep',
    MERCHANT_API_KEYS: apiKeyEntry('demo-backend', API_KEY, ['read', 'write']),
    INTERLACE_ACCOUNT_ID: accountId,
    MERCHANT_WEBHOOK_URL: merchantWebhookUrl,
    MERCHANT_WEBHOOK_SECRET: MERCHANT_SECRET,
    SHUTDOWN_TIMEOUT_MS: '5000',
    LOG_LEVEL: process.env.LOG_LEVEL || 'warn',
  });
}

/** Service logs as one short line each on stderr, so they read as narration next to the report. */
function readableLogs(): { write(line: string): void } {
  const levels: Record<number, string> = {
    10: 'trace',
    20: 'debug',
    30: 'info',
    40: 'warn',
    50: 'error',
    60: 'fatal',
  };
  const fields = ['component', 'depositId', 'attempt', 'state', 'change', 'category', 'reason', 'waitMs'];
  return {
    write(line: string) {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        const parts = fields
          .filter((key) => entry[key] !== undefined)
          // Short ids, as in the report's table.
          .map((key) => `${key}=${key === 'depositId' ? short(String(entry[key])) : String(entry[key])}`);
        const err = (entry.err as { message?: unknown } | undefined)?.message;
        if (typeof err === 'string') parts.push(`error="${err}"`);
        const level = levels[entry.level as number] ?? String(entry.level);
        process.stderr.write(`    [${level}] ${String(entry.msg)}  ${parts.join(' ')}\n`);
      } catch {
        process.stderr.write(line);
      }
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// Deposits

async function post(stack: Stack, notification: BuiltNotification, times = 1): Promise<void> {
  for (let i = 0; i < times; i += 1) await stack.sim.postNotification(stack.webhookUrl, notification);
}

const notifyOnce = (stack: Stack, depositId: string) => post(stack, stack.sim.buildNotification(depositId));

const SCENARIOS: Scenario[] = [
  {
    label: 'Alice pays to her address',
    wallet: 0,
    customer: 0,
    currency: 'USDC',
    amount: '120',
    expected: 'swept',
  },
  { label: 'Alice pays again', wallet: 0, customer: 0, currency: 'USDC', amount: '30.5', expected: 'swept' },
  {
    label: 'Bob pays to his address',
    wallet: 0,
    customer: 1,
    currency: 'USDT',
    amount: '75',
    expected: 'swept',
  },
  {
    label: 'PENDING, then CLOSED',
    wallet: 0,
    currency: 'USDC',
    amount: '250',
    status: 'PENDING',
    expected: 'swept',
    async deliver(stack, depositId) {
      await notifyOnce(stack, depositId);
      stack.sim.setDepositStatus(depositId, 'CLOSED');
      await notifyOnce(stack, depositId);
    },
  },
  {
    label: 'CLOSED redelivered 3 times',
    wallet: 0,
    currency: 'USDT',
    amount: '1200.5',
    expected: 'swept',
    // Interlace redelivers the same notification (same id, same signature) when it doubts delivery.
    deliver: (stack, depositId) => post(stack, stack.sim.buildNotification(depositId), 3),
  },
  {
    label: 'CLOSED 5 times at once',
    wallet: 1,
    currency: 'USDC',
    amount: '75.25',
    expected: 'swept',
    async deliver(stack, depositId) {
      const notification = stack.sim.buildNotification(depositId);
      await Promise.all(Array.from({ length: 5 }, () => post(stack, notification)));
    },
  },
  { label: 'WUSD deposit', wallet: 1, currency: 'WUSD', amount: '500', expected: 'swept' },
  { label: 'dust (below SWEEP_MIN_AMOUNT)', wallet: 0, currency: 'USDC', amount: '0.5', expected: 'dust' },
  { label: 'unsupported currency', wallet: 1, currency: 'BTC', amount: '0.01', expected: 'unsupported' },
  {
    label: 'ON_HOLD (compliance hold)',
    wallet: 0,
    currency: 'USDT',
    amount: '900',
    status: 'ON_HOLD',
    expected: 'held',
  },
  {
    label: '1st transfer: HTTP 500',
    wallet: 1,
    currency: 'USDC',
    amount: '40',
    expected: 'swept',
    fault: { kind: 'http-500' },
  },
  {
    label: '1st transfer: timeout after commit',
    wallet: 0,
    currency: 'USDT',
    amount: '60',
    expected: 'swept',
    // Held past the client's timeout: Interlace committed the transfer but the answer never arrives.
    fault: { kind: 'timeout-after-commit', delayMs: 3 * INTERLACE_TIMEOUT_MS },
  },
  {
    label: 'signed, but amount "1e3"',
    wallet: 1,
    currency: 'USDC',
    amount: '1000',
    notified: '1e3',
    expected: 'invalid',
    async deliver(stack, depositId) {
      const resource = { ...stack.sim.depositResource(depositId), amount: '1e3' };
      await post(stack, stack.sim.buildRawNotification(stack.sim.options.depositEventType, resource));
    },
  },
];

/** The deposit appears on chain in the simulator, then Interlace notifies the receiver. */
async function send(stack: Stack, scenario: Scenario): Promise<string> {
  const customer = scenario.customer === undefined ? undefined : stack.customers[scenario.customer];
  const { id } = customer
    ? stack.sim.depositToAddress({
        address: customer.address,
        amount: scenario.amount,
        status: scenario.status ?? 'CLOSED',
      })
    : stack.sim.creditDeposit({
        walletId: stack.walletIds[scenario.wallet],
        currency: scenario.currency,
        amount: scenario.amount,
        status: scenario.status ?? 'CLOSED',
      });
  await (scenario.deliver ?? notifyOnce)(stack, id);
  // The receiver answered once the notification was in its event log; the sweep job comes right after.
  await stack.ingested();
  return id;
}

/**
 * Sends every scenario, waiting on BullMQ events (never sleeping) for the sweeps. A faulted scenario
 * runs alone: scripted faults hit the next transfer call, whichever deposit makes it.
 */
async function runScenarios(stack: Stack): Promise<{ cases: Case[]; outcomes: Map<string, string> }> {
  const cases: Case[] = [];
  const waits = new Map<string, Promise<string>>();
  const settle = async () =>
    new Map(await Promise.all([...waits].map(async ([id, wait]) => [id, await wait] as const)));
  for (const [index, scenario] of SCENARIOS.entries()) {
    if (scenario.fault) {
      await settle();
      stack.sim.faults.enqueue('transfer', scenario.fault);
    }
    const amount = scenario.notified ?? scenario.amount;
    console.log(`  #${pad(String(index + 1), 2)} ${pad(scenario.label, 36)} ${scenario.currency} ${amount}`);
    const depositId = await send(stack, scenario);
    const { label, currency, expected } = scenario;
    const item: Case = { n: index + 1, label, expected, depositId, currency, amount };
    cases.push(item);
    waits.set(item.depositId, waitForSweep(stack, item.depositId));
    if (scenario.fault) await waits.get(item.depositId);
  }
  return { cases, outcomes: await settle() };
}

async function waitForSweep(stack: Stack, depositId: string): Promise<string> {
  const job = await Job.fromId(stack.sweepQueue, sweepJobId(depositId));
  if (!job) return 'no sweep job';
  try {
    await job.waitUntilFinished(stack.queueEvents, SWEEP_WAIT_MS);
    return 'completed';
  } catch (error) {
    return `failed: ${message(error)}`;
  }
}

// ---------------------------------------------------------------------------------------------------
// Customers (the merchant API)

/** Calls the merchant API as the merchant's backend does; throws with the answer unless it is 2xx. */
async function merchantApi<T>(
  stack: Stack,
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${stack.apiUrl}${path}`, {
    method,
    headers: { 'x-api-key': API_KEY, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}: ${text.slice(0, 300)}`);
  return JSON.parse(text) as T;
}

/** Each customer's wallet (POST /wallets) and deposit address (POST /wallets/{id}/addresses). */
async function createCustomers(stack: Stack): Promise<Customer[]> {
  console.log('Customers: a wallet and a deposit address each, made through the merchant API');
  const customers: Customer[] = [];
  for (const customer of CUSTOMERS) {
    const wallet = await merchantApi<{ id: string; wallet_id: string }>(stack, 'POST', '/wallets', {
      name: customer.name,
      external_id: customer.externalId,
    });
    const address = await merchantApi<{ address: string; chain: string }>(
      stack,
      'POST',
      `/wallets/${wallet.id}/addresses`,
      { currency: customer.currency, chain: customer.chain },
    );
    customers.push({
      externalId: customer.externalId,
      name: customer.name,
      walletId: wallet.id,
      address: address.address,
      chain: address.chain,
    });
    console.log(
      `  ${pad(customer.externalId, 11)} ${pad(customer.name, 6)} wallet ${short(wallet.id)} ` +
        `(Interlace ${short(wallet.wallet_id)}), pays ${customer.currency} on ${address.chain} to ${address.address}`,
    );
  }
  return customers;
}

type ApiDeposit = {
  id: string;
  external_id: string;
  state: string;
  currency: string;
  amount: string;
  net_usd: string | null;
  fee: string | null;
};

/**
 * What the merchant's backend sees per customer (GET /wallets/{id}/deposits), checked against the
 * scenarios paid to each customer's address. Answers whether every deposit was attributed.
 */
async function printCustomers(stack: Stack, cases: Case[]): Promise<boolean> {
  console.log("\nPer customer (GET /wallets/{id}/deposits; every deposit carries its wallet's external_id)");
  let attributed = true;
  for (const [index, customer] of stack.customers.entries()) {
    const { data } = await merchantApi<{ data: ApiDeposit[] }>(
      stack,
      'GET',
      `/wallets/${customer.walletId}/deposits`,
    );
    const paid = cases.filter((item) => SCENARIOS[item.n - 1]?.customer === index);
    const swept = data.filter((deposit) => deposit.state === 'swept');
    const gross = swept.reduce((sum, deposit) => sum.plus(deposit.amount), new Decimal(0));
    const net = swept.reduce((sum, deposit) => sum.plus(deposit.net_usd ?? '0'), new Decimal(0));
    const currencies = [...new Set(swept.map((deposit) => deposit.currency))].join('+');
    const ids = new Set(data.map((deposit) => deposit.id));
    attributed &&=
      data.length === paid.length &&
      paid.every((item) => ids.has(item.depositId)) &&
      data.every((deposit) => deposit.external_id === customer.externalId);
    console.log(
      `  ${pad(customer.externalId, 11)} ${pad(customer.name, 6)} ${data.length} deposit(s), ${swept.length} swept: ` +
        `${gross.toFixed()} ${currencies || ''} received, ${usd(net)} USD net credited to Infinity`.replace(
          '  ',
          ' ',
        ),
    );
  }
  console.log(`  ${pad('every deposit attributed', 32)} ${attributed ? 'yes' : 'NO'}`);
  return attributed;
}

/**
 * The signed events the merchant's backend verified, waited for (a deadline, polled) until every
 * recorded deposit has its deposit.received and the event of the state it ended in. Answers whether
 * all arrived, each verified, each customer's with its external_id.
 */
async function printMerchantEvents(stack: Stack, cases: Case[]): Promise<boolean> {
  const records = await Promise.all(
    cases.map(
      async (item) => [item, await stack.client.hget(stack.keys.deposit(item.depositId), 'state')] as const,
    ),
  );
  const expected = records.flatMap(([item, state]) => {
    if (state === null) return [];
    const ending = {
      swept: 'deposit.swept',
      held: 'deposit.held',
      failed: 'deposit.failed',
      dead: 'deposit.failed',
    }[state];
    return [`${item.depositId}/deposit.received`, ...(ending ? [`${item.depositId}/${ending}`] : [])];
  });
  const got = () => new Set(stack.merchant.events.map((event) => `${event.data.deposit_id}/${event.type}`));
  const until = Date.now() + EVENTS_WAIT_MS;
  while (expected.some((key) => !got().has(key)) && Date.now() < until)
    await new Promise((resolve) => setTimeout(resolve, 50));
  const missing = expected.filter((key) => !got().has(key));
  const byType = new Map<string, number>();
  for (const event of stack.merchant.events) byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
  console.log(
    '\nMerchant events (signed, to MERCHANT_WEBHOOK_URL; the backend verified each with standardwebhooks)',
  );
  console.log(
    `  ${pad('received by the backend', 32)} ${stack.merchant.events.length}: ${[...byType].map(([type, n]) => `${n} ${type}`).join(', ')}`,
  );
  const customersOk = stack.customers.every((customer, index) => {
    const paid = cases
      .filter((item) => SCENARIOS[item.n - 1]?.customer === index)
      .map((item) => item.depositId);
    const theirs = stack.merchant.events.filter((event) => paid.includes(event.data.deposit_id));
    console.log(
      `  ${pad(customer.externalId, 32)} ${theirs.map((event) => `${event.type} ${event.data.amount} ${event.data.currency}`).join(', ')}`,
    );
    return (
      theirs.length === paid.length * 2 &&
      theirs.every((event) => event.data.external_id === customer.externalId)
    );
  });
  const ok = missing.length === 0 && stack.merchant.refused === 0 && customersOk;
  console.log(
    `  ${pad('every event arrived and verified', 32)} ${ok ? 'yes' : `NO${missing.length ? `: missing ${missing.join(', ')}` : ''}${stack.merchant.refused ? `; ${stack.merchant.refused} refused` : ''}`}`,
  );
  return ok;
}

// ---------------------------------------------------------------------------------------------------
// Report

async function collectRows(stack: Stack, cases: Case[]): Promise<Row[]> {
  const dead = await deadLetters(stack);
  const ledger = stack.sim.transfers();
  const sent = stack.sim.notifications();
  const requests = stack.sim.requests().filter((entry) => entry.endpoint === 'transfer');
  return Promise.all(
    cases.map(async (item) => {
      const hash = await stack.client.hgetall(stack.keys.deposit(item.depositId));
      const record = Object.keys(hash).length > 0 ? (hash as unknown as DepositRecord) : undefined;
      const txId = sweepTransactionId(item.depositId);
      const deadReason = dead.find((letter) => letter.depositId === item.depositId)?.reason;
      const calls = requests
        .filter(
          (entry) => (entry.body as { clientTransactionId?: unknown } | null)?.clientTransactionId === txId,
        )
        .map((entry) => (entry.outcome === 'answered' ? `HTTP ${entry.status}` : entry.outcome));
      return {
        ...item,
        record,
        state: record?.state ?? (deadReason !== undefined ? 'dead letter' : 'not recorded'),
        notifications: record
          ? Number(record.notifications)
          : sent.filter((note) => note.depositId === item.depositId && note.status === 200).length,
        transfers: ledger.filter((transfer) => transfer.clientTransactionId === txId),
        calls,
        deadReason,
      };
    }),
  );
}

async function deadLetters(stack: Stack): Promise<DeadLetterData[]> {
  // Nothing consumes sweep-dead, so its entries stay waiting until an operator acts.
  const jobs = await stack.deadQueue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
  return jobs.filter((job) => job !== undefined).map((job) => job.data);
}

function printTable(rows: Row[]): void {
  const header = [
    '#',
    'scenario',
    'deposit',
    'ccy',
    'amount',
    'notifs',
    'state',
    'transfer',
    'fee',
    'net USD',
  ];
  const right = new Set([0, 4, 5, 9]);
  const lines = rows.map((row) => [
    String(row.n),
    row.label,
    short(row.depositId),
    row.currency,
    row.amount,
    String(row.notifications),
    row.state,
    row.record?.transferId ? short(row.record.transferId) : '-',
    row.record?.feeTotal ? `${row.record.feeTotal} ${row.record.feeCurrency ?? ''}`.trim() : '-',
    row.record?.netAmount ? usd(row.record.netAmount) : '-',
  ]);
  const widths = header.map((title, i) => Math.max(title.length, ...lines.map((line) => line[i]!.length)));
  const format = (cells: string[]) =>
    '  ' +
    cells
      .map((cell, i) => pad(cell, widths[i]!, right.has(i)))
      .join('  ')
      .trimEnd();
  console.log(format(header));
  console.log(format(widths.map((width) => '-'.repeat(width))));
  for (const line of lines) console.log(format(line));
}

/** Why each unswept deposit stayed put: the record's own reason where it has one. */
function printNotSwept(rows: Row[]): void {
  const unswept = rows.filter((row) => row.state !== 'swept');
  if (unswept.length === 0) return;
  console.log('\nNot swept, by design (the money stays in the CryptoConnect wallet)');
  for (const row of unswept) {
    const why =
      row.state === 'held'
        ? 'upstream ON_HOLD: never swept automatically, an operator decides'
        : (row.record?.reason ?? row.deadReason ?? 'no reason recorded');
    console.log(`  #${pad(String(row.n), 2)} ${short(row.depositId)}  ${pad(row.state, 11)}  ${why}`);
  }
}

function printFaults(rows: Row[]): void {
  const eventful = rows.filter(
    (row) => row.calls.length > 1 || row.calls.some((call) => call !== 'HTTP 200'),
  );
  if (eventful.length === 0) return;
  console.log('\nInterlace faults survived (transfer calls with the same clientTransactionId)');
  for (const row of eventful) {
    const replays = row.transfers.reduce((total, transfer) => total + transfer.replays, 0);
    const replayNote = replays > 0 ? '; the retry got the original transfer back' : '';
    console.log(
      `  #${row.n} ${short(row.depositId)}: ${row.calls.join(' -> ')}  => ${row.transfers.length} transfer${replayNote}`,
    );
  }
}

type Totals = {
  sent: number;
  answered: number;
  deposits: number;
  swept: Row[];
  ledger: number;
  feeTotal: Decimal;
  feeBreakdown: string;
  gross: Decimal;
  net: Decimal;
};

function totals(stack: Stack, rows: Row[]): Totals {
  const sent = stack.sim.notifications();
  const swept = rows.filter((row) => row.state === 'swept');
  const fees = new Map<string, Decimal>();
  for (const row of swept) {
    const currency = row.record?.feeCurrency ?? row.currency;
    fees.set(currency, (fees.get(currency) ?? new Decimal(0)).plus(row.record?.feeTotal ?? '0'));
  }
  const feeTotal = [...fees.values()].reduce((sum, fee) => sum.plus(fee), new Decimal(0));
  return {
    sent: sent.length,
    answered: sent.filter((note) => note.status === 200).length,
    deposits: new Set(sent.map((note) => note.depositId)).size,
    swept,
    ledger: stack.sim.transfers().length,
    feeTotal,
    feeBreakdown: [...fees].map(([currency, fee]) => `${fee.toFixed()} ${currency}`).join(' + ') || 'none',
    gross: swept.reduce((sum, row) => sum.plus(row.amount), new Decimal(0)),
    net: swept.reduce((sum, row) => sum.plus(row.record?.netAmount ?? '0'), new Decimal(0)),
  };
}

function printTotals(t: Totals, balanceBefore: string, balanceAfter: string): void {
  const delta = new Decimal(balanceAfter).minus(balanceBefore);
  const line = (label: string, value: string) => console.log(`  ${pad(label, 32)} ${value}`);
  console.log('\nTotals');
  const answered = t.answered === t.sent ? 'all' : `only ${t.answered}`;
  line('notifications sent', `${t.sent}, ${answered} answered 200 by the receiver`);
  line('deposits', String(t.deposits));
  line('duplicates suppressed', `${t.sent - t.deposits}  (notifications - deposits)`);
  line('swept deposits', String(t.swept.length));
  line('transfers in Interlace ledger', String(t.ledger));
  line('swept (gross, 1:1 stablecoins)', t.gross.toFixed());
  line('fees kept by Interlace', `${t.feeTotal.toFixed()}  (${t.feeBreakdown})`);
  line('net USD credited to Infinity', usd(t.net));
  line('Infinity USD balance', `${usd(balanceBefore)} -> ${usd(balanceAfter)}  (+${usd(delta)})`);
}

function printDeadLetters(letters: DeadLetterData[]): void {
  console.log(`\nDead letters (queue sweep-dead): ${letters.length}`);
  for (const letter of letters) {
    const who = letter.depositId ? `deposit ${short(letter.depositId)}` : 'no deposit id';
    console.log(`  ${who}  [${letter.kind}]  ${letter.reason}`);
  }
}

type Checks = { exactlyOnce: boolean; outcomes: string[]; money: boolean };

function check(stack: Stack, rows: Row[], t: Totals, delta: Decimal): Checks {
  // Calls, not only committed transfers (the simulator dedupes repeats): one CLOSED answer per swept
  // deposit, and no call after the ledger recorded it swept.
  const callsOnce = (row: Row) => {
    const calls = stack.sim.transferCalls(sweepTransactionId(row.depositId));
    return calls.confirmed === 1 && calls.lastCallAt <= Number(row.record?.sweptAt ?? 0);
  };
  const exactlyOnce =
    t.ledger === t.swept.length &&
    t.swept.every(
      (row) =>
        row.transfers.length === 1 && row.transfers[0]!.id === row.record?.transferId && callsOnce(row),
    );
  const sent = stack.sim.notifications();
  const outcomes: string[] = [];
  for (const row of rows) {
    // An invalid notification must leave no record at all, only its dead letter.
    const actual = row.record === undefined && row.deadReason !== undefined ? 'invalid' : row.state;
    if (actual !== row.expected) outcomes.push(`#${row.n} is ${row.state}, expected ${row.expected}`);
    const delivered = sent.filter((note) => note.depositId === row.depositId).length;
    if (row.notifications !== delivered)
      outcomes.push(`#${row.n} counted ${row.notifications} of ${delivered} notifications`);
    if (row.state !== 'swept' && row.transfers.length > 0)
      outcomes.push(`#${row.n} moved money but is ${row.state}`);
  }
  const ledgerNet = new Decimal(stack.sim.summary().usdCreditedTotal);
  const money = t.net.eq(delta) && ledgerNet.eq(delta) && t.gross.eq(t.net.plus(t.feeTotal));
  return { exactlyOnce, outcomes, money };
}

function printChecks(checks: Checks): void {
  console.log('\nChecks');
  const outcomes = checks.outcomes.length === 0 ? 'yes' : `NO: ${checks.outcomes.join('; ')}`;
  console.log(`  ${pad('every deposit ended as expected', 32)} ${outcomes}`);
  console.log(
    `  ${pad('money reconciles', 32)} ${checks.money ? 'yes (gross = net + fees; net = Infinity balance change = Interlace ledger)' : 'NO'}`,
  );
}

async function report(stack: Stack, cases: Case[], balanceBefore: string): Promise<boolean> {
  const rows = await collectRows(stack, cases);
  const balanceAfter = stack.sim.infinityWallet(stack.accountId)?.available ?? '0';
  console.log('\nDeposits (state = the deposit record in Redis)');
  printTable(rows);
  printNotSwept(rows);
  printFaults(rows);
  const t = totals(stack, rows);
  printTotals(t, balanceBefore, balanceAfter);
  printDeadLetters(await deadLetters(stack));
  console.log(`\nDashboard (Bull Board)  ${stack.dashboardUrl}`);
  console.log(
    KEEP ? '  user demo, password as in the URL' : '  (up only while the demo runs: npm run demo -- --keep)',
  );
  const checks = check(stack, rows, t, new Decimal(balanceAfter).minus(balanceBefore));
  printChecks(checks);
  console.log(`\nexactly once: ${checks.exactlyOnce ? 'OK' : 'VIOLATED'}`);
  return checks.exactlyOnce && checks.outcomes.length === 0 && checks.money;
}

// ---------------------------------------------------------------------------------------------------
// A payout

/**
 * One payout from the swept USD to an external address (issue #11): Infinity USD -> CryptoConnect, a
 * trade to USDC, the GAS fee, the blockchain transfer, and its Closed notification; then each step,
 * its idempotency value, the fees and what arrived, checked against the simulator's books.
 */
async function payoutDemo(stack: Stack): Promise<boolean> {
  console.log(`\nPayout: ${PAYOUT_USD} USD from Infinity to ${PAYOUT_ADDRESS} (ETH), as USDC`);
  const payouts = createPayoutStore(stack.client, stack.keys, {
    eventLogMaxLen: stack.config.eventLogMaxLen,
  });
  const payoutQueue = new Queue<PayoutJobData>(PAYOUT_QUEUE, {
    connection: stack.client,
    prefix: stack.prefix,
  });
  const events = new QueueEvents(PAYOUT_QUEUE, {
    connection: { url: stack.redis.url },
    prefix: stack.prefix,
  });
  try {
    await events.waitUntilReady();
    const infinityBefore = stack.sim.infinityWallet(stack.accountId)?.available ?? '0';
    const closed = stack.sim.waitFor(
      'notification',
      (n) => n.resourceStatus === 'Closed' && n.status === 200,
      SWEEP_WAIT_MS,
    );
    const { payout } = await createPayout(
      { config: stack.config, logger: stack.logger, payouts, payoutQueue },
      {
        external_id: 'demo-payout-1',
        amount: PAYOUT_USD,
        currency: 'USDC',
        chain: 'ETH',
        address: PAYOUT_ADDRESS,
      },
      'demo',
    );
    const job = await Job.fromId(payoutQueue, payoutJobId(payout.payoutId));
    await job?.waitUntilFinished(events, SWEEP_WAIT_MS).catch(() => undefined);
    await closed.catch(() => undefined);
    await stack.ingested();
    const record = (await payouts.get(payout.payoutId)) as PayoutRecord;
    printPayout(record, await payouts.history(payout.payoutId));
    const infinityAfter = stack.sim.infinityWallet(stack.accountId)?.available ?? '0';
    const withdrawals = stack.sim.withdrawals().filter((w) => w.idempotencyKey === record.withdrawKey);
    const checks = [
      ['confirmed', record.state === 'confirmed'],
      [
        `Infinity down by exactly ${PAYOUT_USD} USD`,
        new Decimal(infinityBefore).minus(infinityAfter).eq(PAYOUT_USD),
      ],
      ['one funding, one trade, one blockchain transfer', oneEach(stack, record)],
      ['arrived = what Interlace delivered', withdrawals[0]?.arrives === record.arrivedAmount],
    ] as const;
    for (const [label, ok] of checks) console.log(`  ${pad(label, 48)} ${ok ? 'yes' : 'NO'}`);
    const ok = checks.every(([, passed]) => passed);
    console.log(`\npayout exactly once: ${ok ? 'OK' : 'VIOLATED'}`);
    return ok;
  } finally {
    await events.close();
    await payoutQueue.close();
  }
}

function printPayout(record: PayoutRecord, history: { at: string; to: string; event: string }[]): void {
  const at = (state: string) => {
    const entry = history.find((h) => h.to === state);
    return entry ? new Date(Number(entry.at)).toISOString().slice(11, 23) : '--';
  };
  const rows: [string, string, string][] = [
    ['requested', `payout ${short(record.payoutId)} (external id ${record.externalId})`, ''],
    ['approved', record.approvedBy ?? '', ''],
    [
      'funded',
      `1. Infinity -> CryptoConnect ${record.fundedAmount ?? '?'} USD, transfer ${record.fundingTransferId ?? '?'}`,
      `clientTransactionId ${short(record.fundingId ?? '')}`,
    ],
    [
      'converted',
      `3. trade ${record.fundedAmount ?? '?'} USD -> ${record.boughtAmount ?? '?'} USDC at ${record.tradeRate ?? '?'}, fee ${record.tradeFee ?? '?'} ${record.tradeFeeCurrency ?? ''}`,
      `referenceId ${short(record.tradeReferenceId ?? '')}`,
    ],
    [
      'sent',
      `4-5. GAS ${record.gasFee ?? '?'} USDC; sent ${record.sentAmount ?? '?'} USDC, transfer ${short(record.withdrawTransferId ?? '')} Pending`,
      `idempotencyKey ${short(record.withdrawKey ?? '')}`,
    ],
    [
      'confirmed',
      `Closed, tx ${short(record.transactionHash ?? '')}: ${record.arrivedAmount ?? '?'} USDC arrived`,
      '',
    ],
  ];
  for (const [state, what, id] of rows)
    console.log(`  ${at(state)}  ${pad(state, 10)} ${what}${id ? `  (${id})` : ''}`);
  console.log(
    `  state ${record.state}; fees: ${record.tradeFee ?? '0'} ${record.tradeFeeCurrency ?? 'USD'} conversion + ${record.gasFee ?? '0'} USDC gas`,
  );
}

function oneEach(stack: Stack, record: PayoutRecord): boolean {
  return (
    stack.sim.fundings().filter((f) => f.clientTransactionId === record.fundingId).length === 1 &&
    stack.sim.trades().filter((t) => t.referenceId === record.tradeReferenceId).length === 1 &&
    stack.sim.withdrawals().filter((w) => w.idempotencyKey === record.withdrawKey).length === 1
  );
}

// ---------------------------------------------------------------------------------------------------
// Main

function printIntro(stack: Stack): void {
  const where = stack.redis.started ? 'started from PATH for this run' : 'already running';
  const keys = KEEP ? 'removed on Ctrl-C' : 'removed at the end';
  console.log('interlace-sweep demo\n');
  console.log(`  Redis      ${redact(stack.redis.url)} (${where}); keys under "${stack.prefix}:", ${keys}`);
  console.log(
    `  Interlace  simulator ${stack.simUrl} (seed ${SIM_SEED}); 1 account, 2 treasury CryptoConnect wallets`,
  );
  console.log(`  Receiver   ${stack.webhookUrl}`);
  console.log(`  API        ${stack.apiUrl}/wallets (the merchant API, X-API-Key)`);
  console.log(
    `  Worker     in-process; Interlace timeout ${INTERLACE_TIMEOUT_MS} ms, first retry after ~200 ms`,
  );
}

async function demo(cleanup: Cleanup, stopped: Promise<void>): Promise<number> {
  let stack: Stack;
  try {
    stack = await startStack(cleanup);
  } catch (error) {
    // The messages say what to do (findOrStartRedis's says how to get a Redis); a stack would bury them.
    console.error(message(error));
    return 1;
  }
  printIntro(stack);
  console.log('');
  stack.customers = await createCustomers(stack);
  console.log('Sending signed deposit notifications to the receiver (service logs, if any, on stderr)');
  const balanceBefore = stack.sim.infinityWallet(stack.accountId)?.available ?? '0';
  const started = Date.now();
  const { cases, outcomes } = await runScenarios(stack);
  const unfinished = [...outcomes].filter(
    ([, outcome]) => outcome !== 'completed' && outcome !== 'no sweep job',
  );
  console.log(`All sweeps finished in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const [id, outcome] of unfinished) console.log(`  sweep of ${short(id)}: ${outcome}`);
  const reported = await report(stack, cases, balanceBefore);
  const attributed = await printCustomers(stack, cases);
  const told = await printMerchantEvents(stack, cases);
  const paidOut = await payoutDemo(stack);
  verdictCode = reported && attributed && told && paidOut ? 0 : 1;
  if (KEEP) {
    console.log(`\nStill serving (--keep). Ctrl-C stops everything and removes the demo keys.`);
    console.log(`  webhook    ${stack.webhookUrl}`);
    console.log(`  dashboard  ${stack.dashboardUrl}`);
    console.log(`  simulator  ${stack.simUrl}/_sim`);
    await stopped;
  }
  return verdictCode;
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  // A closed pipe (`npm run demo | head`) must not kill the run before it has removed its keys.
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});
  const stopped = new Promise<void>((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
  const run = demo(cleanup, stopped).catch((error: unknown) => {
    // After a Ctrl-C, errors of the run being torn down under its feet are noise.
    if (!interrupted) console.error(`demo failed: ${describe(error)}`);
    return 1;
  });
  // Ctrl-C, or a crash in a callback, still tears everything down instead of leaving keys behind.
  const code = await Promise.race([
    run,
    stopped.then(() => {
      interrupted = verdictCode === undefined;
      return verdictCode ?? 130;
    }),
    new Promise<number>((resolve) => {
      const crash = (error: unknown) => {
        console.error(`demo crashed: ${describe(error)}`);
        resolve(1);
      };
      process.once('uncaughtException', crash);
      process.once('unhandledRejection', crash);
    }),
  ]);
  await cleanup.run();
  // After a normal run the verdict stays the last line; a Ctrl-C deserves an answer.
  if (interrupted) console.error('Interrupted: stopped everything; demo keys removed.');
  else if (KEEP) console.log('Stopped; demo keys removed.');
  process.exit(code);
}

// ---------------------------------------------------------------------------------------------------
// Helpers

async function deleteKeys(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1_000);
    cursor = next;
    if (keys.length > 0) await redis.unlink(...keys);
  } while (cursor !== '0');
}

function pad(value: string, width: number, right = false): string {
  return right ? value.padStart(width) : value.padEnd(width);
}

function short(id: string): string {
  return id.slice(0, 8);
}

function usd(value: string | Decimal): string {
  return new Decimal(value).toFixed(2);
}

function redact(url: string): string {
  const parsed = new URL(url);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

function describe(error: unknown): string {
  return error instanceof Error ? (error.stack ?? error.message) : String(error);
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

await main();
