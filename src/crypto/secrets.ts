import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random URL-safe string holding `bytes` bytes of entropy. */
export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

/**
 * Hash of a Gatehouse-generated secret (client secret, opaque token). These secrets carry at
 * least 256 bits of entropy, so a fast hash is enough: guessing is infeasible without stretching.
 */
export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** Constant-time comparison of two hashes produced by `hashSecret`. */
export function hashesEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'base64url');
  const right = Buffer.from(b, 'base64url');
  if (left.length !== right.length) return false;
  return timingSafeEqual(left, right);
}

/**
 * A keyed hash (HMAC-SHA-256 under a key derived from the key secret for `purpose`) for values
 * that are not secret but must not be readable from the database either: source addresses and
 * usernames in throttling counters. A plain hash of an IPv4 address is reversed by trying them
 * all; without the key secret this one is not. Every node shares the key secret, so every node
 * computes the same keys.
 */
export function keyedHasher(keySecret: Buffer, purpose: string): (value: string) => string {
  const key = createHmac('sha256', keySecret).update(`gatehouse keyed hash: ${purpose}`, 'utf8').digest();
  return (value) => createHmac('sha256', key).update(value, 'utf8').digest('base64url');
}
