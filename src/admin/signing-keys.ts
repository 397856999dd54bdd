import type { Clock } from '../domain/clock.ts';
import type { Environment, SigningKey } from '../domain/model.ts';
import type { Store } from '../domain/storage.ts';
import type { KeyRotation } from '../oauth/key-rotation.ts';
import { type KeyState, keyStateAt } from '../oauth/signing-keys.ts';
import { AdminError } from './admin-error.ts';
import type { AdminAudit } from './audit-trail.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

export interface KeyView {
  kid: string;
  alg: string;
  /**
   * At the time of listing, from the key's timestamps: next (published, not signing yet), active,
   * retired, removed (no longer published), revoked (withdrawn by `keys revoke`).
   */
  status: KeyState;
  published: boolean;
  created_at: string;
  /** When the key starts (or started) signing. */
  activate_at: string;
  retired_at: string | null;
  publish_until: string | null;
  /** When the key was revoked (`keys revoke`); null: never. */
  revoked_at: string | null;
}

/** A key as `keys list` shows it at `now`. */
export function keyView(k: SigningKey, now: number): KeyView {
  return {
    kid: k.kid,
    alg: k.alg,
    status: keyStateAt(k, now),
    published: k.revokedAt == null && (k.publishUntil === null || k.publishUntil > now),
    created_at: iso(k.createdAt),
    activate_at: iso(k.activateAt),
    retired_at: k.retiredAt === null ? null : iso(k.retiredAt),
    publish_until: k.publishUntil === null ? null : iso(k.publishUntil),
    revoked_at: k.revokedAt == null ? null : iso(k.revokedAt),
  };
}

/** What `keys revoke` answers. */
export interface KeyRevocationView {
  environment: string;
  kid: string;
  revoked_at: string;
  /** The fresh key that signs in its place when the revoked key was the active one; null otherwise. */
  replaced_by: string | null;
  /** The environment's keys after the revocation, as `keys list` shows them. */
  keys: KeyView[];
}

/** What a revocation works with: the environment's key rotation over a store, and the admin audit trail. */
export interface KeyRevocationDeps {
  readonly store: Pick<Store, 'signingKeys' | 'transaction'>;
  /** The key rotation writing through `store` (the revocation's transaction). */
  readonly rotation: (store: Pick<Store, 'signingKeys'>) => Pick<KeyRotation, 'revoke' | 'replacementFor'>;
  readonly audit: AdminAudit;
  readonly clock: Clock;
}

/** What a revocation did: when, and the key that signs instead (null: the revoked one was not signing). */
interface Revoked {
  revokedAt: number;
  replacedBy: string | null;
}

/**
 * Revokes signing key `kid` of `env` (it leaked): it leaves the JWKS at once, every token it
 * signed is refused by introspection, and if it was signing, a fresh key signs instead, unpublished
 * until then (for a compromise, signing with the leaked key must stop now). An unknown kid is
 * `not_found`; a key already revoked is a `conflict` that changes nothing. The revocation and its
 * `signing_key.revoked` event are one transaction; refusals are recorded too.
 */
export async function revokeSigningKey(deps: KeyRevocationDeps, env: Environment, kid: string): Promise<KeyRevocationView> {
  // Generated before the transaction (an RSA key takes a while), of the revoked key's lineage.
  const replacementKey = await deps.rotation(deps.store).replacementFor(env.id, kid);
  const revoked = await deps.audit.change(
    deps.store,
    { type: 'signing_key.revoked', env, subject: { kind: 'signing_key', id: kid }, details: (result: Revoked) => ({ replaced_by: result.replacedBy }) },
    async (tx): Promise<Revoked> => {
      const { revocation, replacement } = await deps.rotation(tx).revoke(env.id, kid, replacementKey);
      if (revocation.outcome === 'not_found') throw new AdminError('not_found', `no signing key ${kid} in environment ${env.name}`);
      if (revocation.outcome === 'already_revoked') {
        throw new AdminError(
          'conflict',
          `signing key ${kid} of environment ${env.name} was already revoked at ${new Date(revocation.revokedAt).toISOString()}; nothing changed`,
        );
      }
      return { revokedAt: revocation.revokedAt, replacedBy: replacement?.kid ?? null };
    },
  );
  const now = deps.clock.now();
  return {
    environment: env.name,
    kid,
    revoked_at: new Date(revoked.revokedAt).toISOString(),
    replaced_by: revoked.replacedBy,
    keys: (await deps.store.signingKeys.list(env.id)).map((k) => keyView(k, now)),
  };
}
