import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { inspect, promisify } from 'node:util';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { createHttpClient, HttpCallError, type HttpClient } from '../src/http-client.js';
import { USER_AGENT } from '../src/version.js';
import { startLoopbackProxy } from './helpers/loopback-proxy.js';

const servers: Server[] = [];
const clients: HttpClient[] = [];
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  vi.unstubAllEnvs();
  for (const client of clients.splice(0)) client.close();
  for (const cleanup of cleanups.splice(0)) await cleanup();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** A loopback origin answering with `handler`; counts its TCP connections. */
async function origin(handler: Handler, tls?: { key: Buffer; cert: Buffer }) {
  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => handler(req, res, body));
  };
  const server = tls ? createTlsServer(tls, onRequest) : createServer(onRequest);
  servers.push(server);
  const stats = { connections: 0 };
  server.on(tls ? 'secureConnection' : 'connection', () => (stats.connections += 1));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `${tls ? 'https' : 'http'}://127.0.0.1:${port}/open-api/v3`, port, stats };
}

function client(baseUrl: string, options: { deadlineMs?: number; maxAnswerBytes?: number } = {}) {
  const created = createHttpClient({ baseUrl, deadlineMs: options.deadlineMs ?? 2_000, ...options });
  clients.push(created);
  return created;
}

async function failure(promise: Promise<unknown>): Promise<HttpCallError> {
  const error = await promise.then(
    () => undefined,
    (rejection: unknown) => rejection,
  );
  expect(error).toBeInstanceOf(HttpCallError);
  return error as HttpCallError;
}

