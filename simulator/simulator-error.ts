/** A misuse of the simulator's own API (unknown wallet, bad amount...); the control API answers `status`. */
export class SimulatorError extends Error {
  constructor(
    readonly status: 400 | 404 | 409,
    message: string,
  ) {
    super(message);
    this.name = 'SimulatorError';
  }
}
