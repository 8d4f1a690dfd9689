// Run as a child process by test/http-client.test.ts, so that NODE_EXTRA_CA_CERTS (read at startup
// only, as in production) makes the loopback HTTPS origin trusted. Calls argv[2] twice through
// whatever proxy the environment names, and prints each answer as one JSON line.
import { createHttpClient } from '../../src/http-client.js';

const http = createHttpClient({ baseUrl: process.argv[2]!, deadlineMs: 5_000 });
try {
  for (const path of ['/first', '/second']) {
    const answer = await http.send({ method: 'GET', path });
    process.stdout.write(`${JSON.stringify({ status: answer.status, body: answer.body })}\n`);
  }
} catch (error) {
  process.stdout.write(`${JSON.stringify({ error: String(error) })}\n`);
  process.exitCode = 1;
} finally {
  http.close();
}
