import { startApi } from '../src/server.js';
import { readBuildInfo } from '../src/build-info.js';
import { isMainModule, runProcess } from '../src/process-runner.js';
import type { Config } from '../src/config.js';
import type { Logger } from '../src/logger.js';
import { startWorkers } from './start-workers.js';
import { createMetrics } from '../src/metrics/metrics.js';

/** Receiver and workers in one process (`npm start`): the simplest deployment. */
export async function startService(config: Config, logger: Logger) {
  // One registry for the process: the receiver's /metrics shows the sweeps too.
  const metrics = createMetrics({ build: readBuildInfo(config.buildCommit) });
  const workers = await startWorkers(config, logger, { metrics });
  const api = await startApi(config, logger, { metrics });
  return {
    api,
    workers,
    async close() {
      // Stop taking notifications first, then let in-flight sweeps finish.
      await api.close();
      await workers.close();
    },
  };
}

if (isMainModule(import.meta.url)) runProcess('interlace-sweep', startService);
