import type { IdTokenAlgorithm, SigningKey } from '../domain/model.ts';
import type { CreationKey, PageQuery } from '../domain/storage.ts';
import { activationLeadMs, MIN_ROTATION_INTERVAL } from '../oauth/key-rotation.ts';
import { ID_TOKEN_KEY_ALGORITHM, isKeyAlgorithm, KEY_ALGORITHMS, type KeyLineage, lineageOf } from '../oauth/signing-keys.ts';
import { AdminContext } from './admin-context.ts';
import { AdminError } from './admin-error.ts';
import type { KeyRotationView } from './admin-views.ts';
import type { AuditedChange } from './audit-trail.ts';
import { type Listed, listed } from './paging.ts';
import { type KeyRevocationView, type KeyView, keyView, revokeSigningKey } from './signing-keys.ts';

/** A scheduled rotation refused because a next key is pending: rolled back, then recorded as refused. */
class RotationPending extends Error {}

/** An environment's signing keys: listing, rotation (now or scheduled), revocation and the rotation schedule. */
export class KeyAdmin extends AdminContext {
  /** One page of the environment's signing keys, oldest first, with their state now. */
  async pageKeys(envName: string, page: PageQuery<CreationKey>): Promise<Listed<KeyView, CreationKey>> {
    const env = await this.environment(envName);
    const now = this.clock.now();
    return listed(
      await this.store.adminLists.signingKeys(env.id, page),
      (k) => keyView(k, now),
      (k) => ({ createdAt: k.createdAt, id: k.kid }),
    );
  }

  async listKeys(envName: string): Promise<KeyView[]> {
    const env = await this.environment(envName);
    const now = this.clock.now();
    return (await this.store.signingKeys.list(env.id)).map((k) => keyView(k, now));
  }

  /**
   * Starts a key rotation of one lineage: by default the access-token key's, with `alg` RS256 the
   * ID-Token key's (ES256 or EdDSA name the access-token lineage, and must be the configured
   * GATEHOUSE_SIGNING_ALG, the algorithm its new key gets). By default the new key is next:
   * published at once, signing only after the activation lead (GATEHOUSE_CACHE_TTL +
   * GATEHOUSE_JWKS_MAX_AGE + 1 s), when every cached JWKS lists it; refused while another next
   * key of the lineage is pending. With `now`, the fast path: the new key signs after the
   * publication lead (GATEHOUSE_CACHE_TTL + 1 s), once every node publishes it, so only resource
   * servers holding an older JWKS refetch it on the new kid. Either way the old key stays
   * published until every token it signed has expired; `revokeKey` withdraws a leaked one.
   */
  async rotateKeys(envName: string, options: { now?: boolean; alg?: IdTokenAlgorithm } = {}): Promise<KeyView[]> {
    const lineage = this.rotatedLineage(options.alg);
    const env = await this.environment(envName);
    const trigger = options.now ? 'immediate' : 'manual';
    const alg = this.keyRotation().algorithmOf(lineage);
    // Keys are listed newest first: the subject is the one this rotation created.
    const rotated: AuditedChange<SigningKey[]> = {
      type: 'signing_key.rotated',
      env,
      subject: (keys: SigningKey[]) => ({ kind: 'signing_key', id: keys[0]?.kid ?? '' }),
      details: () => ({ trigger, alg }),
    };
    // Generated before the transaction: an RSA key takes a while, and SQLite would be locked meanwhile.
    const fresh = await this.keyRotation().generate(env.id, lineage);
    try {
      await this.audit.change(this.store, rotated, async (tx) => {
        if (options.now) await this.keyRotation(tx).rotateNow(env.id, lineage, fresh);
        else if (!(await this.keyRotation(tx).scheduleNext(env.id, undefined, lineage, fresh))) throw new RotationPending();
        return tx.signingKeys.list(env.id);
      });
    } catch (error) {
      if (!(error instanceof RotationPending)) throw error;
      await this.audit.refused('signing_key.rotated', env, { kind: 'environment', id: env.id }, 'conflict', { trigger, alg });
      const which = lineage === ID_TOKEN_KEY_ALGORITHM ? ` ${ID_TOKEN_KEY_ALGORITHM}` : '';
      throw new AdminError('conflict', `environment ${envName} already has a next${which} key; wait for its activation or use --now`);
    }
    this.caches?.keys.invalidate(env.id);
    return this.listKeys(envName);
  }

  /** The lineage a rotation asked for `alg` acts on; an algorithm new access-token keys would not get is refused. */
  private rotatedLineage(alg: IdTokenAlgorithm | undefined): KeyLineage {
    if (alg === undefined) return 'access';
    if (!isKeyAlgorithm(alg)) throw new AdminError('invalid_argument', `alg must be one of ${KEY_ALGORITHMS.join(', ')}`);
    const lineage = lineageOf(alg);
    if (lineage === 'access' && alg !== this.config.signingAlgorithm) {
      throw new AdminError(
        'invalid_argument',
        `new access-token keys are ${this.config.signingAlgorithm} (GATEHOUSE_SIGNING_ALG): give alg ${this.config.signingAlgorithm} or ${ID_TOKEN_KEY_ALGORITHM}`,
      );
    }
    return lineage;
  }

  /** Revokes a leaked signing key (see `revokeSigningKey`); this node stops publishing and signing with it at once. */
  async revokeKey(envName: string, kid: string): Promise<KeyRevocationView> {
    const env = await this.environment(envName);
    try {
      return await revokeSigningKey({ store: this.store, rotation: (store) => this.keyRotation(store), audit: this.audit, clock: this.clock }, env, kid);
    } finally {
      this.caches?.keys.invalidate(env.id);
    }
  }

  /** Sets (or, with null, removes) the interval of scheduled rotations, carried out by whichever running node gets there first. */
  async setKeyRotation(envName: string, seconds: number | null): Promise<KeyRotationView> {
    const env = await this.environment(envName);
    const leadSeconds = activationLeadMs(this.config) / 1000;
    if (seconds !== null && (!Number.isSafeInteger(seconds) || seconds < MIN_ROTATION_INTERVAL || seconds <= leadSeconds)) {
      throw new AdminError(
        'invalid_argument',
        `the rotation interval must be at least ${MIN_ROTATION_INTERVAL} s and longer than the activation lead (${leadSeconds} s)`,
      );
    }
    const changed = {
      type: 'environment.rotation_schedule_changed',
      env,
      subject: { kind: 'environment', id: env.id },
      details: () => ({ key_rotation_interval: seconds }),
    } as const;
    await this.audit.change(this.store, changed, (tx) => tx.signingKeys.setRotationInterval(env.id, seconds));
    return { environment: env.name, key_rotation_interval: await this.store.signingKeys.rotationInterval(env.id), activation_lead: leadSeconds };
  }
}
