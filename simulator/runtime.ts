import type { Socket } from 'node:net';
import type { InjectedFault } from './faults.js';
import type { SimTrade, SimWithdrawal } from './payout-books.js';
import type { RequestLogEntry, SentNotification, SimTransfer, TransferCalls } from './types.js';

/** Events a test (or the demo) can await instead of sleeping. */
export type SimEvents = {
  /** An Open API call finished: answered, dropped by a fault, or aborted by close(). */
  request: [RequestLogEntry];
  /** A transfer was committed (also when a fault then drops its answer). */
  transfer: [SimTransfer];
  /** A conversion trade was recorded (COMPLETE or FAILED), also when a fault then drops its answer. */
  trade: [SimTrade];
  /** A withdrawal was created or changed status. */
  withdrawal: [SimWithdrawal];
  /** A fault was injected into a call. */
  fault: [InjectedFault];
  /** A timeout-after-commit answer is being held: the transfer is committed, the client is waiting. */
  held: [RequestLogEntry];
  /** A notification delivery finished (with an HTTP answer or an error). */
  notification: [SentNotification];
};

/** Thrown into waiting calls by close(), so they drop their sockets instead of answering. */
export class SimulatorClosedError extends Error {
  constructor() {
    super('simulator closed');
    this.name = 'SimulatorClosedError';
  }
}

type Held = { timer: NodeJS.Timeout; socket: Socket; release: () => void };

/**
 * Every timer the simulator starts (latency, held answers, long polls), so close() can end them all:
 * a held timeout-after-commit must never keep a test run or a process alive.
 */
export class Timers {
  private controller = new AbortController();
  private readonly held = new Set<Held>();

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Resolves after `ms`; rejects with SimulatorClosedError if close() comes first. */
  delay(ms: number): Promise<void> {
    if (ms <= 0 && !this.signal.aborted) return Promise.resolve();
    const signal = this.signal;
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(new SimulatorClosedError());
        return;
      }
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(new SimulatorClosedError());
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      timer.unref();
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Keeps a socket open without answering for `ms`, then destroys it: the client sees a timeout. */
  hold(socket: Socket, ms: number, onEnd: () => void): void {
    let ended = false;
    const entry: Held = {
      socket,
      timer: setTimeout(() => socket.destroy(), ms),
      release: () => {
        if (ended) return;
        ended = true;
        clearTimeout(entry.timer);
        this.held.delete(entry);
        onEnd();
      },
    };
    entry.timer.unref();
    this.held.add(entry);
    if (this.signal.aborted) socket.destroy();
    // The client may give up first; either way the entry ends when the socket does.
    socket.once('close', entry.release);
    if (socket.destroyed) entry.release();
  }

  /** Lets delays run again after abortAll() (listen after close). */
  reopen(): void {
    if (this.controller.signal.aborted) this.controller = new AbortController();
  }

  /** Ends every pending delay and held socket; delays started later fail at once, until reopen(). */
  abortAll(): void {
    this.controller.abort();
    for (const entry of [...this.held]) {
      entry.socket.destroy();
      entry.release();
    }
  }
}

/** The log of Open API calls, newest last, bounded so a long benchmark cannot exhaust memory. */
export class RequestLog {
  private entries: RequestLogEntry[] = [];
  private seq = 0;

  constructor(private readonly limit: number) {}

  start(
    fields: Pick<RequestLogEntry, 'time' | 'endpoint' | 'method' | 'path' | 'query' | 'body'>,
  ): RequestLogEntry {
    this.seq += 1;
    const entry: RequestLogEntry = {
      seq: this.seq,
      ...fields,
      status: null,
      code: null,
      fault: null,
      outcome: 'pending',
      idempotencyKey: null,
      tokenFingerprint: null,
      durationMs: null,
    };
    // Trimmed a tenth at a time: shifting one entry per call would copy the whole log on every call.
    if (this.entries.length >= this.limit) this.entries.splice(0, Math.ceil(this.limit / 10));
    this.entries.push(entry);
    return entry;
  }

  /** Total calls seen since the last reset (also those no longer kept). */
  get count(): number {
    return this.seq;
  }

  /** The kept entries, or only those after sequence number `sinceSeq`. */
  list(sinceSeq = 0): RequestLogEntry[] {
    return structuredClone(sinceSeq > 0 ? this.entries.filter((e) => e.seq > sinceSeq) : this.entries);
  }

  clear(): void {
    this.entries = [];
    this.seq = 0;
  }
}

/**
 * Per clientTransactionId, every transfer call received and which of them were answered "CLOSED":
 * the simulator dedupes committed transfers, so only the calls show a service that sends twice.
 */
export class TransferCallLog {
  private byId = new Map<string, TransferCalls>();
  private readonly ofEntry = new WeakMap<RequestLogEntry, TransferCalls>();

  /** A transfer call arrived (before any fault or check). */
  received(clientTransactionId: string | null, entry: RequestLogEntry): void {
    if (clientTransactionId === null) return;
    let calls = this.byId.get(clientTransactionId);
    if (calls === undefined) {
      calls = noCalls(clientTransactionId);
      this.byId.set(clientTransactionId, calls);
    }
    calls.calls += 1;
    calls.lastCallAt = entry.time;
    if (calls.confirmed > 0) calls.resentAfterConfirmed.push(entry.time);
    this.ofEntry.set(entry, calls);
  }

  /** Its answer was sent whole: a success envelope with status CLOSED tells the client it is done. */
  answered(entry: RequestLogEntry, reply: { status: number; body: unknown }): void {
    const calls = this.ofEntry.get(entry);
    const data = (reply.body as { code?: unknown; data?: { status?: unknown } } | null)?.data;
    if (calls === undefined || reply.status !== 200 || entry.code !== '000000' || data?.status !== 'CLOSED')
      return;
    calls.confirmed += 1;
    calls.firstConfirmedAt ??= entry.time;
  }

  get(clientTransactionId: string): TransferCalls {
    const calls = this.byId.get(clientTransactionId);
    return calls === undefined ? noCalls(clientTransactionId) : structuredClone(calls);
  }

  all(): TransferCalls[] {
    return [...this.byId.values()].map((calls) => structuredClone(calls));
  }

  clear(): void {
    this.byId = new Map();
  }
}

function noCalls(clientTransactionId: string): TransferCalls {
  return {
    clientTransactionId,
    calls: 0,
    confirmed: 0,
    firstConfirmedAt: null,
    lastCallAt: 0,
    resentAfterConfirmed: [],
  };
}
