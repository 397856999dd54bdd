import type { Clock } from '../domain/clock.ts';
import { ID_TOKEN_KEY_ALGORITHM, KEY_LINEAGES, type KeyLineage, lineageOf } from '../domain/key-lineage.ts';
import type { IdTokenAlgorithm, SigningAlgorithm, SigningKey } from '../domain/model.ts';
import type { KeyRevocation, Store } from '../domain/storage.ts';
import { generateSigningKey, keyStateAt } from './signing-keys.ts';

/** What key rotation reads, in seconds. */
export interface KeyRotationPolicy {
  /** The algorithm of new access-token keys; the other lineage's keys are RS256. */
  readonly signingAlgorithm: SigningAlgorithm;
  /** Upper bound of any access-token lifetime. */
  readonly maxAccessTokenTtl: number;
  /** How long a node may serve its cached published keys (its JWKS and its signing key). */
  readonly cacheTtl: number;
  /** `Cache-Control: max-age` of the JWKS: how long a resource server may keep it. */
  readonly jwksMaxAge: number;
}

/** Added to the lead time: the rotation's own commit, after its clock was read, and small clock differences between nodes. */
export const ACTIVATION_MARGIN_MS = 1000;

/**
 * Time from a next key's creation to its activation: the longest time any old copy of the JWKS
 * may still be in use, a node's cache (`cacheTtl`) followed by a resource server's (`jwksMaxAge`),
 * plus a margin. Once it has passed, every JWKS anyone holds lists the next key.
 */
export function activationLeadMs(policy: KeyRotationPolicy): number {
  return (policy.cacheTtl + policy.jwksMaxAge) * 1000 + ACTIVATION_MARGIN_MS;
}

/**
 * Time from an immediate rotation (`keys rotate --now`) to the new key's activation: a node's
 * cache only (`cacheTtl`), plus the margin. Every worker and node reads its published keys again
 * within `cacheTtl`, so by then each one's JWKS lists the new key before any of them signs with
 * it. Resource servers holding an older copy of the JWKS refetch it on the unknown kid.
 */
export function publicationLeadMs(policy: Pick<KeyRotationPolicy, 'cacheTtl'>): number {
  return policy.cacheTtl * 1000 + ACTIVATION_MARGIN_MS;
}

/**
 * How long a key retired at `retiredAt` stays published: a node may have signed with it up to
 * `cacheTtl` later (an immediate rotation it has not read yet), and such a token lives at most
 * `maxAccessTokenTtl`.
 */
export function publishUntilAfter(retiredAt: number, policy: KeyRotationPolicy): number {
  return retiredAt + (policy.maxAccessTokenTtl + policy.cacheTtl) * 1000;
}

/** The shortest scheduled rotation interval accepted, in seconds. */
export const MIN_ROTATION_INTERVAL = 3600;

/**
 * Starts signing-key rotations: scheduled (a next key, published at once, that signs after the
 * activation lead) or immediate. Any node or command may call it; storage makes each scheduled
 * rotation happen once. Each rotation acts on one lineage (`KeyLineage`), the access-token one
 * unless told otherwise; a scheduled round rotates every lineage that is due.
 */
export class KeyRotation {
  constructor(
    private readonly store: Pick<Store, 'signingKeys'>,
    private readonly keySecret: () => Buffer,
    private readonly clock: Clock,
    private readonly policy: KeyRotationPolicy,
  ) {}

  /** The algorithm of a new key of `lineage`. */
  algorithmOf(lineage: KeyLineage): IdTokenAlgorithm {
    return lineage === ID_TOKEN_KEY_ALGORITHM ? ID_TOKEN_KEY_ALGORITHM : this.policy.signingAlgorithm;
  }

  /**
   * A new key pair of `lineage`, to hand to `scheduleNext`, `rotateNow` or `revoke`: generating an
   * RSA key takes a while, and a caller that rotates inside a database transaction generates it
   * before the transaction starts. Those methods set its times when they use it.
   */
  async generate(envId: string, lineage: KeyLineage): Promise<SigningKey> {
    return generateSigningKey(envId, this.algorithmOf(lineage), this.keySecret(), this.clock.now());
  }

  /** `key` (generated ahead, see `generate`) or a new key of `lineage`, created at `now` and activating at `activateAt`. */
  private async keyAt(envId: string, lineage: KeyLineage, now: number, activateAt: number, key?: SigningKey): Promise<SigningKey> {
    if (!key) return generateSigningKey(envId, this.algorithmOf(lineage), this.keySecret(), now, activateAt);
    if (key.envId !== envId || lineageOf(key.alg) !== lineage) throw new Error(`key ${key.kid} is not a ${lineage} key of environment ${envId}`);
    return { ...key, createdAt: now, activateAt, status: activateAt > now ? 'next' : 'active' };
  }

  /**
   * Creates a next key of `lineage` for `envId`, activating after the lead time. Returns it, or
   * undefined if the lineage already has a next key or, with `olderThanMs`, if its active key is
   * younger.
   */
  async scheduleNext(envId: string, olderThanMs?: number, lineage: KeyLineage = 'access', key?: SigningKey): Promise<SigningKey | undefined> {
    const now = this.clock.now();
    const activateAt = now + activationLeadMs(this.policy);
    const next = await this.keyAt(envId, lineage, now, activateAt, key);
    const activeBefore = olderThanMs === undefined ? undefined : now - olderThanMs + 1;
    const created = await this.store.signingKeys.scheduleNext(envId, next, now, publishUntilAfter(activateAt, this.policy), activeBefore);
    return created ? next : undefined;
  }

