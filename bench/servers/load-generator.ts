// The e2e load generator in its own process, so that it does not share an event loop with the simulator
// (which lives in the bench driver): what the bench measures must be the service, not the driver.
// Reads {url, connections, notifications: [{body, headers}]} from the JSON file named by argv, says READY,
// and on the first byte on stdin POSTs each notification once, then prints non2xx/errors/total as JSON.
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import autocannon from 'autocannon';

type Job = {
  url: string;
  connections: number;
  notifications: { body: string; headers: Record<string, string> }[];
};

const job = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as Job;
process.stdout.write('READY\n');
await once(process.stdin, 'data');
let next = 0;
const result = await autocannon({
  url: job.url,
  connections: job.connections,
  amount: job.notifications.length,
  method: 'POST',
  requests: [
    {
      setupRequest: (request) => {
        const notification = job.notifications[next++ % job.notifications.length]!;
        return { ...request, body: notification.body, headers: notification.headers };
      },
    },
  ],
});
process.stdout.write(
  `${JSON.stringify({ non2xx: result.non2xx, errors: result.errors, total: result.requests.total })}\n`,
);
