import type { Clock } from '../domain/clock.ts';
import type { SigningAlgorithm, SigningKey } from '../domain/model.ts';
import type { KeyRevocation, Store } from '../domain/storage.ts';
import { generateSigningKey, signingKeyAt } from './signing-keys.ts';

/** What key rotation reads, in seconds. */
export interface KeyRotationPolicy {
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
 * rotation happen once.
 */
export class KeyRotation {
  constructor(
    private readonly store: Pick<Store, 'signingKeys'>,
    private readonly keySecret: () => Buffer,
    private readonly clock: Clock,
    private readonly policy: KeyRotationPolicy,
  ) {}

  /**
   * Creates a next key for `envId`, activating after the lead time. Returns it, or undefined if
   * the environment already has a next key or, with `olderThanMs`, if its active key is younger.
   */
  async scheduleNext(envId: string, olderThanMs?: number): Promise<SigningKey | undefined> {
    const now = this.clock.now();
    const activateAt = now + activationLeadMs(this.policy);
    const next = await generateSigningKey(envId, this.policy.signingAlgorithm, this.keySecret(), now, activateAt);
    const activeBefore = olderThanMs === undefined ? undefined : now - olderThanMs + 1;
    const created = await this.store.signingKeys.scheduleNext(envId, next, now, publishUntilAfter(activateAt, this.policy), activeBefore);
    return created ? next : undefined;
  }

  /**
   * Emergency rotation: a new key, published at once, signs after the publication lead (the
   * node cache bound, not the resource servers' max-age), so no worker or node signs with a kid
   * that another one's JWKS does not list yet. The old key signs until then and stays published
   * for its tokens; a pending next key is withdrawn.
   */
  async rotateNow(envId: string): Promise<SigningKey> {
    const now = this.clock.now();
    const activateAt = now + publicationLeadMs(this.policy);
    const next = await generateSigningKey(envId, this.policy.signingAlgorithm, this.keySecret(), now, activateAt);
    await this.store.signingKeys.rotate(envId, next, now, publishUntilAfter(activateAt, this.policy));
    return next;
  }

  /**
   * Revokes a leaked key: it leaves the JWKS at once (other nodes within `cacheTtl`) and tokens it
   * signed stop verifying. If it was the active key, a fresh key signs at once: it cannot be
   * published ahead, but signing with the revoked key must stop now. Returns what storage did,
   * and the replacement when one was needed.
   */
  async revoke(envId: string, kid: string): Promise<{ revocation: KeyRevocation; replacement: SigningKey | undefined }> {
    const now = this.clock.now();
    // Active from a little before now, so a node whose clock is slightly behind signs with it too.
    const replacement = await generateSigningKey(envId, this.policy.signingAlgorithm, this.keySecret(), now);
    replacement.activateAt = now - ACTIVATION_MARGIN_MS;
    const revocation = await this.store.signingKeys.revoke(envId, kid, now, replacement, publishUntilAfter(now, this.policy));
    return { revocation, replacement: revocation.outcome === 'revoked' && revocation.replaced ? replacement : undefined };
  }

  /**
   * One round of the background task: records due status switches, then starts the scheduled
   * rotations that are due. Returns the environments that got a next key, and its kid.
   */
  async runSchedules(): Promise<Array<{ envId: string; kid: string }>> {
    const now = this.clock.now();
    await this.store.signingKeys.settle(now);
    const started: Array<{ envId: string; kid: string }> = [];
    for (const { envId, seconds } of await this.store.signingKeys.rotationSchedules()) {
      if (!(await this.isDue(envId, seconds * 1000, now))) continue;
      const next = await this.scheduleNext(envId, seconds * 1000);
      if (next) started.push({ envId, kid: next.kid });
    }
    return started;
  }

  /** A cheap check before generating a key: no next key yet, and the active key is old enough. */
  private async isDue(envId: string, intervalMs: number, now: number): Promise<boolean> {
    const keys = await this.store.signingKeys.listPublished(envId, now);
    if (keys.some((k) => k.activateAt > now && (k.retiredAt === null || k.retiredAt > now))) return false;
    const active = signingKeyAt(keys, now);
    return active !== undefined && active.activateAt <= now - intervalMs;
  }
}