describe('the HTTP client (axios) against real loopback servers', () => {
  it('sends JSON, the query and its User-Agent below the base path, and hands back an answer of any status', async () => {
    const seen: { url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const { url } = await origin((req, res, body) => {
      Object.assign(seen, { url: req.url, headers: req.headers, body });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
      res.end('{"code":"429000","message":"slow down"}');
    });

    const answer = await client(url).send({
      method: 'POST',
      path: '/business/transfer/internal',
      query: { accountId: 'a b', walletType: 0 },
      headers: { 'Idempotency-Key': 'k-1' },
      body: { amount: '10.50' },
    });

    expect(answer).toMatchObject({ status: 429, body: { code: '429000', message: 'slow down' } });
    expect(answer.headers['retry-after']).toBe('2');
    expect(seen.url).toBe('/open-api/v3/business/transfer/internal?accountId=a+b&walletType=0');
    expect(seen.headers).toMatchObject({
      'content-type': 'application/json',
      'idempotency-key': 'k-1',
      'user-agent': USER_AGENT,
    });
    expect(USER_AGENT).toMatch(/^interlace-sweep\/\d+\.\d+\.\d+/);
    expect(JSON.parse(seen.body!)).toEqual({ amount: '10.50' });
  });

  it('hands over an answer that is not JSON as text, for the classifier to refuse', async () => {
    const { url } = await origin((_req, res) => res.writeHead(502).end('<html>bad gateway</html>'));
    expect(await client(url).send({ method: 'GET', path: '/x' })).toMatchObject({
      status: 502,
      body: '<html>bad gateway</html>',
    });
  });

  it('keeps one connection alive across calls', async () => {
    const { url, stats } = await origin((_req, res) => res.end('{"code":"000000"}'));
    const http = client(url);
    for (let i = 0; i < 3; i += 1) await http.send({ method: 'GET', path: '/ping' });
    expect(stats.connections).toBe(1);
  });

  it('follows no redirect: a 302 is an answer like any other', async () => {
    let calls = 0;
    const { url } = await origin((_req, res) => {
      calls += 1;
      res.writeHead(302, { location: '/elsewhere' }).end();
    });
    expect(await client(url).send({ method: 'POST', path: '/x', body: {} })).toMatchObject({ status: 302 });
    expect(calls).toBe(1);
  });

  it('gives up with ETIMEDOUT when no answer comes within the deadline', async () => {
    const { url } = await origin(() => {
      // Never answers.
    });
    const error = await failure(client(url, { deadlineMs: 200 }).send({ method: 'GET', path: '/hang' }));
    expect(error.code).toBe('ETIMEDOUT');
  });

  it("gives up with ETIMEDOUT when the answer trickles past the deadline (axios's own timeout restarts on every byte)", async () => {
    const { url } = await origin((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // A byte every 20 ms: the socket never idles for the 300 ms of axios's timeout.
      const drip = setInterval(() => res.write(' '), 20);
      res.on('close', () => clearInterval(drip));
    });
    const started = performance.now();
    const error = await failure(client(url, { deadlineMs: 300 }).send({ method: 'GET', path: '/slow' }));
    expect(error.code).toBe('ETIMEDOUT');
    expect(performance.now() - started).toBeLessThan(2_000);
  });

  it('fails with ECONNRESET when the connection drops mid-answer', async () => {
    const { url } = await origin((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"code":');
      setImmediate(() => res.socket?.destroy());
    });
    expect((await failure(client(url).send({ method: 'GET', path: '/cut' }))).code).toBe('ECONNRESET');
  });

  it('fails with ECONNREFUSED when nothing listens', async () => {
    const error = await failure(client('http://127.0.0.1:1/open-api/v3').send({ method: 'GET', path: '/x' }));
    expect(error.code).toBe('ECONNREFUSED');
  });

  it('refuses an answer larger than its cap', async () => {
    const { url } = await origin((_req, res) => res.end('x'.repeat(10_000)));
    const error = await failure(client(url, { maxAnswerBytes: 1_000 }).send({ method: 'GET', path: '/big' }));
    expect(error.code).toBe('ERESPONSETOOLARGE');
  });

  it('keeps the request headers and body out of its errors', async () => {
    const { url } = await origin((req) => req.socket.destroy());
    const error = await failure(
      client(url).send({
        method: 'POST',
        path: '/oauth/access-token',
        headers: { 'x-access-token': 'token-0451' },
        body: { clientSecret: 'secret-0451' },
      }),
    );
    const everything = `${inspect(error, { showHidden: true, depth: Infinity })} ${JSON.stringify(error)}`;
    expect(everything).not.toContain('token-0451');
    expect(everything).not.toContain('secret-0451');
    expect(Object.keys(error).sort()).toEqual(['code', 'name']);
    expect(error.cause).toBeUndefined();
  });
});

describe('the HTTP client behind an egress proxy', () => {
  async function proxy() {
    const started = await startLoopbackProxy();
    cleanups.push(started.close);
    return started;
  }

  it('sends plain-HTTP calls through HTTP_PROXY as absolute-URL requests', async () => {
    const { url, port } = await origin((_req, res) => res.end('{"code":"000000"}'));
    const egress = await proxy();
    vi.stubEnv('HTTP_PROXY', egress.url);

    const answer = await client(url).send({ method: 'GET', path: '/cards/wallets' });

    expect(answer).toMatchObject({ status: 200, body: { code: '000000' } });
    expect(egress.seen).toEqual([
      { method: 'GET', target: `http://127.0.0.1:${port}/open-api/v3/cards/wallets` },
    ]);
  });

  it('goes direct to a host NO_PROXY names', async () => {
    const { url } = await origin((_req, res) => res.end('{"code":"000000"}'));
    const egress = await proxy();
    vi.stubEnv('HTTP_PROXY', egress.url);
    vi.stubEnv('NO_PROXY', 'localhost,127.0.0.1');

    expect((await client(url).send({ method: 'GET', path: '/x' })).status).toBe(200);
    expect(egress.seen).toEqual([]);
  });

  it('tunnels HTTPS through HTTPS_PROXY with one CONNECT, kept alive, so the proxy never sees the request', async () => {
    const tls = (name: string) => fileURLToPath(new URL(`./fixtures/tls/${name}`, import.meta.url));
    const paths: string[] = [];
    const { url, port, stats } = await origin(
      (req, res) => {
        paths.push(`${req.url} ${req.headers['user-agent']}`);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"code":"000000"}');
      },
      { key: readFileSync(tls('loopback-key.pem')), cert: readFileSync(tls('loopback-cert.pem')) },
    );
    const egress = await proxy();
    const script = fileURLToPath(new URL('./helpers/call-through-env-proxy.ts', import.meta.url));

    // A child process: NODE_EXTRA_CA_CERTS is read at startup only, as it would be in production.
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', script, url], {
      env: {
        ...process.env,
        HTTPS_PROXY: egress.url,
        NO_PROXY: '',
        NODE_EXTRA_CA_CERTS: tls('loopback-cert.pem'),
      },
    });

    const answers = stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as unknown);
    expect(answers).toEqual([
      { status: 200, body: { code: '000000' } },
      { status: 200, body: { code: '000000' } },
    ]);
    expect(egress.seen).toEqual([{ method: 'CONNECT', target: `127.0.0.1:${port}` }]);
    expect(stats.connections).toBe(1);
    expect(paths).toEqual([`/open-api/v3/first ${USER_AGENT}`, `/open-api/v3/second ${USER_AGENT}`]);
  });
});
