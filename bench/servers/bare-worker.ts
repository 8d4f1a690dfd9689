// Baseline for end to end: a bare BullMQ worker that makes the same HTTP call per sweep (the transfer) at
// the same concurrency, with axios over a keep-alive agent as most teams would write it, with one token
// fetched up front: no ledger, no classification, no retries, no deadline, no proxy. Same HTTP client
// (axios) as the service, so the ratio measures the service's own work and not a choice of client.
import http from 'node:http';
import axios from 'axios';
import { Worker } from 'bullmq';
import { Redis } from 'ioredis';

const api = axios.create({
  baseURL: `${process.env.INTERLACE_BASE_URL ?? ''}/open-api/v3`,
  timeout: 10_000,
  // The service's agent settings (src/http-client.ts), so the ratio does not measure them.
  httpAgent: new http.Agent({ keepAlive: true, keepAliveMsecs: 60_000, maxSockets: 256 }),
});
const clientId = process.env.INTERLACE_CLIENT_ID ?? '';

type Envelope<T> = { code: string; data: T };

const code = (await api.get<Envelope<{ code: string }>>('/oauth/authorize', { params: { clientId } })).data
  .data.code;
const token = (await api.post<Envelope<{ accessToken: string }>>('/oauth/access-token', { clientId, code }))
  .data.data.accessToken;
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: null,
});
const worker = new Worker(
  'bare',
  async (job) => {
    const reply = await api.post<Envelope<unknown>>('/business/transfer/internal', job.data, {
      headers: {
        'x-access-token': token,
        'Idempotency-Key': (job.data as { clientTransactionId: string }).clientTransactionId,
      },
    });
    if (reply.data.code !== '000000') throw new Error(String(reply.data.code));
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
