import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { createKeys } from '../../src/keys.js';
import { DEAD_LETTER_QUEUE, SWEEP_QUEUE, type DeadLetterData } from '../../src/queues/names.js';
import { createSimulator } from '../../simulator/simulator.js';
import { buildPlan } from '../../scripts/chaos/plan.js';
import { verify } from '../../scripts/chaos/verify.js';
import { deleteKeysWithPrefix, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

// The soak's verdict must be able to fail: with the deposits credited at Interlace and nothing swept,
// it reports every sweepable deposit lost and names the other broken rules.
const prefix = uniquePrefix('chaos-verify');
const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
const sweepQueue = new Queue(SWEEP_QUEUE, { connection: redis, prefix });
const deadQueue = new Queue<DeadLetterData>(DEAD_LETTER_QUEUE, { connection: redis, prefix });

afterAll(async () => {
  await sweepQueue.close();
  await deadQueue.close();
  await deleteKeysWithPrefix(redis, prefix);
  await redis.quit();
});

describe('chaos verdict', () => {
  it('reports lost deposits, wrong states, missing dead letters and unbalanced books', async () => {
    const sim = createSimulator({ clientId: 'c', clientSecret: 's', seed: 3 });
    const plan = buildPlan(sim, { deposits: 40, seed: 3 });
    // Every delivery built: the PENDING-first deposits get credited, as in a run.
    for (const deposit of plan.deposits) {
      if (deposit.kind === 'sweep' && deposit.pendingFirst) sim.setDepositStatus(deposit.id, 'CLOSED');
    }
    await sweepQueue.add('sweep', { depositId: plan.deposits[0]!.id }, { jobId: 'deposit-x', delay: 60_000 });

    const verdict = await verify({
      sim,
      deposits: plan.deposits,
      redis,
      keys: createKeys(prefix),
      sweepQueue,
      deadQueue,
    });

    expect(verdict.lost).toBe(plan.counts.sweep);
    expect(verdict.doubled).toBe(0);
    const kinds = new Set(verdict.violations.map((v) => v.split(':')[0]));
    expect([...kinds].sort()).toEqual([
      'lost',
      'missing-dead-letter',
      'queue-not-empty',
      'sums',
      'wrong-state',
    ]);
  });
});
