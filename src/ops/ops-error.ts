/**
 * A failure the operator caused or must know about, printed as one line without a stack trace.
 * Exit 2 is a usage mistake (fix the command line); exit 1 is everything else.
 */
export class OpsError extends Error {
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
  ) {
    super(message);
    this.name = 'OpsError';
  }
}

export const usageError = (message: string) => new OpsError(message, 2);
