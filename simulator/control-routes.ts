import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { z } from 'zod';
import { API_ENDPOINTS, parseFault } from './faults.js';
import type { FaultRates } from './faults.js';
import type { Simulator } from './simulator.js';
import { SimulatorError } from './simulator-error.js';
import { DEPOSIT_STATUSES } from './state.js';
import { WITHDRAWAL_STATUSES } from './payout-books.js';

const status = z.enum(DEPOSIT_STATUSES as ['PENDING', 'CLOSED', 'ON_HOLD', 'FAIL']);
const httpUrl = z.url({ protocol: /^https?$/ });

const accountBody = z
  .object({
    accountId: z.string().optional(),
    usdAvailable: z.string().optional(),
    masterWallets: z.boolean().optional(),
  })
  .strict();
const walletBody = z
  .object({
    accountId: z.string().min(1),
    walletId: z.string().optional(),
    nickname: z.string().optional(),
    referenceId: z.string().optional(),
    master: z.boolean().optional(),
  })
  .strict();
const depositBody = z
  .object({
    walletId: z.string().min(1),
    currency: z.string().min(1),
    amount: z.string(),
    status: status.optional(),
    chain: z.string().optional(),
    txHash: z.string().optional(),
    address: z.string().optional(),
    depositId: z.string().optional(),
  })
  .strict();
const statusBody = z.object({ status }).strict();
const addressDepositBody = z
  .object({
    amount: z.string(),
    currency: z.string().optional(),
    status: status.optional(),
    // Where the signed notification goes; default the configured webhook URL, none when neither is set.
    url: httpUrl.optional(),
  })
  .strict();
const notifyBody = z
  .object({
    url: httpUrl,
    statuses: z.array(status).min(1).max(10).optional(),
    copies: z.number().int().min(1).max(20).default(1),
    eventType: z.string().min(1).max(128).optional(),
  })
  .strict();
const rawNotifyBody = z
  .object({
    url: httpUrl,
    eventType: z.string().min(1).max(128),
    resource: z.unknown(),
    notificationId: z.string().min(1).max(128).optional(),
    secret: z.string().min(1).optional(),
  })
  .strict();
const enqueueItem = z
  .object({
    endpoint: z.enum([...API_ENDPOINTS, 'any']),
    fault: z.unknown(),
    times: z.number().int().min(1).max(100_000).default(1),
  })
  .strict();
const faultsBody = z
  .object({
    clear: z.boolean().optional(),
    rates: z.record(z.string(), z.unknown()).optional(),
    enqueue: z.union([enqueueItem, z.array(enqueueItem)]).optional(),
  })
  .strict();
const withdrawalStatusBody = z
  .object({ status: z.enum(WITHDRAWAL_STATUSES as ['Pending', 'Closed', 'ON_HOLD', 'Failed']) })
  .strict();
const webhookBody = z.object({ url: httpUrl.nullable() }).strict();
const rateBody = z.object({ symbol: z.string(), rate: z.string() }).strict();
const waitQuery = z.object({
  transfers: z.coerce.number().int().min(0).optional(),
  requests: z.coerce.number().int().min(0).optional(),
  notifications: z.coerce.number().int().min(0).optional(),
  timeoutMs: z.coerce.number().int().min(0).max(120_000).default(10_000),
});

/**
 * `/_sim`: the simulator's own control API, for the demo and chaos runs in another process. JSON in
 * and out; bad input is a 400 with a reason. Never subject to latency or faults.
 */
