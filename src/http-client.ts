import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError, type AxiosInstance, type Method } from 'axios';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import { USER_AGENT } from './version.js';

export type HttpClientOptions = {
  /** The origin (and path prefix) every call goes to; the proxy is chosen for it once, here. */
  baseUrl: string;
  /** The whole call, connect to last byte: past it the call fails with ETIMEDOUT. */
  deadlineMs: number;
  /** Largest answer read: a larger one fails with ERESPONSETOOLARGE. */
  maxAnswerBytes?: number;
};

export type HttpRequest = {
  method: Method;
  /** Below the base URL, starting with '/' (or '' for the base URL itself). */
  path: string;
  query?: Record<string, string | number>;
  headers?: Record<string, string>;
  /** Sent as JSON. */
  body?: unknown;
};

/** An answer of any status, for the caller to classify; `body` is the parsed JSON, or the text. */
export type HttpAnswer = { status: number; headers: Readonly<Record<string, unknown>>; body: unknown };

export type HttpClient = { send(request: HttpRequest): Promise<HttpAnswer>; close(): void };

/** Why a call got no complete answer. Any other code is the socket's own (ECONNREFUSED, ENOTFOUND…). */
export type HttpFailureCode = 'ETIMEDOUT' | 'ECONNRESET' | 'ERESPONSETOOLARGE' | (string & {});

/**
 * A call that got no complete answer: a code and a short message, nothing else. axios's own error
 * carries the request's headers (the access token) and body (the client secret), so it never leaves
 * this module, not even as `cause`.
 */
export class HttpCallError extends Error {
  constructor(
    readonly code: HttpFailureCode,
    message: string,
  ) {
    super(message);
    this.name = 'HttpCallError';
  }
}

const DEFAULT_MAX_ANSWER_BYTES = 8 * 1024 * 1024;
const MAX_SOCKETS = 256;

/**
 * JSON over axios for one origin: keep-alive sockets, the proxy from HTTPS_PROXY/HTTP_PROXY/NO_PROXY
 * (HTTPS tunnelled with CONNECT), a deadline per call, a User-Agent, a size cap, no redirects and no
 * retries (BullMQ owns retries). Every status is an answer; every failure to get one is an HttpCallError.
 */
export function createHttpClient(options: HttpClientOptions): HttpClient {
  const maxAnswerBytes = options.maxAnswerBytes ?? DEFAULT_MAX_ANSWER_BYTES;
  const secure = new URL(options.baseUrl).protocol === 'https:';
  const agent = connectionPool(options.baseUrl, secure);
  const api: AxiosInstance = axios.create({
    baseURL: options.baseUrl,
    // A wall clock until the answer's headers, a socket-idle timer after them: a trickling answer keeps
    // resetting it, which the deadline in send() does not allow.
    timeout: options.deadlineMs,
    ...(secure ? { httpsAgent: agent } : { httpAgent: agent }),
    // The agent above already is the proxy (axios would read the environment itself otherwise).
    proxy: false,
    maxRedirects: 0,
    maxContentLength: maxAnswerBytes,
    validateStatus: () => true,
    headers: { accept: 'application/json', 'user-agent': USER_AGENT },
    transitional: { clarifyTimeoutError: true },
  });

  async function send(request: HttpRequest): Promise<HttpAnswer> {
    // Connect to last byte, whatever arrives in between.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), options.deadlineMs);
    try {
      const answer = await api.request<unknown>({
        method: request.method,
        url: request.path,
        ...(request.query ? { params: request.query } : {}),
        ...(request.headers ? { headers: request.headers } : {}),
        ...(request.body === undefined ? {} : { data: request.body }),
        signal: deadline.signal,
      });
      // Status, headers and body only: the response's `config` and `request` hold the request headers.
      return { status: answer.status, headers: answer.headers, body: answer.data };
    } catch (error) {
      throw callError(error, deadline.signal.aborted, options.deadlineMs, maxAnswerBytes);
    } finally {
      clearTimeout(timer);
    }
  }

  return {
    send,
    close() {
      agent.destroy();
    },
  };
}

/**
 * The keep-alive pool for `baseUrl`: direct, or through the proxy the standard variables name for it.
 * proxy-from-env reads them as curl does (lower case first, NO_PROXY honoured); src/config.ts has
 * already refused a malformed value at boot.
 */
function connectionPool(baseUrl: string, secure: boolean): http.Agent {
  // axios sets TCP keep-alive to 60 s on every request's socket; the agent sets its own delay when it
  // frees one. The same 60 s here spares two setsockopt calls per request (measured: ~18% of the CPU).
  const pool = { keepAlive: true, keepAliveMsecs: 60_000, maxSockets: MAX_SOCKETS };
  const proxy = getProxyForUrl(baseUrl);
  if (proxy === '') return secure ? new https.Agent(pool) : new http.Agent(pool);
  // CONNECT for HTTPS (the proxy sees only host and port), absolute-form requests for plain HTTP.
  return secure ? new HttpsProxyAgent(proxy, pool) : new HttpProxyAgent(proxy, pool);
}

function callError(error: unknown, deadlinePassed: boolean, deadlineMs: number, maxBytes: number) {
  const code = error !== null && typeof error === 'object' ? (error as { code?: unknown }).code : undefined;
  if (deadlinePassed || code === AxiosError.ETIMEDOUT || code === AxiosError.ECONNABORTED)
    return new HttpCallError('ETIMEDOUT', `no complete answer within ${deadlineMs} ms`);
  if (code === AxiosError.ERR_BAD_RESPONSE) {
    return /maxContentLength/.test(String((error as Error).message))
      ? new HttpCallError('ERESPONSETOOLARGE', `answer larger than ${maxBytes} bytes`)
      : new HttpCallError('ECONNRESET', 'the answer was cut off');
  }
  const message = error instanceof Error ? error.message : String(error);
  // Socket messages name a host and port at most; a proxy URL's credentials must still not ride along.
  return new HttpCallError(
    typeof code === 'string' ? code : 'ENETWORK',
    message.replace(/\/\/[^/\s@]*@/g, '//[redacted]@').slice(0, 200),
  );
}
