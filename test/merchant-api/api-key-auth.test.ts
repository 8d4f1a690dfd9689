import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiKeyAuth } from '../../src/merchant-api/api-key-auth.js';
import { capturingLogger } from '../helpers/config.js';
import { apiKeyEntry, generateApiKey, hashApiKey, parseApiKeys } from '../../src/merchant-api/api-keys.js';

const WRITER = generateApiKey();
const READER = generateApiKey();

let server: Server;
let base: string;

beforeAll(async () => {
  const keys = parseApiKeys(
    [apiKeyEntry('backend', WRITER, ['read', 'write']), apiKeyEntry('reports', READER, ['read'])].join(','),
  );
  const auth = apiKeyAuth(keys);
  const app = express();
  app.get('/r', auth(['read']), (_req, res) => {
    res.json({ key: (res.locals.apiKey as { name: string }).name });
  });
  app.post('/w', auth(['read', 'write']), (_req, res) => {
    res.status(201).json({ key: (res.locals.apiKey as { name: string }).name });
  });
  server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

async function call(method: string, path: string, headers: Record<string, string>) {
  const response = await fetch(`${base}${path}`, { method, headers });
  return {
    status: response.status,
    wwwAuthenticate: response.headers.get('www-authenticate'),
    body: (await response.json()) as Record<string, unknown>,
  };
}

describe('merchant API key auth', () => {
  it('accepts a key in X-API-Key or as a Bearer token and names it for the handler', async () => {
    expect(await call('GET', '/r', { 'x-api-key': READER })).toMatchObject({
      status: 200,
      body: { key: 'reports' },
    });
    expect(await call('POST', '/w', { authorization: `Bearer ${WRITER}` })).toMatchObject({
      status: 201,
      body: { key: 'backend' },
    });
    expect(await call('GET', '/r', { authorization: `bearer ${WRITER}` })).toMatchObject({ status: 200 });
  });

  it.each([
    ['no key', {}],
    ['an unknown key', { 'x-api-key': generateApiKey() }],
    ['a key that differs in one character', { 'x-api-key': `${READER.slice(0, -1)}!` }],
    ['the hash instead of the key', { 'x-api-key': hashApiKey(READER) }],
    ['a Basic authorization', { authorization: `Basic ${Buffer.from(`a:${READER}`).toString('base64')}` }],
  ])('answers 401 unauthorized in seed 002 format for %s', async (_label, headers) => {
    const answer = await call('GET', '/r', headers);
    expect(answer.status).toBe(401);
    expect(answer.body).toEqual({
      error: { code: 'unauthorized', message: expect.any(String), details: {} },
    });
    expect(answer.wwwAuthenticate).toMatch(/^Bearer realm=/);
    expect(JSON.stringify(answer.body)).not.toContain(READER);
  });

  it('answers 403 forbidden when the key lacks a scope (creating needs read and write)', async () => {
    const answer = await call('POST', '/w', { 'x-api-key': READER });
    expect(answer).toMatchObject({
      status: 403,
      body: { error: { code: 'forbidden', details: { required: ['read', 'write'], granted: ['read'] } } },
    });
  });
});

describe('merchant API keys in logs', () => {
  it('are redacted from logged request headers, in either header', () => {
    const { logger, lines } = capturingLogger();
    logger.info({ req: { headers: { 'x-api-key': WRITER, authorization: `Bearer ${READER}` } } }, 'request');
    logger.info({ headers: { 'x-api-key': WRITER, authorization: `Bearer ${READER}` } }, 'request');
    expect(lines).toHaveLength(2);
    for (const line of lines) {
      expect(line).not.toContain(WRITER);
      expect(line).not.toContain(READER);
    }
  });
});

describe('MERCHANT_API_KEYS', () => {
  const hash = hashApiKey('k');
  it('parses name:sha256:scopes entries separated by commas or white space', () => {
    expect(parseApiKeys(`a:${hash}:read+write,\n b:${hash.toUpperCase().replace(/./, 'f')}:read`)).toEqual([
      { name: 'a', sha256: hash, scopes: ['read', 'write'] },
      { name: 'b', sha256: `f${hash.slice(1)}`, scopes: ['read'] },
    ]);
    expect(parseApiKeys('')).toEqual([]);
  });

  it.each([
    [`a:${hash}`, /entry 1 must be name:sha256hex:scopes/],
    [`a:${hash.slice(1)}:read`, /entry 1: the hash/],
    [`a:${hash}:admin`, /entry 1: scopes/],
    [`a b:${hash}:read`, /entry 1 must be/],
    [`a:${hash}:read,a:${hashApiKey('j')}:read`, /entry 2: the name a is used twice/],
    [`a:${hash}:read,b:${hash}:read`, /entry 2: the same key/],
  ])('refuses %s, naming the entry and never echoing it', (value, message) => {
    expect(() => parseApiKeys(value)).toThrow(message);
    try {
      parseApiKeys(value);
    } catch (error) {
      expect((error as Error).message).not.toContain(hash);
    }
  });
});
