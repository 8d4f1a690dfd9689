import { describe, expect, it } from 'vitest';
import { microBatch, type BatchResult } from '../src/micro-batch.js';

/** A batch function that records the batches it was given and answers each input doubled. */
function doubling() {
  const batches: number[][] = [];
  const run = microBatch<number, number>(
    async (inputs) => {
      batches.push(inputs);
      return inputs.map((n): BatchResult<number> => ({ ok: true, value: n * 2 }));
    },
    { maxSize: 4 },
  );
  return { batches, run };
}

describe('microBatch', () => {
  it('runs the calls of one turn as one batch, and answers each caller its own result', async () => {
    const { batches, run } = doubling();
    expect(await Promise.all([run(1), run(2), run(3)])).toEqual([2, 4, 6]);
    expect(batches).toEqual([[1, 2, 3]]);
  });

  it('never grows a batch past maxSize', async () => {
    const { batches, run } = doubling();
    await Promise.all([1, 2, 3, 4, 5, 6].map((n) => run(n)));
    expect(batches).toEqual([
      [1, 2, 3, 4],
      [5, 6],
    ]);
  });

  it('answers a lone call within the turn, and starts a new batch for calls made later', async () => {
    const { batches, run } = doubling();
    expect(await run(7)).toBe(14);
    expect(await run(8)).toBe(16);
    expect(batches).toEqual([[7], [8]]);
  });

  it('fails only the call whose own result failed', async () => {
    const run = microBatch<number, number>(
      async (inputs) =>
        inputs.map((n) =>
          n === 2 ? { ok: false, error: new Error('two is refused') } : { ok: true, value: n },
        ),
      { maxSize: 10 },
    );
    const results = await Promise.allSettled([run(1), run(2), run(3)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect((results[1] as PromiseRejectedResult).reason).toEqual(new Error('two is refused'));
  });

  it('fails every call of a batch whose run throws, synchronously or not, and keeps serving', async () => {
    let mode: 'sync' | 'async' | 'ok' = 'sync';
    const run = microBatch<number, number>(
      (inputs) => {
        if (mode === 'sync') throw new Error('sync failure');
        if (mode === 'async') return Promise.reject(new Error('async failure'));
        return Promise.resolve(inputs.map((n) => ({ ok: true as const, value: n })));
      },
      { maxSize: 10 },
    );
    await expect(Promise.all([run(1), run(2)])).rejects.toThrow('sync failure');
    mode = 'async';
    const settled = await Promise.allSettled([run(1), run(2)]);
    expect(settled.every((r) => r.status === 'rejected')).toBe(true);
    mode = 'ok';
    expect(await run(5)).toBe(5);
  });

  it('rejects the callers a batch left without a result', async () => {
    const run = microBatch<number, number>(async () => [{ ok: true, value: 1 }], { maxSize: 10 });
    const [first, second] = await Promise.allSettled([run(1), run(2)]);
    expect(first.status).toBe('fulfilled');
    expect(second.status).toBe('rejected');
  });
});
