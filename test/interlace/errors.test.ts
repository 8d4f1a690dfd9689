import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  asInterlaceError,
  classifyResponse,
  classifyTransportError,
  InterlaceError,
  isSuccessCode,
} from '../../src/interlace/errors.js';

const ok = { code: '000000', message: 'success', data: {} };

describe('classifyResponse: every Interlace failure is classified once', () => {
  it('accepts both success codes', () => {
    expect(classifyResponse(200, ok, 'x')).toBeUndefined();
    expect(classifyResponse(200, { code: 0, message: 'ok', data: {} }, 'x')).toBeUndefined();
  });

  it.each([
    [500, { code: '000000' }, 'transient', 'http-5xx'],
    [503, 'gateway html', 'transient', 'http-5xx'],
    [429, {}, 'transient', 'rate-limited'],
    [401, { code: '401003' }, 'authentication', 'token-invalid'],
    [200, { code: '401003', message: 'token expired' }, 'authentication', 'token-invalid'],
    [200, { code: '100100001', message: 'insufficient' }, 'transient', 'insufficient-balance'],
    [200, { code: '010021' }, 'permanent', 'business-error'],
    [200, { code: '999999' }, 'permanent', 'business-error'],
    [400, { code: '020001', message: 'bad amount' }, 'permanent', 'business-error'],
    [404, 'Not Found', 'permanent', 'http-4xx'],
    [200, '<html>', 'permanent', 'bad-response'],
  ])('HTTP %i %j is %s/%s', (status, body, category, reason) => {
    expect(classifyResponse(status, body, 'POST /x')).toMatchObject({ category, reason });
  });

  it('reads Retry-After in seconds or as a date', () => {
    expect(classifyResponse(429, {}, 'x', '3')?.retryAfterMs).toBe(3000);
    const inTwoSeconds = new Date(Date.now() + 2000).toUTCString();
    expect(classifyResponse(429, {}, 'x', inTwoSeconds)?.retryAfterMs).toBeGreaterThan(0);
  });

  it('treats a request with no answer as transient: the same ids make a retry safe', () => {
    expect(
      classifyTransportError(Object.assign(new Error('timeout'), { code: 'ECONNABORTED' }), 'x'),
    ).toMatchObject({ category: 'transient', reason: 'timeout' });
    expect(
      classifyTransportError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'x'),
    ).toMatchObject({ category: 'transient', reason: 'network' });
  });
});

describe('InterlaceError: what a classified failure carries', () => {
  it('names the endpoint in its message and keeps the status, code and wait', () => {
    const error = classifyResponse(429, { code: '429001', message: 'slow down' }, 'POST /t', '7');
    expect(error).toBeInstanceOf(InterlaceError);
    expect(error).toMatchObject({
      name: 'InterlaceError',
      endpoint: 'POST /t',
      httpStatus: 429,
      code: '429001',
      retryAfterMs: 7000,
      message: 'POST /t: rate limited (HTTP 429): slow down',
    });
  });

  it('passes an InterlaceError through and turns anything else into a transient internal one', () => {
    const original = classifyResponse(500, {}, 'x')!;
    expect(asInterlaceError(original)).toBe(original);
    expect(asInterlaceError(new Error('redis went away'))).toMatchObject({
      category: 'transient',
      reason: 'network',
      endpoint: 'internal',
      message: 'internal: redis went away',
    });
    expect(asInterlaceError('a thrown string').message).toBe('internal: a thrown string');
  });
});

describe('isSuccessCode', () => {
  it.each([
    ['000000', true],
    [0, true],
    ['0', true],
    ['00000', false],
    [1, false],
    ['', false],
    [undefined, false],
  ])('%j is %s', (code, success) => {
    expect(isSuccessCode(code)).toBe(success);
  });
});

describe('classifyTransportError', () => {
  it.each(['ECONNABORTED', 'ETIMEDOUT', 'ESOCKETTIMEDOUT', 'UND_ERR_HEADERS_TIMEOUT'])(
    '%s is a timeout',
    (code) => {
      const error = classifyTransportError(Object.assign(new Error('slow'), { code }), 'POST /t');
      expect(error).toMatchObject({ category: 'transient', reason: 'timeout', endpoint: 'POST /t' });
      expect(error.message).toBe(`POST /t: timed out (${code}: slow)`);
    },
  );

  it('says which network error it was, or that there was no code', () => {
    expect(
      classifyTransportError(Object.assign(new Error('reset'), { code: 'ECONNRESET' }), 'x').message,
    ).toBe('x: network error (ECONNRESET: reset)');
    expect(classifyTransportError(new Error('socket hang up'), 'x').message).toBe(
      'x: network error (no code: socket hang up)',
    );
    expect(classifyTransportError(Object.assign(new Error('odd'), { code: 110 }), 'x')).toMatchObject({
      reason: 'network',
      message: 'x: network error (no code: odd)',
    });
    expect(classifyTransportError('plain', 'x').message).toBe('x: network error (no code: plain)');
  });
});

