import type { Api, Client, ClientKey, ClientSecret } from '../model.ts';

export interface ClientStore {
  /** Creates a client and, for confidential clients, its first secret. Throws `ConflictError` on a duplicate id. */
  create(client: Client, secret: ClientSecret | undefined): Promise<void>;
  find(envId: string, clientId: string): Promise<Client | undefined>;
  list(envId: string): Promise<Client[]>;
  /** Secrets that still authenticate at `now`. */
  activeSecrets(envId: string, clientId: string, now: number): Promise<ClientSecret[]>;
  /**
   * In one transaction: every current secret gets `overlapUntil` as its expiry (an earlier expiry
   * is kept), and `secret` is added. Returns false if the client does not exist.
   */
  rotateSecret(envId: string, clientId: string, secret: ClientSecret, overlapUntil: number): Promise<boolean>;
  /** Returns false if the client does not exist. */
  setEnabled(envId: string, clientId: string, enabled: boolean, now: number): Promise<boolean>;
  /** Sets (or, with null, removes) the client's own quota; false if the client does not exist. */
  setQuota(envId: string, clientId: string, quota: number | null, now: number): Promise<boolean>;
  /**
   * Replaces every field but the ids, kind and `createdAt`; false if the client does not exist
   * or, with `expectedUpdatedAt`, was changed since (its `updatedAt` differs): one conditional
   * update, so of two writers who read the same version only one succeeds.
   */
  update(client: Client, expectedUpdatedAt?: number): Promise<boolean>;
  /** Ends one secret at `now` (it stops authenticating); false if the client has no such unexpired secret. */
  expireSecret(envId: string, clientId: string, secretId: string, now: number): Promise<boolean>;
  /**
   * In one transaction: deletes the client with its secrets, keys and consents, revokes its
   * opaque access tokens and token families, and removes it from every API's clients. False if
   * there is no such client.
   */
  delete(envId: string, clientId: string, now: number): Promise<boolean>;
  /**
   * Import: replaces the hash of secret `secretId` by `hash` if it is still `legacyHash` (an
   * imported provider's hash, re-hashed on first use); false if another node did it first.
   */
  replaceSecretHash(envId: string, clientId: string, secretId: string, legacyHash: string, hash: string): Promise<boolean>;
}
export interface ClientKeyStore {
  insert(key: ClientKey): Promise<void>;
  /** The key with this kid in the environment, revoked or not. */
  find(envId: string, kid: string): Promise<ClientKey | undefined>;
  list(envId: string, clientId: string): Promise<ClientKey[]>;
  /** Marks the key revoked; false if it does not exist, belongs to another client or was revoked already. */
  revoke(envId: string, clientId: string, kid: string, now: number): Promise<boolean>;
}

/** What `UsedAssertionStore.consumeWithKey` did. */
export type AssertionUse = 'consumed' | 'replayed' | 'key_revoked' | 'owner_disabled';

export interface UsedAssertionStore {
  /**
   * Records that `clientId` used assertion `jti`, until `expiresAt`. One atomic insert: of any
   * number of concurrent calls with the same jti, exactly one returns true.
   */
  consume(envId: string, clientId: string, jti: string, expiresAt: number, now: number): Promise<boolean>;
  /**
   * `consume`, only while `kid` is a key of `clientId` that is not revoked and `clientId` is
   * enabled, in the same atomic statement: `key_revoked` when the key is not (revoked, or not
   * that client's), `owner_disabled` when the client is disabled, `replayed` when the jti is
   * already recorded. A refusal records nothing.
   */
  consumeWithKey(envId: string, clientId: string, kid: string, jti: string, expiresAt: number, now: number): Promise<AssertionUse>;
  deleteExpired(before: number): Promise<number>;
}

/** Client secrets (`client_secret`) or user passwords (`password`). */
export type LegacyCredentialKind = 'client_secret' | 'password';

/**
 * The imported credentials of an environment still under an old provider's hash, read in pages
 * (by the row's id) so that a large import is never loaded at once.
 */
export interface LegacyCredentialStore {
  /**
   * Up to `limit` hashes of `kind` in `envId` whose row id is after `after` (all when undefined),
   * in id order: unexpired client secrets, or passwords of enabled and disabled users alike, that
   * start with `$` but are not Gatehouse's own `$scrypt$`.
   */
  page(envId: string, kind: LegacyCredentialKind, now: number, after: string | undefined, limit: number): Promise<{ id: string; hash: string }[]>;
}
/** The APIs of each environment (RFC 8707 resources). */
export interface ApiStore {
  /**
   * Throws `ConflictError` if the identifier exists in the environment. A default API takes the
   * place of the environment's previous default in the same transaction.
   */
  create(api: Api): Promise<void>;
  find(envId: string, identifier: string): Promise<Api | undefined>;
  /** The environment's default API, if it has one. */
  findDefault(envId: string): Promise<Api | undefined>;
  /** In order of identifier. */
  list(envId: string): Promise<Api[]>;
  /**
   * Replaces every field but the identifier and `createdAt` (default handled as in `create`); false
   * if there is no such API or, with `expectedUpdatedAt`, it was changed since (one conditional update).
   */
  update(api: Api, expectedUpdatedAt?: number): Promise<boolean>;
  /** False if there is no such API. */
  delete(envId: string, identifier: string): Promise<boolean>;
}
