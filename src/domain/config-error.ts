/**
 * A setting that cannot be accepted; the message names the key. Thrown by the configuration
 * validator and by the parts whose settings it validates (surfaces, working hours).
 */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(`${key}: ${message}`);
    this.name = 'ConfigError';
  }
}
