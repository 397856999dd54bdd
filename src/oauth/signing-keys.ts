import { createPrivateKey, type KeyObject, randomUUID } from 'node:crypto';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, type JWK } from 'jose';
import { decryptPrivateKey, encryptPrivateKey } from '../crypto/key-encryption.ts';
import type { Clock } from '../domain/clock.ts';
import { ID_TOKEN_KEY_ALGORITHM } from '../domain/key-lineage.ts';
import type { IdTokenAlgorithm, SigningAlgorithm, SigningKey } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import { RefreshingCache } from './refreshing-cache.ts';

export { ID_TOKEN_KEY_ALGORITHM, KEY_LINEAGES, type KeyLineage, lineageOf } from '../domain/key-lineage.ts';

/** Algorithms access tokens may be signed with: asymmetric only (RFC 9068 §2.1, RFC 8725 §3.1). */
export const ACCESS_TOKEN_ALGORITHMS: readonly SigningAlgorithm[] = ['ES256', 'EdDSA'];

/** Every algorithm a signing key may have, in the order discovery lists them: RS256 first, the default of Core §15.1. */
export const KEY_ALGORITHMS: readonly IdTokenAlgorithm[] = ['RS256', 'ES256', 'EdDSA'];

export const isKeyAlgorithm = (value: string): value is IdTokenAlgorithm => (KEY_ALGORITHMS as readonly string[]).includes(value);

/**
 * RSA modulus of RS256 keys: 2048 bits, the size RFC 7518 §3.3 requires at least and every
 * relying party accepts. Keys rotate and ID Tokens live minutes, so the 112-bit strength of
 * 2048 bits (NIST SP 800-57) is ample, while 3072 bits would make each signature about three
 * times slower on the token endpoint.
 */
const RSA_MODULUS_LENGTH = 2048;

/**
 * Generates a key pair and returns it as a storable record, the private half sealed: active at
 * once, or a next key that signs from `activateAt` on.
 */
export async function generateSigningKey(envId: string, alg: IdTokenAlgorithm, keySecret: Buffer, now: number, activateAt = now): Promise<SigningKey> {
  const options = alg === 'EdDSA' ? { crv: 'Ed25519' } : alg === 'RS256' ? { modulusLength: RSA_MODULUS_LENGTH } : {};
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...options });
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
    status: activateAt > now ? 'next' : 'active',
    createdAt: now,
    activateAt,
    retiredAt: null,
    publishUntil: null,
  };
}

export type KeyState = 'next' | 'active' | 'retired' | 'removed' | 'revoked';

/**
 * What a key is at `now`, from its timestamps alone (the recorded status may lag): revoked once
 * revoked, removed once it has left the JWKS, retired once its successor signs, next until its
 * activation time.
 */
export function keyStateAt(key: SigningKey, now: number): KeyState {
  if (key.revokedAt != null) return 'revoked';
  if (key.publishUntil !== null && key.publishUntil <= now) return 'removed';
  if (key.retiredAt !== null && key.retiredAt <= now) return 'retired';
  if (key.activateAt > now) return 'next';
  return 'active';
}

/**
 * The key that signs at `now`, chosen among `keys` (a published set): the newest one whose
 * activation time has come and that is not retired yet. Chosen from the published set, never
 * from a separate read, a node cannot sign with a key its own JWKS does not list. Without `alg`,
 * the access-token key (never an RS256 one); with `alg`, the key of that algorithm.
 */
export function signingKeyAt(keys: readonly SigningKey[], now: number, alg?: IdTokenAlgorithm): SigningKey | undefined {
  let chosen: SigningKey | undefined;
  for (const key of keys) {
    if (alg === undefined ? key.alg === ID_TOKEN_KEY_ALGORITHM : key.alg !== alg) continue;
    if (keyStateAt(key, now) !== 'active') continue;
    if (!chosen || key.activateAt > chosen.activateAt || (key.activateAt === chosen.activateAt && key.createdAt > chosen.createdAt)) chosen = key;
  }
  return chosen;
}

export interface ActiveSigningKey<A extends IdTokenAlgorithm = SigningAlgorithm> {
  kid: string;
  alg: A;
  privateKey: KeyObject;
}

const MAX_DECRYPTED_KEYS = 10_000;

/**
 * Per-environment view of signing keys with one short cache: the published set. The JWKS is that
 * set and the signing key is picked from it by time (`signingKeyAt`), so a next key starts
 * signing on every node at its activation time without any node being told, and only after each
 * node has published it. While the database is unavailable, keys read within `staleIfErrorMs`
 * are still used.
 */
export class KeyRing {
  private readonly published: RefreshingCache<SigningKey[]>;
  /** Decrypted private keys by environment and kid: decryption is paid once per key. */
  private readonly privateKeys = new Map<string, KeyObject>();

  constructor(
    private readonly store: Pick<Store, 'signingKeys' | 'health'>,
    private readonly keySecret: Buffer,
    private readonly clock: Clock,
    cacheTtlMs: number,
    staleIfErrorMs = 0,
  ) {
    this.published = new RefreshingCache(clock, store.health, { ttlMs: cacheTtlMs, staleIfErrorMs, maxEntries: 10_000 });
  }

  /**
   * The key new tokens of `envId` are signed with now: without `alg`, the access-token key
   * (ES256 or EdDSA, never RS256); with `alg`, the active key of that algorithm, for an ID Token.
   */
  async activeKey(envId: string): Promise<ActiveSigningKey>;
  async activeKey(envId: string, alg?: IdTokenAlgorithm): Promise<ActiveSigningKey<IdTokenAlgorithm>>;
  async activeKey(envId: string, alg?: IdTokenAlgorithm): Promise<ActiveSigningKey<IdTokenAlgorithm>> {
    const key = signingKeyAt(await this.publishedKeys(envId), this.clock.now(), alg);
    if (!key) throw new Error(`environment ${envId} has no active ${alg === undefined ? '' : `${alg} `}signing key`);
    return { kid: key.kid, alg: key.alg as IdTokenAlgorithm, privateKey: this.privateKey(key) };
  }

  /**
   * The algorithms the environment has an active key of now, RS256 first: what an ID Token may be
   * signed with (discovery's `id_token_signing_alg_values_supported`).
   */
  async algorithms(envId: string): Promise<IdTokenAlgorithm[]> {
    const keys = await this.publishedKeys(envId);
    const now = this.clock.now();
    return KEY_ALGORITHMS.filter((alg) => keys.some((key) => key.alg === alg && keyStateAt(key, now) === 'active'));
  }

  /** Holds an environment's published keys as read at `loadedAt` (a warm start); private keys are decrypted when first used. */
  prime(envId: string, keys: SigningKey[], loadedAt: number): void {
    this.published.prime(envId, keys, loadedAt);
  }

  /** Keys in the environment's JWKS: next keys, the active one, and retired ones whose tokens may still be live. */
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
    this.published.invalidate(envId);
  }

  private privateKey(key: SigningKey): KeyObject {
    const id = `${key.envId}/${key.kid}`;
    let privateKey = this.privateKeys.get(id);
    if (!privateKey) {
      privateKey = createPrivateKey(decryptPrivateKey(key.privateKeySealed, this.keySecret, id));
      if (this.privateKeys.size >= MAX_DECRYPTED_KEYS) this.privateKeys.clear();
      this.privateKeys.set(id, privateKey);
    }
    return privateKey;
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
