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
  'req.headers.signature',
  'headers["x-access-token"]',
  'config.headers["x-access-token"]',
  'err.config.headers["x-access-token"]',
  'interlace.clientSecret',
  'interlace.webhookSecret',
  'dashboard.password',
];

/** The process logger: JSON lines to stdout (or `destination`), secrets redacted. */
export function createLogger(
  options: { level: string; name?: string; base?: Record<string, unknown> },
  destination?: DestinationStream,
): Logger {
  return pino(
    {
      level: options.level,
      name: options.name ?? 'interlace-sweep',
      base: options.base ?? { pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}
