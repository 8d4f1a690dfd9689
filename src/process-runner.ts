import { ConfigError, loadConfig, type Config } from './config.js';
import { createLogger, type Logger } from './logger.js';
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type Running = { close(): Promise<void> };

/** True when the module at `importMetaUrl` is the script node was started with. */
export function isMainModule(importMetaUrl: string): boolean {
  const entry = process.argv[1];
  if (entry === undefined) return false;
  try {
    return realpathSync(fileURLToPath(importMetaUrl)) === realpathSync(entry);
  } catch {
    return false;
  }
}

/**
 * Runs a process entry: load config (exit 1 naming the bad variable), start, and close gracefully on
 * SIGTERM/SIGINT within SHUTDOWN_TIMEOUT_MS. A programmer error is logged and exits non-zero after a
 * best-effort close.
 */
export function runProcess(name: string, start: (config: Config, logger: Logger) => Promise<Running>): void {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${name}: ${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.logLevel, name, format: config.logFormat });
  let stopping = false;
  // A signal may come while start() is still running (its sweep worker may already hold a job): stop
  // must wait for it and close what it started, never exit around it.
  const started: Promise<Running | undefined> = start(config, logger).catch((error: unknown) => {
    logger.fatal({ err: error }, 'failed to start');
    logger.flush();
    process.exit(1);
  });

  const stop = async (reason: string, code: number) => {
    if (stopping) return;
    stopping = true;
    logger.info({ reason }, 'shutting down');
    const hardStop = setTimeout(() => {
      logger.error({ timeoutMs: config.shutdownTimeoutMs }, 'shutdown took too long; exiting');
      process.exit(code || 1);
    }, config.shutdownTimeoutMs + 5_000);
    hardStop.unref();
    try {
      await (await started)?.close();
    } catch (error) {
      logger.error({ err: error }, 'error during shutdown');
    }
    logger.info('stopped');
    logger.flush();
    process.exit(code);
  };

  process.once('SIGTERM', () => void stop('SIGTERM', 0));
  process.once('SIGINT', () => void stop('SIGINT', 0));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    void stop('uncaughtException', 1);
  });
  process.on('unhandledRejection', (error) => {
    logger.fatal({ err: error }, 'unhandled rejection');
    void stop('unhandledRejection', 1);
  });
}
