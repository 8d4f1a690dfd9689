// Baseline (b): the receiver most teams would write. express.json(), one route, HMAC, queue.add.
import express from 'express';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { verifyResourceSignature } from '../../src/interlace/webhook-signature.js';

const secret = process.env.BENCH_SECRET ?? '';
const connection = new Redis(process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', {
  maxRetriesPerRequest: 1,
  enableOfflineQueue: false,
});
await new Promise((resolve) => connection.once('ready', resolve));
const queue = new Queue('sweep', { connection, prefix: process.env.QUEUE_PREFIX ?? 'bench' });

const app = express();
app.use(express.json({ limit: '256kb' }));
app.post('/webhooks/interlace', async (req, res) => {
  const body = req.body as { resource: string };
  const signature = req.get('signature');
  // The service's checks: Signature-Method, when sent, is HMAC-SHA256; base64 HMAC of `resource`.
  const method = req.get('signature-method');
  if (
    (method !== undefined && method.toUpperCase() !== 'HMAC-SHA256') ||
    !verifyResourceSignature(body.resource, signature, secret)
  ) {
    res.status(401).json({ received: false });
    return;
  }
  const resource = JSON.parse(body.resource) as { id: string };
  await queue.add('sweep', { depositId: resource.id }, { jobId: `deposit-${resource.id}` });
  res.json({ received: true });
});
const server = app.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
