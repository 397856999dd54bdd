import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';

/**
 * Public verification keys built from JWKs, kept by their JSON text: importing a JWK costs more
 * than verifying one signature. The JSON is the cache key, so a different key under the same kid
 * can never be served. Bounded; the oldest entries go first.
 */
export class PublicKeyCache {
  private readonly keys = new Map<string, KeyObject>();

  constructor(private readonly maxEntries = 1000) {}

  get(jwk: Record<string, unknown>): KeyObject {
    const { kty, crv, x, y, n, e } = jwk;
    const text = JSON.stringify({ kty, crv, x, y, n, e });
    let key = this.keys.get(text);
    if (!key) {
      key = createPublicKey({ key: { kty, crv, x, y, n, e } as JsonWebKey, format: 'jwk' });
      if (this.keys.size >= this.maxEntries) this.keys.delete(this.keys.keys().next().value as string);
      this.keys.set(text, key);
    }
    return key;
  }
}
