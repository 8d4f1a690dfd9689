import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSimulator, type Simulator } from '../../simulator/simulator.js';
import type { SimulatorOptions } from '../../simulator/types.js';

export const CLIENT_ID = 'test-client';
export const CLIENT_SECRET = 'test-secret';

export type ApiResponse<T = unknown> = {
  status: number;
  headers: Headers;
  body: { code: string; message: string; data: T };
  text: string;
};

export type CallOptions = {
  body?: unknown;
  rawBody?: string;
  token?: string;
  headers?: Record<string, string>;
  signal?: AbortSignal;
};

/** A bare fetch client of the simulated Open API (the project's real client is tested elsewhere). */
export class OpenApi {
  constructor(readonly baseUrl: string) {}

  async call<T = unknown>(
    method: 'GET' | 'POST',
    path: string,
    options: CallOptions = {},
  ): Promise<ApiResponse<T>> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.token !== undefined) headers['x-access-token'] = options.token;
    let body: string | undefined = options.rawBody;
    if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] = 'application/json';
    const response = await fetch(`${this.baseUrl}/open-api/v3${path}`, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
    const text = await response.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // HTML (a simulated 502) stays text.
    }
    return {
      status: response.status,
      headers: response.headers,
      body: parsed as ApiResponse<T>['body'],
      text,
    };
  }

  /** The two-step token flow of API-NOTES §2. */
  async token(clientId = CLIENT_ID): Promise<string> {
    const authorize = await this.call<{ code: string }>('GET', `/oauth/authorize?clientId=${clientId}`);
    const issued = await this.call<{ accessToken: string }>('POST', '/oauth/access-token', {
      body: { clientId, code: authorize.body.data.code },
    });
    if (issued.body.code !== '000000') throw new Error(`token flow failed: ${issued.text}`);
    return issued.body.data.accessToken;
  }
}

export type Harness = { sim: Simulator; url: string; api: OpenApi };

/** A simulator listening on a free loopback port, plus a client for it. */
export async function startSimulator(options: Partial<SimulatorOptions> = {}): Promise<Harness> {
  const sim = createSimulator({ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, ...options });
  const { url } = await sim.listen(0);
  return { sim, url, api: new OpenApi(url) };
}

/** An account with a CryptoConnect wallet holding `usdc` USDC (one CLOSED deposit), ready to sweep. */
export function fundedWallet(sim: Simulator, usdc = '10', usdAvailable = '100') {
  const account = sim.createAccount({ usdAvailable });
  const wallet = sim.createWallet(account.accountId, { nickname: 'merchant' });
  const deposit = sim.creditDeposit({ walletId: wallet.id, currency: 'USDC', amount: usdc });
  return { ...account, walletId: wallet.id, depositId: deposit.id };
}

/** The seed-001 sweep body for a funded wallet. */
export function sweepBody(
  target: { accountId: string; walletId: string; infinityWalletId: string },
  amount = '10',
  clientTransactionId = 'a0f57479-8218-4844-bec6-e819a38af55a',
  currency = 'USDC',
) {
  return {
    clientTransactionId,
    accountId: target.accountId,
    from: { businessType: 2, id: target.walletId, currency },
    to: { businessType: 0, currency: 'USD', id: target.infinityWalletId },
    amount,
  };
}

export function available(sim: Simulator, walletId: string, currency: string): string | undefined {
  return sim.wallet(walletId)?.balances.find((b) => b.currency === currency)?.available;
}

export type ReceivedWebhook = { headers: IncomingHttpHeaders; body: string };

/** A stand-in webhook receiver: records each POST and answers `{"received": true}` (or `answer`). */
export class Receiver {
  readonly received: ReceivedWebhook[] = [];
  private server: Server | undefined;
  private waiters: Array<() => void> = [];
  answer: { status: number; body: unknown } = { status: 200, body: { received: true } };

  async start(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        this.received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        res.writeHead(this.answer.status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(this.answer.body));
        for (const wake of this.waiters.splice(0)) wake();
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/interlace`;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }
}
