import { createRequire } from 'node:module';
import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

// Every path where a secret could travel; pino replaces them before serialising.
export const REDACT_PATHS = [
  'clientSecret',
  'webhookSecret',
  'accessToken',
  'refreshToken',
  'password',
  'authorization',
  'token',
  '*.clientSecret',
  '*.webhookSecret',
  '*.accessToken',
  '*.refreshToken',
  '*.password',
  '*.token',
  'req.headers.authorization',
  'req.headers["x-access-token"]',
  // The merchant API's keys (docs/wallets.md), should a request's headers ever be logged.
  'req.headers["x-api-key"]',
  'headers["x-api-key"]',
  'headers.authorization',
  'req.headers.signature',
  'headers["x-access-token"]',
  'config.headers["x-access-token"]',
  'err.config.headers["x-access-token"]',
  'interlace.clientSecret',
  'interlace.webhookSecret',
  'dashboard.password',
];

/**
 * The process logger: JSON lines to stdout (or `destination`), secrets redacted. `format: 'pretty'`
 * (LOG_FORMAT) renders them for a human through pino-pretty, a development dependency: where it is not
 * installed (the production image) the logger stays on JSON and says so.
 */
export function createLogger(
  options: { level: string; name?: string; base?: Record<string, unknown>; format?: 'json' | 'pretty' },
  destination?: DestinationStream,
): Logger {
  const pretty = options.format === 'pretty' ? prettyStream(destination) : undefined;
  const logger = pino(
    {
      level: options.level,
      name: options.name ?? 'interlace-sweep',
      base: options.base ?? { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.err },
    },
    pretty ?? destination,
  );
  if (pretty === null) logger.warn('LOG_FORMAT=pretty needs pino-pretty (a dev dependency): logging JSON');
  return logger;
}

/** A pino-pretty stream (sync, in this thread), or null when pino-pretty is not installed. */
function prettyStream(destination: DestinationStream | undefined): DestinationStream | null {
  let build: (options: Record<string, unknown>) => DestinationStream;
  try {
    // pino-pretty is CommonJS; require keeps createLogger synchronous and its absence catchable.
    build = createRequire(import.meta.url)('pino-pretty') as typeof build;
  } catch {
    return null;
  }
  return build({
    colorize: destination === undefined && process.stdout.isTTY === true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname',
    sync: true,
    ...(destination === undefined ? {} : { destination }),
  });
}
