import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';

export type Readiness = {
  ok: boolean;
  /** The checks that failed, by name: `redis`, `workers`. */
  failed: string[];
  checks: {
    redis: { ok: boolean; status: string; error?: string };
    workers: { ok: boolean; count?: number; error?: string };
  };
};

/**
 * Ready = Redis answers PING and at least one sweep worker is connected to the sweep queue (BullMQ
 * lists workers from CLIENT LIST by their connection names). Each check is bounded by `timeoutMs`.
 */
export async function checkReadiness(
  redis: Redis,
  sweepQueue: Pick<Queue, 'getWorkersCount'>,
  timeoutMs = 2_000,
): Promise<Readiness> {
  const [ping, workers] = await Promise.allSettled([
    bounded(redis.ping(), timeoutMs),
    bounded(sweepQueue.getWorkersCount(), timeoutMs),
  ]);
  const checks: Readiness['checks'] = {
    redis:
      ping.status === 'fulfilled'
        ? { ok: true, status: redis.status }
        : { ok: false, status: redis.status, error: messageOf(ping.reason) },
    workers:
      workers.status === 'fulfilled'
        ? { ok: workers.value > 0, count: workers.value }
        : { ok: false, error: messageOf(workers.reason) },
  };
  const failed = (Object.keys(checks) as (keyof Readiness['checks'])[]).filter((name) => !checks[name].ok);
  return { ok: failed.length === 0, failed, checks };
}

function bounded<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      timer.unref();
    }),
  ]).finally(() => clearTimeout(timer));
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
