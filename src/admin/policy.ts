import type { SigningAlgorithm } from '../domain/model.ts';

/**
 * The settings the application services read, as plain values: the server (or the CLI) builds
 * them from the validated configuration, so this layer never reads configuration itself.
 */
export interface AdminPolicy {
  /** Base of every issuer URL, without a trailing slash. */
  readonly publicUrl: string;
  /** Algorithm of new signing keys. */
  readonly signingAlgorithm: SigningAlgorithm;
  /** Upper bound of any access-token lifetime, in seconds; also how long a retired key stays published. */
  readonly maxAccessTokenTtl: number;
  /** How long a node may serve a cached key or client, in seconds. */
  readonly cacheTtl: number;
  /** `Cache-Control: max-age` of the JWKS, in seconds: with `cacheTtl`, the lead time of a key rotation. */
  readonly jwksMaxAge: number;
  /** Default overlap of a rotated client secret, in seconds. */
  readonly secretRotationOverlap: number;
  /** scrypt cost of new password hashes, as log2(N). */
  readonly passwordHashCost: number;
}

/**
 * The key secret that encrypts private signing keys: the secret itself, or a function that
 * returns it or, where none is configured (only read and client commands can run then), throws
 * an error naming the setting to provide.
 */
export type KeySecretSource = Buffer | (() => Buffer);