export function controlRouter(sim: Simulator): Router {
  const router = express.Router();
  router.use(express.json({ limit: '1mb' }));

  router.get('/healthz', (_req, res) => {
    res.json({ ok: true });
  });
  router.post('/accounts', (req, res) => {
    const body = parse(accountBody, req.body ?? {});
    const created = sim.createAccount(body);
    res.status(201).json({ ...created, infinityWallets: sim.infinityWallets(created.accountId) });
  });
  router.get('/accounts/:accountId', (req, res) => {
    const accountId = String(req.params['accountId']);
    const infinityWallets = sim.infinityWallets(accountId);
    if (infinityWallets.length === 0) throw new SimulatorError(404, `account ${accountId} does not exist`);
    res.json({ accountId, infinityWallets });
  });
  router.post('/wallets', (req, res) => {
    const { accountId, ...rest } = parse(walletBody, req.body);
    res.status(201).json(sim.createWallet(accountId, rest));
  });
  router.get('/wallets/:walletId', (req, res) => {
    const wallet = sim.wallet(String(req.params['walletId']));
    if (wallet === undefined)
      throw new SimulatorError(404, `wallet ${String(req.params['walletId'])} does not exist`);
    res.json(wallet);
  });
  router.post('/deposits', (req, res) => {
    res.status(201).json(sim.creditDeposit(parse(depositBody, req.body)));
  });
  // A customer pays to a deposit address: the deposit lands in the address's wallet, and Interlace's
  // signed notification of it goes to `url` (or the configured webhook URL).
  router.post('/addresses/:address/deposits', async (req, res) => {
    const body = parse(addressDepositBody, req.body);
    const deposit = sim.depositToAddress({
      address: String(req.params['address']),
      amount: body.amount,
      ...(body.currency ? { currency: body.currency } : {}),
      ...(body.status ? { status: body.status } : {}),
    });
    const url = body.url ?? sim.webhookUrl;
    const deliveries = url === undefined ? [] : await notify(sim, deposit.id, { url, copies: 1 });
    res.status(201).json({ deposit: sim.deposit(deposit.id), deliveries });
  });
  router.get('/deposits', (_req, res) => {
    res.json(sim.deposits());
  });
  router.get('/deposits/:depositId', (req, res) => {
    const deposit = sim.deposit(String(req.params['depositId']));
    if (deposit === undefined)
      throw new SimulatorError(404, `deposit ${String(req.params['depositId'])} does not exist`);
    res.json(deposit);
  });
  router.post('/deposits/:depositId/status', (req, res) => {
    res.json(sim.setDepositStatus(String(req.params['depositId']), parse(statusBody, req.body).status));
  });
  router.post('/deposits/:depositId/notify', async (req, res) => {
    const depositId = String(req.params['depositId']);
    const body = parse(notifyBody, req.body);
    res.json({ deliveries: await notify(sim, depositId, body) });
  });
  router.post('/notifications', async (req, res) => {
    const body = parse(rawNotifyBody, req.body);
    const notification = sim.buildRawNotification(body.eventType, body.resource, body);
    res.json({ deliveries: [await deliver(sim, body.url, notification, null, 1)] });
  });
  router.get('/notifications', (_req, res) => {
    res.json(sim.notifications());
  });
  router.get('/transfers', (_req, res) => {
    res.json(sim.transfers());
  });
  router.get('/transfer-calls', (_req, res) => {
    res.json(sim.transferCalls());
  });
  router.get('/fundings', (_req, res) => {
    res.json(sim.fundings());
  });
  router.get('/trades', (_req, res) => {
    res.json(sim.trades());
  });
  router.get('/withdrawals', (_req, res) => {
    res.json(sim.withdrawals());
  });
  router.post('/withdrawals/:withdrawalId/status', (req, res) => {
    const { status: next } = parse(withdrawalStatusBody, req.body);
    res.json(sim.setWithdrawalStatus(String(req.params['withdrawalId']), next));
  });
  router.post('/webhook', (req, res) => {
    const { url } = parse(webhookBody, req.body);
    sim.setWebhookUrl(url ?? undefined);
    res.json({ url });
  });
  router.post('/convert-rate', (req, res) => {
    const { symbol, rate } = parse(rateBody, req.body);
    sim.setConvertRate(symbol, rate);
    res.json({ symbol, rate });
  });
  router.get('/summary', (_req, res) => {
    res.json(sim.summary());
  });
  router.get('/requests', (req, res) => {
    const { since } = parse(z.object({ since: z.coerce.number().int().min(0).default(0) }), req.query);
    res.json(sim.requests(since));
  });
  router.get('/tokens', (_req, res) => {
    res.json(sim.tokensIssued());
  });
  router.post('/tokens/expire', (_req, res) => {
    sim.expireTokens();
    res.json({ tokens: sim.tokensIssued() });
  });
  router.get('/faults', (_req, res) => {
    res.json(faultState(sim));
  });
  router.post('/faults', (req, res) => {
    const body = parse(faultsBody, req.body);
    // Validate everything before changing anything, so a 400 leaves the faults as they were.
    const items =
      body.enqueue === undefined ? [] : Array.isArray(body.enqueue) ? body.enqueue : [body.enqueue];
    const faults = items.map((item) => ({ ...item, fault: parseFault(item.fault) }));
    if (body.clear === true) sim.faults.clear();
    if (body.rates !== undefined) sim.faults.setRates(body.rates as FaultRates);
    for (const item of faults) sim.faults.enqueue(item.endpoint, item.fault, item.times);
    res.json(faultState(sim));
  });
  router.post('/reset', (_req, res) => {
    sim.reset();
    res.json({ ok: true });
  });
  // Long poll for other processes: "wait until N transfers are in the ledger", never a sleep loop.
  router.get('/wait', async (req, res) => {
    const query = parse(waitQuery, req.query);
    const reached = () =>
      (query.transfers === undefined || sim.transferCount() >= query.transfers) &&
      (query.requests === undefined || sim.requestCount() >= query.requests) &&
      (query.notifications === undefined || sim.notifications().length >= query.notifications);
    const ok = await sim.waitUntil(reached, query.timeoutMs);
    res.json({ reached: ok, transfers: sim.transferCount(), requests: sim.requestCount() });
  });

  router.use((req: Request, res: Response) => {
    res
      .status(404)
      .json({ error: 'not-found', message: `no such control endpoint: ${req.method} ${req.path}` });
  });
  router.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    if (res.headersSent) return;
    if (error instanceof SimulatorError) {
      res
        .status(error.status)
        .json({ error: error.status === 404 ? 'not-found' : 'bad-request', message: error.message });
      return;
    }
    const httpError = error as { status?: number; type?: string; message?: string };
    if (httpError.status !== undefined && httpError.status >= 400 && httpError.status < 500) {
      const message =
        httpError.type === 'entity.parse.failed'
          ? 'body is not valid JSON'
          : (httpError.message ?? 'bad request');
      res.status(httpError.status).json({ error: 'bad-request', message });
      return;
    }
    res
      .status(500)
      .json({ error: 'internal-error', message: error instanceof Error ? error.message : String(error) });
  });
  return router;
}

