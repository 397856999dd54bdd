import type { Client, ClientKey, ClientSecret, Environment, OpaqueAccessToken, RevokedJwt, SigningKey } from '../oauth/model.ts';

/**
 * Everything Gatehouse persists, behind narrow operations. Every method is scoped by environment
 * where the record belongs to one, so a record of one environment is unknown in another.
 * Implemented once over Kysely for SQLite and PostgreSQL; `test/store/conformance.ts` is its spec.
 */
export interface Store {
  readonly dialect: 'sqlite' | 'postgres';
  readonly environments: EnvironmentStore;
  readonly clients: ClientStore;
  readonly signingKeys: SigningKeyStore;
  readonly accessTokens: AccessTokenStore;
  readonly revokedJwts: RevokedJwtStore;
  readonly clientKeys: ClientKeyStore;
  readonly usedAssertions: UsedAssertionStore;
  /** Applies pending migrations; safe to call on every start and from several nodes. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

export interface EnvironmentStore {
  /** Creates an environment together with its first signing key. Throws `ConflictError` if the name exists. */
  create(environment: Environment, firstKey: SigningKey): Promise<void>;
  findByName(name: string): Promise<Environment | undefined>;
  list(): Promise<Environment[]>;
}

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
}

export interface SigningKeyStore {
  findActive(envId: string): Promise<SigningKey | undefined>;
  /** The active key and every retired key still inside its publication window at `now`. */
  listPublished(envId: string, now: number): Promise<SigningKey[]>;
  /** Every key of the environment, newest first. */
  list(envId: string): Promise<SigningKey[]>;
  /** In one transaction: the active key is retired (published until `publishUntil`) and `next` becomes active. */
  rotate(envId: string, next: SigningKey, now: number, publishUntil: number): Promise<void>;
}

export interface AccessTokenStore {
  insert(token: OpaqueAccessToken): Promise<void>;
  findByHash(envId: string, tokenHash: string): Promise<OpaqueAccessToken | undefined>;
  /** Marks the token revoked if it belongs to `clientId`; true if this call changed it. */
  revoke(envId: string, tokenHash: string, clientId: string, now: number): Promise<boolean>;
  /** Deletes tokens that expired before `before`; returns how many. */
  deleteExpired(before: number): Promise<number>;
}

export interface RevokedJwtStore {
  /** Records a revoked JWT access token; revoking twice is not an error. */
  insert(entry: RevokedJwt): Promise<void>;
  isRevoked(envId: string, jti: string): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}

export interface ClientKeyStore {
  insert(key: ClientKey): Promise<void>;
  /** The key with this kid in the environment, revoked or not. */
  find(envId: string, kid: string): Promise<ClientKey | undefined>;
  list(envId: string, clientId: string): Promise<ClientKey[]>;
  /** Marks the key revoked; false if it does not exist, belongs to another client or was revoked already. */
  revoke(envId: string, clientId: string, kid: string, now: number): Promise<boolean>;
}

export interface UsedAssertionStore {
  /**
   * Records that `clientId` used assertion `jti`, until `expiresAt`. One atomic insert: of any
   * number of concurrent calls with the same jti, exactly one returns true.
   */
  consume(envId: string, clientId: string, jti: string, expiresAt: number, now: number): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}

/** A create that collides with an existing unique name or id. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}
