import { describe, expect, it } from 'vitest';
import { classifyResponse, classifyTransportError } from '../../src/interlace/errors.js';

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