type Delivery = {
  notificationId: string;
  resourceStatus: string | null;
  copy: number;
  status: number | null;
  body: unknown;
  error: string | null;
};

/**
 * Plays a deposit's notifications: for each status, the deposit moves to it (CLOSED credits the
 * wallet, as on Interlace a CLOSED notice follows the credit), then `copies` identical deliveries.
 */
async function notify(
  sim: Simulator,
  depositId: string,
  body: z.infer<typeof notifyBody>,
): Promise<Delivery[]> {
  if (sim.deposit(depositId) === undefined)
    throw new SimulatorError(404, `deposit ${depositId} does not exist`);
  const deliveries: Delivery[] = [];
  for (const next of body.statuses ?? [undefined]) {
    if (next !== undefined) sim.setDepositStatus(depositId, next);
    const notification = sim.buildNotification(depositId, { eventType: body.eventType });
    for (let copy = 1; copy <= body.copies; copy += 1) {
      deliveries.push(
        await deliver(sim, body.url, notification, next ?? sim.deposit(depositId)?.status ?? null, copy),
      );
    }
  }
  return deliveries;
}

async function deliver(
  sim: Simulator,
  url: string,
  notification: ReturnType<Simulator['buildRawNotification']>,
  resourceStatus: string | null,
  copy: number,
): Promise<Delivery> {
  const base = { notificationId: notification.envelope.id, resourceStatus, copy };
  try {
    const result = await sim.postNotification(url, notification);
    return { ...base, status: result.status, body: result.body, error: null };
  } catch (error) {
    return {
      ...base,
      status: null,
      body: null,
      error: error instanceof Error ? error.message : String(error),
    };
  }
}

function faultState(sim: Simulator) {
  return { pending: sim.faults.pending(), rates: sim.faults.rates(), stats: sim.faults.stats() };
}

function parse<T extends z.ZodType>(schema: T, value: unknown): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new SimulatorError(
      400,
      parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '),
    );
  }
  return parsed.data;
}
