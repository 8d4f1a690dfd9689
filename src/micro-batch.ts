export type BatchOptions = {
  /** A batch never grows past this many calls; the next call starts a new one at once. */
  maxSize: number;
};

/** What a batch run answers for each of its inputs, in order: a value, or the error of that one call. */
export type BatchResult<O> = { ok: true; value: O } | { ok: false; error: unknown };

/**
 * Turns a function of many inputs into a function of one: calls made in the same turn of the event loop
 * (e.g. every webhook whose body arrived in one poll) run together as one batch, so the process writes
 * one Redis command buffer for them instead of one per call. A lone call is not delayed past the turn.
 * A run that throws fails every call of its batch; a result with `ok: false` fails only its own call.
 */
export function microBatch<I, O>(
  run: (inputs: I[]) => Promise<BatchResult<O>[]>,
  options: BatchOptions,
): (input: I) => Promise<O> {
  type Waiting = { input: I; resolve: (value: O) => void; reject: (error: unknown) => void };
  let pending: Waiting[] = [];
  let scheduled: NodeJS.Immediate | undefined;

  const flush = () => {
    if (scheduled) clearImmediate(scheduled);
    scheduled = undefined;
    const batch = pending;
    pending = [];
    if (batch.length === 0) return;
    let running: Promise<BatchResult<O>[]>;
    try {
      running = run(batch.map((w) => w.input));
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(
      (results) => {
        batch.forEach((waiting, i) => {
          const result = results[i];
          if (result === undefined) waiting.reject(new Error('the batch answered fewer results than calls'));
          else if (result.ok) waiting.resolve(result.value);
          else waiting.reject(result.error);
        });
      },
      (error: unknown) => {
        for (const waiting of batch) waiting.reject(error);
      },
    );
  };

  return (input) =>
    new Promise<O>((resolve, reject) => {
      pending.push({ input, resolve, reject });
      if (pending.length >= options.maxSize) flush();
      else scheduled ??= setImmediate(flush);
    });
}
