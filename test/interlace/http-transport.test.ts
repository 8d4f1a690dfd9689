import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createHttpTransport, type HttpTransport } from '../../src/interlace/http-transport.js';

let server: Server | undefined;
let transport: HttpTransport | undefined;

afterEach(async () => {
  transport?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

/** A loopback server answering with `handler`; resolves with its base URL (with a path prefix). */
async function serve(handler: (req: IncomingMessage, res: ServerResponse, body: string) => void) {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => handler(req, res, body));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/open-api/v3`;
}

describe('Interlace HTTP transport', () => {
  it('sends the JSON body, query and headers below the base path, and parses a JSON answer of any status', async () => {
    const seen: { url?: string; headers?: IncomingMessage['headers']; body?: string } = {};
    const url = await serve((req, res, body) => {
      Object.assign(seen, { url: req.url, headers: req.headers, body });
      res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
      res.end('{"code":"429000","message":"slow down"}');
    });
    transport = createHttpTransport({ baseUrl: url, timeoutMs: 2_000 });
    const answer = await transport.send({
      method: 'POST',
      path: '/business/transfer/internal',
      query: { accountId: 'a b', walletType: 0 },
      headers: { 'Idempotency-Key': 'k-1' },
      body: { amount: '10.50' },
    });
    expect(answer).toMatchObject({ status: 429, body: { code: '429000', message: 'slow down' } });
    expect(answer.headers['retry-after']).toBe('2');
    expect(seen.url).toBe('/open-api/v3/business/transfer/internal?accountId=a+b&walletType=0');
    expect(seen.headers).toMatchObject({ 'content-type': 'application/json', 'idempotency-key': 'k-1' });
    expect(JSON.parse(seen.body!)).toEqual({ amount: '10.50' });
  });

  it('hands over an answer that is not JSON as text, for the classifier to refuse', async () => {
    const url = await serve((_req, res) => res.writeHead(502).end('<html>bad gateway</html>'));
    transport = createHttpTransport({ baseUrl: url, timeoutMs: 2_000 });
    expect(await transport.send({ method: 'GET', path: '/x' })).toMatchObject({
      status: 502,
      body: '<html>bad gateway</html>',
    });
  });

  it('gives up with ETIMEDOUT when no answer comes within the deadline', async () => {
    const url = await serve(() => {
      // Never answers.
    });
    transport = createHttpTransport({ baseUrl: url, timeoutMs: 100 });
    await expect(transport.send({ method: 'GET', path: '/hang' })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
    });
  });

  it('gives up with ETIMEDOUT when the answer starts but does not finish within the deadline', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('{"code":');
    });
    transport = createHttpTransport({ baseUrl: url, timeoutMs: 100 });
    await expect(transport.send({ method: 'GET', path: '/slow' })).rejects.toMatchObject({
      code: 'ETIMEDOUT',
    });
  });

  it('rejects with the socket error when nothing listens or the answer is cut off', async () => {
    const url = await serve((_req, res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"code":');
      res.socket?.destroy();
    });
    transport = createHttpTransport({ baseUrl: url, timeoutMs: 2_000 });
    await expect(transport.send({ method: 'GET', path: '/cut' })).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
    const closed = createHttpTransport({ baseUrl: 'http://127.0.0.1:1/open-api/v3', timeoutMs: 2_000 });
    await expect(closed.send({ method: 'GET', path: '/x' })).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    closed.close();
  });

  it('refuses an answer larger than its limit', async () => {
    const url = await serve((_req, res) => res.end('x'.repeat(10_000)));
    transport = createHttpTransport({ baseUrl: url, timeoutMs: 2_000, maxAnswerBytes: 1_000 });
    await expect(transport.send({ method: 'GET', path: '/big' })).rejects.toMatchObject({
      code: 'ERESPONSETOOLARGE',
    });
  });
});
