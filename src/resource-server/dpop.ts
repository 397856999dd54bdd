import { createHash } from 'node:crypto';
import { BearerError } from './errors.ts';

/**
 * RFC 9449 DPoP proofs as a protected resource checks them (§4.3 and §7): one JWT signed by the
 * client's key for this request, bound to the access token by `ath` and to the key by `cnf.jkt`.
 */

/** Algorithms a proof may use: asymmetric only (RFC 9449 §4.3 check 5); `Ed25519` is RFC 9864's name for EdDSA with that curve. */
export type DpopAlgorithm = 'ES256' | 'ES384' | 'ES512' | 'PS256' | 'RS256' | 'EdDSA' | 'Ed25519';

export const DPOP_ALGORITHMS: readonly DpopAlgorithm[] = Object.freeze(['ES256', 'ES384', 'ES512', 'PS256', 'RS256', 'EdDSA', 'Ed25519']);

/**
 * Where the `jti` of accepted proofs are kept (RFC 9449 §11.1). For several API nodes, back it by
 * a shared store (Redis `SET key 1 NX PXAT expiresAt`, an `INSERT … ON CONFLICT DO NOTHING`) so a
 * proof replayed to another node is refused too.
 */
export interface DpopReplayStore {
  /** Records `key` until `expiresAt` (epoch ms) in one atomic step: true when it was new, false when it was already there (a replay). */
  consume(key: string, expiresAt: number): boolean | Promise<boolean>;
}

/**
 * RFC 9449 §9: nonces a resource server hands out (`DPoP-Nonce`) and requires in proofs. Across
 * several nodes, every node must accept what any node issued (a shared secret, see
 * `createDpopNonces`).
 */
export interface DpopNonceProvider {
  /** The nonce to send to clients now. */
  current(): string | Promise<string>;
  /** Whether a proof's `nonce` is acceptable now. */
  accepts(nonce: string): boolean | Promise<boolean>;
}

/** An in-memory replay store for one process: bounded in entries, each kept until its proof could no longer be accepted. */
export class MemoryReplayStore implements DpopReplayStore {
  private readonly seen = new Map<string, number>();

  constructor(
    private readonly maxEntries = 100_000,
    private readonly now: () => number = Date.now,
  ) {
    if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new TypeError('MemoryReplayStore: maxEntries must be an integer ≥ 1');
  }

  consume(key: string, expiresAt: number): boolean {
    const now = this.now();
    const until = this.seen.get(key);
    if (until !== undefined && until > now) return false;
    if (until !== undefined) this.seen.delete(key);
    if (this.seen.size >= this.maxEntries) {
      // Entries are inserted in time order, so the expired ones come first.
      for (const [k, v] of this.seen) {
        if (v > now) break;
        this.seen.delete(k);
      }
      // Still full: the oldest entry goes; it is the one closest to leaving the acceptance window.
      if (this.seen.size >= this.maxEntries) this.seen.delete(this.seen.keys().next().value as string);
    }
    this.seen.set(key, expiresAt);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** RFC 7638 §3.2: the required members of each key type, in lexicographic order. */
const THUMBPRINT_MEMBERS: Record<string, readonly string[]> = { EC: ['crv', 'kty', 'x', 'y'], RSA: ['e', 'kty', 'n'], OKP: ['crv', 'kty', 'x'] };

/** RFC 7638: the base64url SHA-256 thumbprint of a public JWK; undefined for an unsupported key type. */
export function jwkThumbprint(jwk: Record<string, unknown>): string | undefined {
  const members = THUMBPRINT_MEMBERS[String(jwk.kty)];
  if (!members?.every((m) => typeof jwk[m] === 'string')) return undefined;
  const canonical = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return createHash('sha256').update(canonical).digest('base64url');
}

/** Calls a replay store or nonce provider; its failure is a dependency outage (503), never a 500 or an acceptance. */
export async function dependency<T>(call: () => T | Promise<T>): Promise<T> {
  try {
    return await call();
  } catch {
    throw new BearerError('temporarily_unavailable', 'the DPoP replay store or nonce provider cannot be reached');
  }
}
