// The service as the Dockerfile's default command runs it (workers/start-service.ts): the receiver and
// the sweep workers in one process, on an ephemeral port.
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startService } from '../../workers/start-service.js';

const config = loadConfig({
  ...process.env,
  PORT: '0',
  HOST: '127.0.0.1',
  LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn',
});
const service = await startService(config, createLogger({ level: config.logLevel }));
process.stdout.write(`READY ${new URL(service.api.url).port}\n`);
process.on('SIGTERM', () => {
  void service.close().then(() => process.exit(0));
});
