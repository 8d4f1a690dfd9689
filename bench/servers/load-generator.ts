// The e2e load generator in its own process, so that it does not share an event loop with the simulator
// (which lives in the bench driver): what the bench measures must be the service, not the driver.
// Reads {url, connections, warmup, notifications} (each notification {body, headers}) from the JSON file
// named by argv, POSTs the warm-up ones, says READY, and on the first byte on stdin POSTs each
// notification once, then prints non2xx/errors/total/cpuMs as JSON.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

type Notification = { body: string; headers: Record<string, string> };
type Job = { url: string; connections: number; warmup: Notification[]; notifications: Notification[] };

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Job;

function post(notifications: Notification[]) {
  let next = 0;
  return autocannon({
    url: job.url,
    connections: job.connections,
    amount: notifications.length,
    method: 'POST',
    requests: [
      {
        setupRequest: (request) => {
          const notification = notifications[next++ % notifications.length]!;
          return { ...request, body: notification.body, headers: notification.headers };
        },
      },
    ],
  });
}

// Warm-up: JIT and connection pools of the generator and the receiver, before anything is measured.
if (job.warmup.length > 0) await post(job.warmup);
process.stdout.write('READY\n');
await once(process.stdin, 'data');
const cpuBefore = process.cpuUsage();
const result = await post(job.notifications);
const used = process.cpuUsage(cpuBefore);
process.stdout.write(
  `${JSON.stringify({
    non2xx: result.non2xx,
    errors: result.errors,
    total: result.requests.total,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMs: (used.user + used.system) / 1000,
  })}\n`,
);