describe('classifyResponse: the edges of each class', () => {
  it.each([
    [499, { code: null }, 'permanent', 'http-4xx'],
    [500, { code: null }, 'transient', 'http-5xx'],
    [599, {}, 'transient', 'http-5xx'],
    [400, {}, 'permanent', 'http-4xx'],
    [399, 'redirect page', 'permanent', 'bad-response'],
    [300, { code: '000000' }, 'permanent', 'business-error'],
    [199, { code: '000000' }, 'permanent', 'business-error'],
    [299, { code: '000000' }, undefined, undefined],
    [200, { code: null }, 'permanent', 'bad-response'],
    [200, null, 'permanent', 'bad-response'],
    [403, { code: '401003' }, 'authentication', 'token-invalid'],
    [401, 'Unauthorized', 'authentication', 'token-invalid'],
    [400, { code: '100100001' }, 'transient', 'insufficient-balance'],
  ])('HTTP %i %j is %s/%s', (status, body, category, reason) => {
    const error = classifyResponse(status, body, 'x');
    if (category === undefined) expect(error).toBeUndefined();
    else expect(error).toMatchObject({ category, reason, httpStatus: status });
  });

  it('says what went wrong, quoting at most 200 characters of Interlace’s message', () => {
    const long = 'm'.repeat(300);
    expect(classifyResponse(502, { message: long }, 'x')?.message).toBe(`x: HTTP 502: ${'m'.repeat(200)}`);
    expect(classifyResponse(502, { message: '' }, 'x')?.message).toBe('x: HTTP 502');
    expect(classifyResponse(502, { message: 42 }, 'x')?.message).toBe('x: HTTP 502');
    expect(classifyResponse(401, {}, 'x')?.message).toBe('x: access token rejected (HTTP 401, code none)');
    expect(classifyResponse(200, { code: '401003' }, 'x')?.message).toBe(
      'x: access token rejected (HTTP 200, code 401003)',
    );
    expect(classifyResponse(200, { code: '100100001', message: 'short' }, 'x')?.message).toBe(
      'x: insufficient balance (code 100100001): short',
    );
    expect(classifyResponse(400, { code: 20001, message: 'bad' }, 'x')).toMatchObject({
      code: '20001',
      message: 'x: business error code 20001: bad (HTTP 400)',
    });
    expect(classifyResponse(404, 'nope', 'x')?.message).toBe('x: HTTP 404 without an Interlace envelope');
    expect(classifyResponse(200, '<html>', 'x')?.message).toBe(
      'x: HTTP 200 with a body that is not an Interlace envelope',
    );
  });

  it('leaves the code out when the envelope has none', () => {
    expect(classifyResponse(404, {}, 'x')?.code).toBeUndefined();
    expect(classifyResponse(404, { code: null }, 'x')?.code).toBeUndefined();
  });
});

describe('Retry-After', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('is capped at one hour, in seconds or as a date', () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
    expect(classifyResponse(429, {}, 'x', '3600')?.retryAfterMs).toBe(3_600_000);
    expect(classifyResponse(429, {}, 'x', '3601')?.retryAfterMs).toBe(3_600_000);
    expect(classifyResponse(429, {}, 'x', '0')?.retryAfterMs).toBe(0);
    expect(classifyResponse(429, {}, 'x', '1.5')?.retryAfterMs).toBe(1500);
    expect(classifyResponse(429, {}, 'x', 'Thu, 01 Jan 2026 00:00:02 GMT')?.retryAfterMs).toBe(2000);
    expect(classifyResponse(429, {}, 'x', 'Thu, 01 Jan 2026 02:00:00 GMT')?.retryAfterMs).toBe(3_600_000);
  });

  it('waits nothing for a date in the past, and ignores what it cannot read', () => {
    vi.useFakeTimers({ now: Date.parse('2026-01-01T00:00:00Z') });
    expect(classifyResponse(429, {}, 'x', 'Wed, 31 Dec 2025 23:00:00 GMT')?.retryAfterMs).toBe(0);
    expect(classifyResponse(429, {}, 'x', '-5')?.retryAfterMs).toBe(0);
    expect(classifyResponse(429, {}, 'x', 'soon')?.retryAfterMs).toBeUndefined();
    expect(classifyResponse(429, {}, 'x')?.retryAfterMs).toBeUndefined();
  });
});
