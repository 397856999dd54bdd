import { createPublicKey, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { VerifiableAlgorithm } from '../crypto/jwt.ts';
import { BearerError } from './errors.ts';
import type { FetchFunction } from './fetch-function.ts';

/** A published verification key with the algorithms its type allows. */
export interface PublishedKey {
  key: KeyObject;
  /** RFC 8725 §3.1: the only header `alg` values accepted with this key. */
  algorithms: readonly VerifiableAlgorithm[];
}

/** What a key's type admits: ES256 ↔ EC P-256, EdDSA (or its RFC 9864 name Ed25519) ↔ OKP Ed25519; nothing else. */
function algorithmsFor(jwk: Record<string, unknown>): VerifiableAlgorithm[] {
  let allowed: VerifiableAlgorithm[];
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') allowed = ['ES256'];
  else if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') allowed = ['EdDSA', 'Ed25519'];
  else return [];
  // A key that names its algorithm is used with that one only.
  if (jwk.alg !== undefined) return allowed.filter((alg) => alg === jwk.alg);
  return allowed;
}

const MAX_KEYS = 100;
const MAX_JWKS_BYTES = 256 * 1024;

/** Parses a JWK Set, keeping the public signature keys of a supported type that have a `kid`. */
export function parseJwks(body: unknown): Map<string, PublishedKey> {
  const keys = new Map<string, PublishedKey>();
  const list = typeof body === 'object' && body !== null ? (body as { keys?: unknown }).keys : undefined;
  if (!Array.isArray(list)) throw new Error('the JWKS has no keys array');
  for (const jwk of list.slice(0, MAX_KEYS) as Record<string, unknown>[]) {
    if (typeof jwk !== 'object' || jwk === null || typeof jwk.kid !== 'string' || keys.has(jwk.kid)) continue;
    // A set that publishes a private member is misconfigured: such a key is never trusted.
    if ('d' in jwk || (jwk.use !== undefined && jwk.use !== 'sig')) continue;
    const algorithms = algorithmsFor(jwk);
    if (algorithms.length === 0) continue;
    try {
      const { kty, crv, x, y } = jwk;
      keys.set(jwk.kid, { key: createPublicKey({ key: { kty, crv, x, y } as JsonWebKey, format: 'jwk' }), algorithms });
    } catch {
      // A malformed key is skipped; the others stay usable.
    }
  }
  return keys;
}

export interface JwksCacheOptions {
  uri: string;
  fetch: FetchFunction;
  now: () => number;
  /** Shortest time between two fetches, in milliseconds. */
  cooldownMs: number;
  /**
   * Longest time a fetched set is used before the next lookup refreshes it, in milliseconds; a
   * shorter `Cache-Control: max-age` of the JWKS response wins (at least one second).
   */
  maxAgeMs: number;
  timeoutMs: number;
}

/**
 * The issuer's published keys. A set older than its `max-age` is refetched on the next lookup,
 * so a key the issuer publishes ahead of signing with it (Gatehouse's `keys rotate` lead time
 * covers this max-age) is known before its first token arrives. A lookup of an unknown `kid`
 * also refetches the set, at most once per cooldown (a forged kid cannot make the verifier hammer
 * the issuer); concurrent lookups share one fetch; a failed fetch keeps the keys already known.
 * A successful fetch replaces the whole set, never merges: a kid the issuer no longer lists (a key
 * withdrawn by `keys revoke`) is refused from that fetch on, however recently it verified, so a
 * revoked key is refused at most `max-age` after the issuer stopped publishing it.
 */
export class JwksCache {
  private keys = new Map<string, PublishedKey>();
  private lastAttempt: number | undefined;
  private lastFailed = false;
  private inflight: Promise<void> | undefined;
  private maxAgeMs: number;

  constructor(private readonly options: JwksCacheOptions) {
    this.maxAgeMs = options.maxAgeMs;
  }

  /** The key published under `kid`; throws `invalid_token` for an unknown kid, `temporarily_unavailable` when the set cannot be fetched. */
  async get(kid: string): Promise<PublishedKey> {
    const known = this.keys.get(kid);
    if (known && !this.expired()) return known;
    if (this.inflight || this.expired() || this.mayFetch()) await this.refresh();
    const key = this.keys.get(kid);
    if (key) return key;
    if (this.lastFailed) throw new BearerError('temporarily_unavailable', 'the signing keys cannot be fetched');
    throw new BearerError('invalid_token', 'the token is signed by an unknown key');
  }

  private expired(): boolean {
    return this.lastAttempt !== undefined && this.options.now() - this.lastAttempt >= this.maxAgeMs;
  }

  private mayFetch(): boolean {
    return this.lastAttempt === undefined || this.options.now() - this.lastAttempt >= this.options.cooldownMs;
  }

  private refresh(): Promise<void> {
    this.inflight ??= this.fetchKeys().finally(() => {
      this.inflight = undefined;
    });
    return this.inflight;
  }

  private async fetchKeys(): Promise<void> {
    this.lastAttempt = this.options.now();
    try {
      const response = await this.options.fetch(this.options.uri, {
        headers: { accept: 'application/json' },
        signal: AbortSignal.timeout(this.options.timeoutMs),
      });
      if (!response.ok) throw new Error(`the JWKS answered ${response.status}`);
      const text = await response.text();
      if (text.length > MAX_JWKS_BYTES) throw new Error('the JWKS is too large');
      // Replaced, not merged: a kid that is no longer published is forgotten now.
      this.keys = parseJwks(JSON.parse(text));
      this.maxAgeMs = maxAgeOf(response.headers.get('cache-control'), this.options.maxAgeMs);
      this.lastFailed = false;
    } catch {
      this.lastFailed = true;
    }
  }
}

/** The `max-age` of a response in milliseconds, within [1 s, `cap`]; `cap` without one. */
function maxAgeOf(cacheControl: string | null, cap: number): number {
  const seconds = /(?:^|[,\s])max-age=(\d+)/i.exec(cacheControl ?? '')?.[1];
  if (seconds === undefined) return cap;
  return Math.min(cap, Math.max(1000, Number(seconds) * 1000));
}
