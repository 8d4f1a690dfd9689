// The service's own sweep worker (workers/start-workers.ts), signalling readiness to the bench driver.
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { startWorkers } from '../../workers/start-workers.js';

const config = loadConfig({ ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' });
const workers = await startWorkers(config, createLogger({ level: config.logLevel }));
process.stdout.write('READY 0\n');
process.on('SIGTERM', () => {
  void workers.close().then(() => process.exit(0));
});
