// The service's own receiver (src/server.ts), as `npm run start:api` runs it, on an ephemeral port.
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startApi } from '../../src/server.js';

const config = loadConfig({
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const api = await startApi(config, createLogger({ level: config.logLevel }));
process.stdout.write(`READY ${new URL(api.url).port}\n`);
process.on('SIGTERM', () => {
  void api.close().then(() => process.exit(0));
});
