import { z } from 'zod';
import type { Prng } from './prng.js';
import { SimulatorError } from './simulator-error.js';

/** The Open API endpoints a fault can target; `any` matches all of them. */
export const API_ENDPOINTS = [
  'transfer',
  'wallets',
  'authorize',
  'access-token',
  'cryptoconnect',
  // The payout chain (seed 001 "Convert & Withdraw"): currency-pair and estimate-quote, the trade,
  // fee-and-quota, and the blockchain transfer.
  'quote',
  'trade',
  'withdraw-fee',
  'withdraw',
] as const;
export type ApiEndpoint = (typeof API_ENDPOINTS)[number];
export type FaultEndpoint = ApiEndpoint | 'any';

export const FAULT_KINDS = [
  'http-500',
  'http-502',
  'http-503',
  'rate-limit',
  'latency',
  'reset-after-commit',
  'timeout-after-commit',
  'token-expired',
  'business-error',
  'transfer-status',
  // Outcomes rather than transport faults: the call succeeds and the money then does something else.
  'trade-failed',
  'withdraw-stuck',
  'withdraw-on-hold',
  'withdraw-failed',
] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

const ms = z.number().int().min(0).max(600_000);
const bare = <K extends FaultKind>(kind: K) => z.object({ kind: z.literal(kind) });

const faultSchema = z.preprocess(
  // A kind alone ("http-500") is shorthand for a fault with default parameters.
  (value) => (typeof value === 'string' ? { kind: value } : value),
  z.discriminatedUnion('kind', [
    bare('http-500'),
    bare('http-502'),
    bare('http-503'),
    z.object({
      kind: z.literal('rate-limit'),
      retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    }),
    z.object({ kind: z.literal('latency'), delayMs: ms.optional() }),
    bare('reset-after-commit'),
    z.object({ kind: z.literal('timeout-after-commit'), delayMs: ms.optional() }),
    bare('token-expired'),
    // The transfer is answered with this status (a success envelope). `commit` says whether it moved
    // the money (default: not for FAIL*, yes otherwise); a committed one answers its repeats with the
    // same status `settleAfter` times, then `settleTo` (never, without settleAfter).
    z.object({
      kind: z.literal('transfer-status'),
      status: z.string().max(40),
      commit: z.boolean().optional(),
      settleAfter: z.number().int().min(0).max(1_000).optional(),
      settleTo: z.string().min(1).max(40).optional(),
    }),
    z.object({
      kind: z.literal('business-error'),
      code: z.string().min(1).max(32).optional(),
      message: z.string().max(500).optional(),
      httpStatus: z.number().int().min(200).max(599).optional(),
    }),
    bare('trade-failed'),
    bare('withdraw-stuck'),
    bare('withdraw-on-hold'),
    bare('withdraw-failed'),
  ]),
);

/** A fault to inject, with its parameters; every parameter has a default. */
export type Fault = z.infer<typeof faultSchema>;

/** Probabilities (0..1) of faults on each Open API call, drawn from the seeded PRNG; at most one per call. */
export type FaultRates = {
  http5xx?: number;
  rateLimit?: number;
  timeoutAfterCommit?: number;
  resetAfterCommit?: number;
  latencySpike?: number;
  /** Revokes every token, then answers as for an expired one. */
  tokenExpiry?: number;
  /** Delay of a latency spike. Default 1000. */
  latencySpikeMs?: number;
  /** How long a timeout-after-commit answer is held. Default 30000. */
  timeoutAfterCommitMs?: number;
  /** Retry-After of a random 429. Default 1. */
  retryAfterSeconds?: number;
  /** Endpoints the rates apply to; all of them when absent. */
  endpoints?: ApiEndpoint[];
};

const probability = z.number().min(0).max(1);
const ratesSchema: z.ZodType<FaultRates> = z
  .object({
    http5xx: probability.optional(),
    rateLimit: probability.optional(),
    timeoutAfterCommit: probability.optional(),
    resetAfterCommit: probability.optional(),
    latencySpike: probability.optional(),
    tokenExpiry: probability.optional(),
    latencySpikeMs: ms.optional(),
    timeoutAfterCommitMs: ms.optional(),
    retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    endpoints: z.array(z.enum(API_ENDPOINTS)).optional(),
  })
  .strict()
  // The epsilon forgives float sums such as 0.1 + 0.2 + 0.7.
  .refine(
    (r) => sumOfRates(r) <= 1 + 1e-9,
    'the probabilities must add up to at most 1 (one fault per call)',
  );

export type FaultSource = 'scripted' | 'random';

/** What the pipeline must do to one call; `revokeTokens` is the random token expiry. */
export type FaultDecision = { fault: Fault; source: FaultSource; revokeTokens: boolean };

export type InjectedFault = { seq: number; endpoint: ApiEndpoint; kind: FaultKind; source: FaultSource };

export type FaultStats = Record<FaultKind, number> & { total: number };

export type PendingFault = { endpoint: FaultEndpoint; fault: Fault; remaining: number };

/** The fault controls a test or a chaos run uses (`sim.faults`). */
export type FaultController = {
  /** Makes the next `times` calls to `endpoint` fail with `fault` (FIFO, before any random fault). */
  enqueue(endpoint: FaultEndpoint, fault: Fault | FaultKind, times?: number): void;
  /** Replaces the probabilities of random faults. */
  setRates(rates: FaultRates): void;
  /** Drops the scripted faults and the rates; the counts stay. */
  clear(): void;
  stats(): FaultStats;
  history(): InjectedFault[];
  pending(): PendingFault[];
  rates(): FaultRates;
};

