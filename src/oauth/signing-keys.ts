import { createPrivateKey, type KeyObject, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose';
import { decryptPrivateKey, encryptPrivateKey } from '../crypto/key-encryption.ts';
import type { Clock } from '../domain/clock.ts';
import type { SigningAlgorithm, SigningKey } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import { RefreshingCache } from './refreshing-cache.ts';

/** Algorithms access tokens may be signed with: asymmetric only (RFC 9068 §2.1, RFC 8725 §3.1). */
export const ACCESS_TOKEN_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'EdDSA'];

/** Generates a key pair and returns it as a storable record, the private half sealed. */
export async function generateSigningKey(envId: string, alg: SigningAlgorithm, keySecret: Buffer, now: number): Promise<SigningKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'EdDSA' ? { crv: 'Ed25519' } : {}) });
  const jwk = await exportJWK(publicKey);
  const kid = `${(await calculateJwkThumbprint(jwk)).slice(0, 16)}${randomUUID().slice(0, 8)}`;
  const publicJwk: JWK = { ...jwk, kid, alg, use: 'sig' };
  const pkcs8 = await exportPKCS8(privateKey);
  return {
    kid,
    envId,
    alg,
    publicJwk: publicJwk as Record<string, unknown>,
    privateKeySealed: encryptPrivateKey(pkcs8, keySecret, `${envId}/${kid}`),
    status: 'active',
    createdAt: now,
    retiredAt: null,
    publishUntil: null,
  };
}

export interface ActiveSigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
}

/**
 * Per-environment view of signing keys with a short cache. A node may keep signing with a
 * just-rotated key for at most `cacheTtlMs`; rotation publishes the old key long enough to cover
 * it. While the database is unavailable, keys read within `staleIfErrorMs` are still used.
 */
export class KeyRing {
  private readonly active: RefreshingCache<ActiveSigningKey>;
  private readonly published: RefreshingCache<SigningKey[]>;

  constructor(
    private readonly store: Pick<Store, 'signingKeys' | 'health'>,
    private readonly keySecret: Buffer,
    private readonly clock: Clock,
    cacheTtlMs: number,
    staleIfErrorMs = 0,
  ) {
    const policy = { ttlMs: cacheTtlMs, staleIfErrorMs, maxEntries: 10_000 };
    this.active = new RefreshingCache(clock, store.health, policy);
    this.published = new RefreshingCache(clock, store.health, policy);
  }

  /** The key new tokens of `envId` are signed with. */
  async activeKey(envId: string): Promise<ActiveSigningKey> {
    const { value } = await this.active.get(envId, async () => {
      const key = await this.store.signingKeys.findActive(envId);
      if (!key) throw new Error(`environment ${envId} has no active signing key`);
      const pem = decryptPrivateKey(key.privateKeySealed, this.keySecret, `${envId}/${key.kid}`);
      return { kid: key.kid, alg: key.alg as SigningAlgorithm, privateKey: createPrivateKey(pem) };
    });
    return value;
  }

  /** Keys in the environment's JWKS: the active one and retired ones whose tokens may still be live. */
  async publishedKeys(envId: string, options: { fresh?: boolean } = {}): Promise<SigningKey[]> {
    return (await this.published.get(envId, () => this.store.signingKeys.listPublished(envId, this.clock.now()), options)).value;
  }

  /**
   * The published key named `kid`. A kid missing from the cache is looked up in storage once
   * more, so a key another node has just rotated in is recognised at once.
   */
  async publishedKey(envId: string, kid: string): Promise<SigningKey | undefined> {
    const cached = (await this.publishedKeys(envId)).find((k) => k.kid === kid);
    if (cached) return cached;
    return (await this.publishedKeys(envId, { fresh: true })).find((k) => k.kid === kid);
  }

  /** Forgets cached keys of an environment (after a rotation made by this node). */
  invalidate(envId: string): void {
    this.active.invalidate(envId);
    this.published.invalidate(envId);
  }
}

/** Public members only (RFC 7517 §4): nothing private ever reaches the JWKS. */
export function publicJwks(keys: readonly SigningKey[]): { keys: JWK[] } {
  return {
    keys: keys.map((key) => {
      const { kty, crv, x, y, n, e, kid, alg, use } = key.publicJwk as JWK;
      return Object.fromEntries(Object.entries({ kty, crv, x, y, n, e, kid, alg, use }).filter(([, v]) => v !== undefined)) as JWK;
    }),
  };
}
