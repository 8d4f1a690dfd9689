// Baseline for end to end: a bare BullMQ worker that makes the same HTTP call per sweep (the transfer) at
// the same concurrency, over the same keep-alive transport as the service, with one token fetched up
// front: no ledger, no classification, no retries. Same transport, so the ratio measures the service's
// own work and not a difference of HTTP clients (fetch cost this baseline ~2× the CPU).
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { createHttpTransport } from '../../src/interlace/http-transport.js';

const transport = createHttpTransport({
  baseUrl: `${process.env.INTERLACE_BASE_URL ?? ''}/open-api/v3`,
  timeoutMs: 10_000,
});
const clientId = process.env.INTERLACE_CLIENT_ID ?? '';

async function call(
  method: 'GET' | 'POST',
  path: string,
  body?: unknown,
  token?: string,
): Promise<Record<string, unknown>> {
  const answer = await transport.send({
    method,
    path,
    ...(body ? { body } : {}),
    ...(token ? { headers: { 'x-access-token': token } } : {}),
  });
  return answer.body as Record<string, unknown>;
}

const code = ((await call('GET', `/oauth/authorize?clientId=${clientId}`)).data as { code: string }).code;
const token = (
  (await call('POST', '/oauth/access-token', { clientId, code })).data as { accessToken: string }
).accessToken;
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const worker = new Worker(
  'bare',
  async (job) => {
    const reply = await call('POST', '/business/transfer/internal', job.data, token);
    if (reply.code !== '000000') throw new Error(String(reply.code));
  },
  {
    connection,
    prefix: process.env.QUEUE_PREFIX ?? 'bench',
    concurrency: Number(process.env.WORKER_CONCURRENCY ?? 50),
  },
);
await worker.waitUntilReady();
process.stdout.write('READY 0\n');
process.on('SIGTERM', () => {
  void worker.close().then(() => process.exit(0));
});