const HISTORY_LIMIT = 100_000;

/** Scripted and seeded random faults; decides, for each Open API call, which fault (if any) it gets. */
export class FaultInjector implements FaultController {
  private queue: PendingFault[] = [];
  private currentRates: FaultRates = {};
  private counts = zeroStats();
  private injected: InjectedFault[] = [];

  constructor(private prng: Prng) {}

  enqueue(endpoint: FaultEndpoint, fault: Fault | FaultKind, times = 1): void {
    if (endpoint !== 'any' && !API_ENDPOINTS.includes(endpoint)) {
      throw new SimulatorError(400, `endpoint must be one of any, ${API_ENDPOINTS.join(', ')}`);
    }
    if (!Number.isSafeInteger(times) || times < 1)
      throw new SimulatorError(400, 'times must be a positive integer');
    this.queue.push({ endpoint, fault: parseFault(fault), remaining: times });
  }

  setRates(rates: FaultRates): void {
    const parsed = ratesSchema.safeParse(rates);
    if (!parsed.success) throw new SimulatorError(400, `invalid fault rates: ${describe(parsed.error)}`);
    this.currentRates = parsed.data;
  }

  clear(): void {
    this.queue = [];
    this.currentRates = {};
  }

  stats(): FaultStats {
    return { ...this.counts };
  }

  history(): InjectedFault[] {
    return this.injected.map((entry) => ({ ...entry }));
  }

  pending(): PendingFault[] {
    return structuredClone(this.queue);
  }

  rates(): FaultRates {
    return structuredClone(this.currentRates);
  }

  /** Forgets everything and restarts the random stream (the simulator's reset). */
  reset(prng: Prng): void {
    this.clear();
    this.prng = prng;
    this.counts = zeroStats();
    this.injected = [];
  }

  /**
   * The fault for call `seq` to `endpoint`, decided synchronously on arrival so the same seed and the
   * same call sequence give the same faults. Token expiry only applies where a token is checked.
   */
  decide(endpoint: ApiEndpoint, seq: number, authenticated: boolean): FaultDecision | null {
    const decision = this.scripted(endpoint) ?? this.random(endpoint, authenticated);
    if (decision !== null) {
      this.counts[decision.fault.kind] += 1;
      this.counts.total += 1;
      if (this.injected.length >= HISTORY_LIMIT) this.injected.splice(0, HISTORY_LIMIT / 10);
      this.injected.push({ seq, endpoint, kind: decision.fault.kind, source: decision.source });
    }
    return decision;
  }

  private scripted(endpoint: ApiEndpoint): FaultDecision | null {
    const index = this.queue.findIndex((entry) => entry.endpoint === endpoint || entry.endpoint === 'any');
    const entry = this.queue[index];
    if (entry === undefined) return null;
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.queue.splice(index, 1);
    return { fault: structuredClone(entry.fault), source: 'scripted', revokeTokens: false };
  }

  private random(endpoint: ApiEndpoint, authenticated: boolean): FaultDecision | null {
    const r = this.currentRates;
    if (sumOfRates(r) === 0) return null;
    if (r.endpoints !== undefined && !r.endpoints.includes(endpoint)) return null;
    // One draw per call, compared with cumulative bands: at most one fault per call.
    let u = this.prng.next();
    const hit = (rate: number | undefined): boolean => {
      u -= rate ?? 0;
      return u < 0;
    };
    const random = (fault: Fault, revokeTokens = false): FaultDecision => ({
      fault,
      source: 'random',
      revokeTokens,
    });
    if (hit(r.http5xx)) {
      const kinds = ['http-500', 'http-502', 'http-503'] as const;
      return random({ kind: kinds[this.prng.int(kinds.length)] ?? 'http-500' });
    }
    if (hit(r.rateLimit)) return random({ kind: 'rate-limit', retryAfterSeconds: r.retryAfterSeconds ?? 1 });
    if (hit(r.timeoutAfterCommit)) {
      return random({ kind: 'timeout-after-commit', delayMs: r.timeoutAfterCommitMs ?? 30_000 });
    }
    if (hit(r.resetAfterCommit)) return random({ kind: 'reset-after-commit' });
    if (hit(r.latencySpike)) return random({ kind: 'latency', delayMs: r.latencySpikeMs ?? 1_000 });
    if (hit(r.tokenExpiry) && authenticated) return random({ kind: 'token-expired' }, true);
    return null;
  }
}

/** Validates a fault given as an object or as a bare kind. */
export function parseFault(fault: unknown): Fault {
  const parsed = faultSchema.safeParse(fault);
  if (!parsed.success) throw new SimulatorError(400, `invalid fault: ${describe(parsed.error)}`);
  return parsed.data;
}

function sumOfRates(r: FaultRates): number {
  return (
    (r.http5xx ?? 0) +
    (r.rateLimit ?? 0) +
    (r.timeoutAfterCommit ?? 0) +
    (r.resetAfterCommit ?? 0) +
    (r.latencySpike ?? 0) +
    (r.tokenExpiry ?? 0)
  );
}

function zeroStats(): FaultStats {
  const stats = { total: 0 } as FaultStats;
  for (const kind of FAULT_KINDS) stats[kind] = 0;
  return stats;
}

function describe(error: z.ZodError): string {
  return error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ');
}
