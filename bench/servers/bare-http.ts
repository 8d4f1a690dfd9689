// Baseline (a): the practical limit of ingest on this machine. A bare node:http server that reads the
// body, verifies the HMAC and calls queue.add once per request. No framework, no ledger, no event log.
import { createServer } from 'node:http';
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

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    void (async () => {
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { id: string; resource: string };
        const signature = req.headers.signature;
        // The service's checks: Signature-Method, when sent, is HMAC-SHA256; base64 HMAC of `resource`.
        const method = req.headers['signature-method'];
        if (
          (method !== undefined && String(method).toUpperCase() !== 'HMAC-SHA256') ||
          !verifyResourceSignature(
            body.resource,
            typeof signature === 'string' ? signature : undefined,
            secret,
          )
        ) {
          res.writeHead(401).end();
          return;
        }
        const resource = JSON.parse(body.resource) as { id: string };
        await queue.add('sweep', { depositId: resource.id }, { jobId: `deposit-${resource.id}` });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"received":true}');
      } catch {
        res.writeHead(503).end();
      }
    })();
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  process.stdout.write(`READY ${typeof address === 'object' && address ? address.port : 0}\n`);
});
process.on('SIGTERM', () => process.exit(0));
