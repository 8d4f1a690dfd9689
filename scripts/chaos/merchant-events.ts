/**
 * The merchant's backend in a chaos run: it verifies every signed event (standardwebhooks), refuses a
 * seeded share of deliveries with a 5xx, and afterwards says which events were lost or doubled.
 * Workers (which relay and deliver) are SIGKILLed and Redis restarts meanwhile: every deposit's events
 * must still arrive, each once by event id.
 */
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { Webhook } from 'standardwebhooks';
import type { Keys } from '../../src/keys.js';
import type { MerchantEventBody, MerchantEventJobData } from '../../src/merchant-events/merchant-event.js';
import type { Prng } from '../../simulator/prng.js';

export type MerchantVerdict = {
  /** Distinct events verified and accepted by the backend. */
  delivered: number;
  /** Delivery attempts the backend refused on purpose (retried by the service). */
  refused: number;
  /** Deliveries of an event it already had (at least once: acknowledged, not counted again). */
  redelivered: number;
  /** Events a deposit's final state requires that never arrived. */
  lost: number;
  /** A deposit's deposit.received or deposit.swept under more than one event id. */
  doubled: number;
};

/** The backend on loopback; `faultRate` of the deliveries answer 503. */
export async function startChaosMerchant(prng: Prng, faultRate: number) {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const webhook = new Webhook(secret);
  const events = new Map<string, MerchantEventBody>();
  const counts = { refused: 0, redelivered: 0, unverified: 0 };
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (prng.next() < faultRate) {
        counts.refused += 1;
        res.writeHead(503).end();
        return;
      }
      const headers = Object.fromEntries(
        Object.entries(req.headers).filter(
          (entry): entry is [string, string] => typeof entry[1] === 'string',
        ),
      );
      try {
        const event = webhook.verify(Buffer.concat(chunks).toString('utf8'), headers) as MerchantEventBody;
        if (events.has(event.id)) counts.redelivered += 1;
        else events.set(event.id, event);
        res.writeHead(204).end();
      } catch {
        counts.unverified += 1;
        res.writeHead(401).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    env: {
      MERCHANT_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/chaos`,
      MERCHANT_WEBHOOK_SECRET: secret,
      MERCHANT_WEBHOOK_BACKOFF_MS: '50',
      MERCHANT_WEBHOOK_ATTEMPTS: '30',
    },
    events,
    counts,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/**
 * Waits (polling, bounded by `deadline`) until the outbox is empty and no event is still to deliver;
 * answers what was left otherwise.
 */
export async function drainMerchantEvents(
  redis: Redis,
  keys: Keys,
  queue: Queue<MerchantEventJobData>,
  deadline: number,
): Promise<string | undefined> {
  let left = '';
  while (Date.now() < deadline) {
    const outbox = await redis.xlen(keys.merchantOutbox);
    const counts = await queue.getJobCounts(
      'waiting',
      'active',
      'delayed',
      'prioritized',
      'paused',
      'failed',
    );
    if (outbox === 0 && Object.values(counts).every((n) => n === 0)) return undefined;
    left = `outbox ${outbox}, jobs ${JSON.stringify(counts)}`;
    // Failed events (every attempt refused) will not move by themselves: no point waiting on them.
    if (outbox === 0 && Object.entries(counts).every(([state, n]) => state === 'failed' || n === 0))
      return left;
    await sleep(100);
  }
  return left;
}

const ENDING: Record<string, string> = {
  swept: 'deposit.swept',
  held: 'deposit.held',
  failed: 'deposit.failed',
  dead: 'deposit.failed',
};

/**
 * Every recorded deposit must have its deposit.received and the event of the state it ended in; a
 * deposit.received or deposit.swept (each emitted once by the state machine) must have one event id.
 */
export function verifyMerchantEvents(
  merchant: Awaited<ReturnType<typeof startChaosMerchant>>,
  finalStates: ReadonlyMap<string, string | null>,
  violation: (text: string) => void,
): MerchantVerdict {
  const ids = new Map<string, Set<string>>();
  for (const event of merchant.events.values()) {
    const key = `${event.data.deposit_id}|${event.type}`;
    ids.set(key, (ids.get(key) ?? new Set()).add(event.id));
  }
  let lost = 0;
  let doubled = 0;
  for (const [depositId, state] of finalStates) {
    if (state === null) continue;
    const needed = ['deposit.received', ...(ENDING[state] ? [ENDING[state]] : [])];
    for (const type of needed) {
      if (!ids.has(`${depositId}|${type}`)) {
        lost += 1;
        violation(`merchant event lost: ${type} of deposit ${depositId} (state ${state})`);
      }
    }
    for (const type of ['deposit.received', 'deposit.swept']) {
      const count = ids.get(`${depositId}|${type}`)?.size ?? 0;
      if (count > 1) {
        doubled += 1;
        violation(`merchant event doubled: ${type} of deposit ${depositId} under ${count} event ids`);
      }
    }
  }
  if (merchant.counts.unverified > 0)
    violation(`merchant events: ${merchant.counts.unverified} deliveries failed signature verification`);
  return {
    delivered: merchant.events.size,
    refused: merchant.counts.refused,
    redelivered: merchant.counts.redelivered,
    lost,
    doubled,
  };
}