  /**
   * Emergency rotation: a new key, published at once, signs after the publication lead (the
   * node cache bound, not the resource servers' max-age), so no worker or node signs with a kid
   * that another one's JWKS does not list yet. The old key signs until then and stays published
   * for its tokens; a pending next key (of the same lineage) is withdrawn.
   */
  async rotateNow(envId: string, lineage: KeyLineage = 'access', key?: SigningKey): Promise<SigningKey> {
    const now = this.clock.now();
    const activateAt = now + publicationLeadMs(this.policy);
    const next = await this.keyAt(envId, lineage, now, activateAt, key);
    await this.store.signingKeys.rotate(envId, next, now, publishUntilAfter(activateAt, this.policy));
    return next;
  }

  /**
   * Revokes a leaked key: it leaves the JWKS at once (other nodes within `cacheTtl`) and tokens it
   * signed stop verifying. If it was the active key, a fresh key signs at once: it cannot be
   * published ahead, but signing with the revoked key must stop now. The replacement is of the
   * revoked key's lineage (an RS256 key for an RS256 key): `replacement` if given (see
   * `replacementFor`), else generated here. Returns what storage did, and the replacement when one
   * was needed.
   */
  async revoke(envId: string, kid: string, replacement?: SigningKey): Promise<{ revocation: KeyRevocation; replacement: SigningKey | undefined }> {
    const fresh = replacement ?? (await this.replacementFor(envId, kid));
    const now = this.clock.now();
    // Active from a little before now, so a node whose clock is slightly behind signs with it too.
    const key = await this.keyAt(envId, lineageOf(fresh.alg), now, now - ACTIVATION_MARGIN_MS, fresh);
    const revocation = await this.store.signingKeys.revoke(envId, kid, now, key, publishUntilAfter(now, this.policy));
    return { revocation, replacement: revocation.outcome === 'revoked' && revocation.replaced ? key : undefined };
  }

  /**
   * A key that could replace key `kid` if it is signing: of its lineage (for an unknown kid, of
   * the access-token lineage; the revocation will find nothing). A key's algorithm never changes,
   * so this may run before the revocation's own transaction.
   */
  async replacementFor(envId: string, kid: string): Promise<SigningKey> {
    const revoked = (await this.store.signingKeys.list(envId)).find((k) => k.kid === kid);
    return this.generate(envId, lineageOf(revoked?.alg ?? this.policy.signingAlgorithm));
  }

  /**
   * One round of the background task: records due status switches, then starts the scheduled
   * rotations that are due, of every lineage. Returns the environments that got a next key, and
   * its kid and algorithm.
   */
  async runSchedules(): Promise<Array<{ envId: string; kid: string; alg: string }>> {
    const now = this.clock.now();
    await this.store.signingKeys.settle(now);
    const started: Array<{ envId: string; kid: string; alg: string }> = [];
    for (const { envId, seconds } of await this.store.signingKeys.rotationSchedules()) {
      const keys = await this.store.signingKeys.listPublished(envId, now);
      for (const lineage of KEY_LINEAGES) {
        if (!isDue(keys, lineage, seconds * 1000, now)) continue;
        const next = await this.scheduleNext(envId, seconds * 1000, lineage);
        if (next) started.push({ envId, kid: next.kid, alg: next.alg });
      }
    }
    return started;
  }

  /**
   * Gives every environment without one an RS256 key, active at once: environments created before
   * each got one at creation. Run by every node when it starts and then with the scheduled
   * rotations (several nodes may start at once: storage lets one insert, the others read its key,
   * see `SigningKeyStore.startLineage`). Returns the keys this call created.
   */
  async addMissingLineages(): Promise<Array<{ envId: string; kid: string; alg: string }>> {
    const created: Array<{ envId: string; kid: string; alg: string }> = [];
    for (const envId of await this.store.signingKeys.withoutLineage(ID_TOKEN_KEY_ALGORITHM)) {
      const now = this.clock.now();
      const first = await generateSigningKey(envId, ID_TOKEN_KEY_ALGORITHM, this.keySecret(), now);
      const { key, created: inserted } = await this.store.signingKeys.startLineage(envId, first, now);
      if (inserted) created.push({ envId, kid: key.kid, alg: key.alg });
    }
    return created;
  }
}

/**
 * A cheap check before generating a key: the lineage has no next key yet, and its active key is
 * old enough.
 */
function isDue(keys: readonly SigningKey[], lineage: KeyLineage, intervalMs: number, now: number): boolean {
  let active: SigningKey | undefined;
  for (const key of keys) {
    if (lineageOf(key.alg) !== lineage) continue;
    const state = keyStateAt(key, now);
    if (state === 'next') return false;
    if (state === 'active' && (!active || key.activateAt > active.activateAt)) active = key;
  }
  return active !== undefined && active.activateAt <= now - intervalMs;
}
