import type { ID_TOKEN_KEY_ALGORITHM } from '../key-lineage.ts';
import type { IdTokenAlgorithm, SigningKey } from '../model.ts';

/** What `SigningKeyStore.revoke` did. */
export type KeyRevocation =
  | { outcome: 'not_found' }
  | { outcome: 'already_revoked'; revokedAt: number }
  /** `replaced`: it was the active key, and the replacement signs now. */
  | { outcome: 'revoked'; replaced: boolean; revokedAt: number };

/**
 * An environment's signing keys form lineages (`KeyLineage`): the access-token keys (ES256 or
 * EdDSA) and the RS256 keys that sign only ID Tokens. Rotation, revocation and the one-active and
 * one-next rules act within the lineage of the key concerned (its `alg`); the other is untouched.
 */
export interface SigningKeyStore {
  /**
   * The key last recorded as active (see `settle`): without `alg`, the access-token key; with
   * `alg`, that algorithm's. Signing itself picks from `listPublished`.
   */
  findActive(envId: string, alg?: IdTokenAlgorithm): Promise<SigningKey | undefined>;
  /**
   * Keys in the JWKS at `now`: next keys, the active key, and retired keys still inside their
   * publication window (every key whose `publishUntil` is unset or after `now`).
   */
  listPublished(envId: string, now: number): Promise<SigningKey[]>;
  /** Every key of the environment, newest (by creation, then activation) first; `listPublished` too. */
  list(envId: string): Promise<SigningKey[]>;
  /**
   * Immediate rotation of the lineage of `next.alg`, in one transaction: any pending next key of
   * it is withdrawn (retired at `now`), its active key retires at `next.activateAt` (both
   * published until `publishUntil`) and `next` is inserted: a next key that signs from its
   * activation time on, or, activating at `now`, the active key at once.
   */
  rotate(envId: string, next: SigningKey, now: number, publishUntil: number): Promise<void>;
  /**
   * Revokes key `kid` of the environment, in one transaction: it leaves the published set at once
   * and is marked revoked. If it was the active key, `replacement` (active from its activation
   * time; of the revoked key's lineage, or this throws) signs instead and a pending next key of
   * the lineage is withdrawn (published until `publishUntil`); if it was a next key, the active
   * key of its lineage no longer retires for it.
   */
  revoke(envId: string, kid: string, now: number, replacement: SigningKey, publishUntil: number): Promise<KeyRevocation>;
  /**
   * Scheduled rotation of the lineage of `next.alg`, in one transaction: records due switches
   * (`settle`), then inserts `next` (status `next`, activating at `next.activateAt`) and sets the
   * lineage's active key to retire at that time, published until `publishUntil`. Returns false,
   * changing nothing, if the lineage already has a next key or, with `activeBefore`, if its active
   * key activated at or after it: the database's one-next-key index decides between concurrent
   * callers.
   */
  scheduleNext(envId: string, next: SigningKey, now: number, publishUntil: number, activeBefore?: number): Promise<boolean>;
  /**
   * Records the switches that are due at `now` (active → retired, next → active) with
   * conditional updates, so whichever node or command gets there first makes them, once.
   * Without `envId`, for every environment. Returns how many keys changed status.
   */
  settle(now: number, envId?: string): Promise<number>;
  /**
   * Environments with no active or next key of algorithm `alg`: those created before every
   * environment was given one.
   */
  withoutLineage(alg: typeof ID_TOKEN_KEY_ALGORITHM): Promise<string[]>;
  /**
   * Starts the lineage of `first.alg` in the environment: inserts `first` (an active key) unless
   * the lineage already has an active or next key. Race-safe across nodes: of concurrent callers,
   * the one-active-key index lets one insert, and the others get the key it inserted.
   */
  startLineage(envId: string, first: SigningKey, now: number): Promise<{ key: SigningKey; created: boolean }>;
  /** Sets (or, with null, removes) the environment's scheduled rotation interval, in seconds. */
  setRotationInterval(envId: string, seconds: number | null): Promise<void>;
  rotationInterval(envId: string): Promise<number | null>;
  /** Environments with a scheduled rotation interval, in seconds. */
  rotationSchedules(): Promise<{ envId: string; seconds: number }[]>;
}
