/** An expected failure with a kebab-case code and, where it applies, the HTTP status to answer. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status = 500,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'AppError';
  }
}

/** Redis (or BullMQ on it) could not take a write: the caller must not claim it stored anything. */
export class StorageUnavailableError extends AppError {
  constructor(cause: unknown) {
    super('storage-unavailable', 'the event could not be stored; retry later', 503, { cause });
    this.name = 'StorageUnavailableError';
  }
}

/** Rejects with `error` unless `promise` settles within `ms`. */
export function withTimeout<T>(promise: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(error()), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}
