/** A refused admin operation; `kind` maps to an exit code in the CLI and a status in the admin API. */
export class AdminError extends Error {
  constructor(
    readonly kind: 'invalid_argument' | 'not_found' | 'conflict',
    message: string,
  ) {
    super(message);
    this.name = 'AdminError';
  }
}
