import type { AuditEvent } from './audit.ts';
import type { ID_TOKEN_KEY_ALGORITHM } from './key-lineage.ts';
import type {
  Api,
  AuthorizationCode,
  BrowserSession,
  Client,
  ClientKey,
  ClientMetadataDocumentSettings,
  ClientSecret,
  CodeOidc,
  Consent,
  DeviceAuthorization,
  Environment,
  FamilyAccessToken,
  IdTokenAlgorithm,
  OpaqueAccessToken,
  PendingAuthorization,
  PushedAuthorizationRequest,
  RefreshToken,
  RefreshTokenPolicy,
  RevokedJwt,
  SecurityProfile,
  SigningKey,
  SubjectType,
  TokenFamily,
  User,
  UserProfile,
} from './model.ts';
import type { PageSettingsStore } from './page-settings.ts';
import type { RegistrationStore } from './registration.ts';

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
  readonly users: UserStore;
  readonly browserSessions: BrowserSessionStore;
  readonly authorizationRequests: AuthorizationRequestStore;
  /** RFC 9126: pushed authorization requests waiting for their request_uri. */
  readonly pushedRequests: PushedAuthorizationRequestStore;
  /** RFC 7591 / 7592: registrations, registration policies, initial access tokens. */
  readonly registrations: RegistrationStore;
  readonly pageSettings: PageSettingsStore;
  readonly authorizationCodes: AuthorizationCodeStore;
  readonly deviceAuthorizations: DeviceAuthorizationStore;
  readonly tokenFamilies: TokenFamilyStore;
  readonly consents: ConsentStore;
  readonly loginAttempts: LoginAttemptStore;
  readonly rateCounters: RateCounterStore;
  readonly apis: ApiStore;
  readonly audit: AuditStore;
  readonly usage: UsageStore;
  readonly idempotencyKeys: IdempotencyKeyStore;
  /** The admin API's lists, a page at a time. */
  readonly adminLists: AdminListStore;
  /** Records taken over from another provider by `gatehouse import`. */
  readonly imports: ImportStore;
  /** Imported credentials still under their old provider's hash. */
  readonly legacyCredentials: LegacyCredentialStore;
  /** Back-Channel Logout: the logout tokens still to deliver. */
  readonly backchannelLogouts: BackchannelLogoutStore;
  /** Updated by every operation: whether the database answered the last time it was asked. */
  readonly health: StorageHealth;
  /**
   * Checks that the database answers and, on SQLite, that a write could start now (no other
   * process holds the write lock). Throws `StorageUnavailableError` if not; updates `health`.
   */
  ping(): Promise<void>;
  /**
   * Runs `work` in one database transaction: what it writes through `tx` commits together or, when
   * it throws, not at all (the error is rethrown). Inside `work`, use only `tx`: on SQLite a
   * statement outside waits for the transaction to end. An admin change and its audit event go
   * through here.
   */
  transaction<T>(work: (tx: TransactionStore) => Promise<T>): Promise<T>;
  /** Applies pending migrations; safe to call on every start and from several nodes. */
  migrate(): Promise<void>;
  close(): Promise<void>;
}

/** The stores an admin change writes through inside `Store.transaction`, its audit event included. */
export type TransactionStore = Pick<
  Store,
  | 'dialect'
  | 'environments'
  | 'clients'
  | 'clientKeys'
  | 'registrations'
  | 'signingKeys'
  | 'users'
  | 'browserSessions'
  | 'tokenFamilies'
  | 'apis'
  | 'audit'
  | 'usage'
  | 'backchannelLogouts'
  | 'pageSettings'
>;

export interface EnvironmentStore {
  /**
   * Creates an environment together with its first signing keys, one per lineage (the access-token
   * key, then the RS256 key), in one transaction. Throws `ConflictError` if the name exists.
   */
  create(environment: Environment, firstKey: SigningKey, ...otherKeys: SigningKey[]): Promise<void>;
  findByName(name: string): Promise<Environment | undefined>;
  list(): Promise<Environment[]>;
  /**
   * Sets (or, with null, removes) the default client quota; false if there is no such environment
   * or, with `expectedQuota`, its quota is no longer that one (one conditional update: of two
   * writers who read the same quota, only one succeeds).
   */
  setDefaultQuota(name: string, quota: number | null, expectedQuota?: number | null): Promise<boolean>;
  /**
   * Sets the OpenID Connect settings (subject type, refresh-token policy); false if there is no
   * such environment or, with `expected`, its settings are no longer those (one conditional update).
   */
  setOidcSettings(name: string, settings: EnvironmentOidcSettings, expected?: EnvironmentOidcSettings): Promise<boolean>;
  /** RFC 9449 §8: whether DPoP proofs must carry a server nonce; false if there is no such environment. */
  setDpopNonceRequired(name: string, required: boolean): Promise<boolean>;
  /**
   * Sets whether authorization requests must be pushed (RFC 9126 §5) and the security profile;
   * false if there is no such environment or, with `expected`, its settings are no longer those.
   */
  setPushedRequestSettings(name: string, settings: EnvironmentPushedRequestSettings, expected?: EnvironmentPushedRequestSettings): Promise<boolean>;
  /** Client ID Metadata Documents: the environment's settings, or null to remove them; false if there is no such environment. */
  setClientMetadataDocuments(name: string, settings: ClientMetadataDocumentSettings | null): Promise<boolean>;
}

/** An environment's RFC 9126 and security-profile settings, defaults spelled out. */
export interface EnvironmentPushedRequestSettings {
  requirePushedAuthorizationRequests: boolean;
  /** Null: no profile. */
  securityProfile: SecurityProfile | null;
}

/** An environment's OpenID Connect settings, defaults spelled out. */
export interface EnvironmentOidcSettings {
  subjectType: SubjectType;
  refreshTokenPolicy: RefreshTokenPolicy;
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
  /** Whether key `kid` of the environment was revoked (read from storage, never cached). */
  isRevoked(envId: string, kid: string): Promise<boolean>;
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

export interface UserStore {
  /** Throws `ConflictError` if the username is taken in the environment. */
  create(user: User): Promise<void>;
  findByUsername(envId: string, username: string): Promise<User | undefined>;
  find(envId: string, userId: string): Promise<User | undefined>;
  list(envId: string): Promise<User[]>;
  /**
   * False if there is no such user or, with `expectedUpdatedAt`, it was changed since (its
   * `updatedAt` differs): one conditional update, so of two writers of one version only one succeeds.
   */
  setEnabled(envId: string, username: string, enabled: boolean, now: number, expectedUpdatedAt?: number): Promise<boolean>;
  /** False if there is no such user. */
  setPasswordHash(envId: string, username: string, passwordHash: string, now: number): Promise<boolean>;
  /**
   * Replaces every profile attribute (undefined: clears them all); false if there is no such user
   * or, with `expectedUpdatedAt`, it was changed since (one conditional update, as `setEnabled`).
   */
  setProfile(envId: string, username: string, profile: UserProfile | undefined, now: number, expectedUpdatedAt?: number): Promise<boolean>;
}

export interface BrowserSessionStore {
  create(session: BrowserSession): Promise<void>;
  /** The session if it exists in the environment and has not expired at `now`. */
  find(envId: string, idHash: string, now: number): Promise<BrowserSession | undefined>;
  /**
   * In one transaction: `next` replaces the session `previousIdHash` (when given), and the
   * pending authorization requests of the old session move to the new one. Used at login, where
   * the session id must change (session fixation).
   */
  replace(previousIdHash: string | undefined, next: BrowserSession): Promise<void>;
  /** Signs a user out everywhere: deletes every session of `userId`; returns how many. */
  deleteForUser(envId: string, userId: string): Promise<number>;
  /**
   * Ends one session: deletes it and returns it as it was (expired or not), or undefined if it
   * was gone. One statement: of concurrent calls, exactly one gets the session.
   */
  end(envId: string, idHash: string): Promise<BrowserSession | undefined>;
  /** `deleteForUser`, returning the sessions it deleted (so their `sid`s can be told to clients). */
  endForUser(envId: string, userId: string): Promise<BrowserSession[]>;
  deleteExpired(before: number): Promise<number>;
}

export interface PushedAuthorizationRequestStore {
  insert(request: PushedAuthorizationRequest): Promise<void>;
  /**
   * Takes the request pushed by `clientId` whose request_uri hashes to `idHash`, if it has not
   * expired at `now`: one conditional delete, so of any number of concurrent calls exactly one
   * gets it (RFC 9126 §4: a request_uri is used once).
   */
  take(envId: string, idHash: string, clientId: string, now: number): Promise<PushedAuthorizationRequest | undefined>;
  deleteExpired(before: number): Promise<number>;
}

export interface AuthorizationRequestStore {
  insert(request: PendingAuthorization): Promise<void>;
  /** The request if it exists in the environment, belongs to the session and has not expired. */
  find(envId: string, idHash: string, sessionIdHash: string, now: number): Promise<PendingAuthorization | undefined>;
  /** Removes the request; true for exactly one of any number of concurrent calls. */
  take(envId: string, idHash: string, sessionIdHash: string): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}

/** What one successful code redemption or refresh creates, written in one transaction. */
export interface FamilyIssue {
  refreshToken: RefreshToken | undefined;
  accessToken: FamilyAccessToken;
}

/**
 * What a refresh rotation keeps for an exact retry of its request (RFC 9700 §4.14.2 grace period):
 * the response, sealed under a key that only the holder of the presented refresh token can derive.
 */
export interface RotationRetry {
  /** Hash of the client and the parameters of the request that rotated; a retry must carry the same. */
  requestHash: string;
  sealedResponse: string;
  /** The retry is answered before this time only (epoch ms). */
  expiresAt: number;
}

/** What a code redemption reads before it mints: the code and whether its user may still get tokens. */
export interface CodeForRedemption {
  code: AuthorizationCode;
  /** The user exists and is enabled. */
  userActive: boolean;
}

/** What a refresh reads before it mints: the presented token, its family and whether its user may still get tokens. */
export interface RefreshForRotation {
  token: RefreshToken;
  /** Undefined only if the family is gone (swept). */
  family: TokenFamily | undefined;
  /** The user exists and is enabled. */
  userActive: boolean;
}

export interface AuthorizationCodeStore {
  insert(code: AuthorizationCode): Promise<void>;
  /** The code, consumed or not, expired or not; undefined if unknown in the environment. */
  find(envId: string, codeHash: string): Promise<AuthorizationCode | undefined>;
  /** `find` and its user's state in one statement: a redemption's only read before `redeem`. */
  findForRedemption(envId: string, codeHash: string): Promise<CodeForRedemption | undefined>;
  /**
   * In one transaction: marks the code consumed with one conditional update and, only if this
   * call consumed it, creates `family` with the tokens of `issue`. False if the code was already
   * consumed (by this or any other node), in which case nothing is written. On PostgreSQL one
   * statement (one round trip, no BEGIN/COMMIT).
   */
  redeem(envId: string, codeHash: string, now: number, family: TokenFamily, issue: FamilyIssue): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}

/** What a device-code redemption reads before it mints: the authorization and whether its user may still get tokens. */
export interface DeviceAuthorizationForRedemption {
  authorization: DeviceAuthorization;
  /** The user exists and is enabled (false while nobody approved it). */
  userActive: boolean;
}

/** RFC 8628 device authorizations. */
export interface DeviceAuthorizationStore {
  insert(authorization: DeviceAuthorization): Promise<void>;
  /** The authorization with this device code in the environment and its user's state, in one statement. */
  findForRedemption(envId: string, deviceCodeHash: string): Promise<DeviceAuthorizationForRedemption | undefined>;
  /** The pending, unexpired authorization with this user code, if any. */
  findPendingByUserCode(envId: string, userCodeHash: string, now: number): Promise<DeviceAuthorization | undefined>;
  /** The pending, unexpired authorization with this device code, if any. */
  findPending(envId: string, deviceCodeHash: string, now: number): Promise<DeviceAuthorization | undefined>;
  /**
   * Records one poll (RFC 8628 §3.5): sets `last_polled_at` to `now` and the interval to
   * `interval`, only while the authorization is still pending and was last polled at
   * `previousPoll`; false when another poll or a decision came first.
   */
  recordPoll(envId: string, deviceCodeHash: string, previousPoll: number | null, now: number, interval: number): Promise<boolean>;
  /**
   * The user's decision, by one conditional update: only a pending, unexpired authorization is
   * decided; false otherwise (already decided, expired or gone).
   */
  decide(
    envId: string,
    deviceCodeHash: string,
    decision: { status: 'approved' | 'denied'; userId: string; now: number; oidc?: CodeOidc | undefined },
  ): Promise<boolean>;
  /**
   * In one transaction: marks the approved authorization consumed with one conditional update
   * and, only if this call consumed it, creates `family` with the tokens of `issue`. False if it
   * was already consumed (by this or any other node), in which case nothing is written.
   */
  redeem(envId: string, deviceCodeHash: string, now: number, family: TokenFamily, issue: FamilyIssue): Promise<boolean>;
  deleteExpired(before: number): Promise<number>;
}

export interface TokenFamilyStore {
  find(envId: string, familyId: string): Promise<TokenFamily | undefined>;
  findRefreshToken(envId: string, tokenHash: string): Promise<RefreshToken | undefined>;
  /** The token, its family and its user's state in one statement: a refresh's only read before `rotate`. */
  findForRotation(envId: string, tokenHash: string): Promise<RefreshForRotation | undefined>;
  /**
   * In one transaction: locks the family (which must not be revoked), marks `presentedHash`
   * rotated with one conditional update (only if it is neither rotated nor revoked) and records
   * `issue` in the family. False, with no token written, if the family or the token was not current.
   * The family is locked first, in the same order as `revoke`, so the two cannot deadlock.
   * With `retry`, the same transaction replaces the family's earlier retry record by this one
   * (so only the latest rotation of a family can be retried). On PostgreSQL one statement.
   */
  rotate(envId: string, familyId: string, presentedHash: string, now: number, issue: FamilyIssue, retry?: RotationRetry): Promise<boolean>;
  /**
   * The sealed response of the rotation of `presentedHash`, read in one statement and only if, at
   * `now`, its retry record has not expired, `requestHash` is the rotating request's, the family
   * is not revoked and the refresh token that rotation issued is still current (neither rotated
   * nor revoked). A record is visible only once its rotation has committed.
   */
  findRetry(envId: string, presentedHash: string, requestHash: string, now: number): Promise<string | undefined>;
  /**
   * In one transaction: the family, its refresh tokens and its opaque access tokens are marked
   * revoked, its JWT access tokens are remembered as revoked until they expire, and its retry
   * record is deleted.
   */
  revoke(envId: string, familyId: string, now: number): Promise<void>;
  /** Revokes (as `revoke` does) every family of `userId` that is not revoked yet; returns how many. */
  revokeForUser(envId: string, userId: string, now: number): Promise<number>;
  /** Every family begun in the browser session `sid` (revoked ones too), oldest first. */
  listBySid(envId: string, sid: string): Promise<TokenFamily[]>;
  /** Deletes families (and their tokens) whose absolute lifetime ended before `before`, and retry records expired by then. */
  deleteExpired(before: number): Promise<number>;
}

export interface ConsentStore {
  find(envId: string, userId: string, clientId: string): Promise<Consent | undefined>;
  /**
   * Adds `scope` and the APIs `resources` (RFC 8707; absent: none) to what the user granted the
   * client (the union of each is kept).
   */
  grant(envId: string, userId: string, clientId: string, scope: string[], now: number, resources?: readonly string[]): Promise<void>;
}

export interface LoginAttemptStore {
  /**
   * Counts one attempt for `keyHash` in the fixed window of `windowMs` containing `now` and
   * returns the count including this one. One atomic statement: parallel attempts all count.
   */
  hit(keyHash: string, now: number, windowMs: number): Promise<{ count: number; windowStart: number }>;
  /** Forgets the attempts of `keyHash` (after a successful login). */
  clear(keyHash: string): Promise<void>;
  deleteExpired(before: number): Promise<number>;
}

/** One fixed-window counter increment: `delta` more for `keyHash` in the window starting at `windowStart`. */
export interface RateCounterIncrement {
  keyHash: string;
  windowStart: number;
  delta: number;
}

export interface RateCounterStore {
  /**
   * Adds each `delta` to its key's count in the window starting at `windowStart` (a key's older
   * window is replaced; a delta for a window older than the stored one is ignored) and returns
   * each key's count in its window after the addition, keyed by `keyHash`. One statement: the
   * counts of every node add up. A `delta` of 0 only reads. Keys must be distinct.
   */
  add(increments: readonly RateCounterIncrement[]): Promise<Map<string, number>>;
  /** Deletes windows that started before `before`; returns how many. */
  deleteExpired(before: number): Promise<number>;
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

/** Which audit events `AuditStore.list` returns, newest first. */
export interface AuditFilter {
  envName?: string | undefined;
  type?: string | undefined;
  /** Events at or after this time (epoch ms). */
  since?: number | undefined;
  limit: number;
}

/** One webhook delivery claimed by a node: the event and how many attempts (this one included) were made. */
export interface AuditDelivery {
  event: AuditEvent;
  attempts: number;
}

/** Audit events and their webhook outbox. */
export interface AuditStore {
  /** In one transaction: the event and, with `outbox`, a delivery due at once. */
  insert(event: AuditEvent, outbox: boolean): Promise<void>;
  list(filter: AuditFilter): Promise<AuditEvent[]>;
  /**
   * Leases up to `limit` deliveries that are due at `now` and not delivered or leased, until
   * `leaseUntil`, and counts an attempt for each. One conditional update per row: of several
   * nodes claiming at once, each delivery goes to one of them until its lease ends.
   */
  claimDeliveries(now: number, leaseUntil: number, limit: number): Promise<AuditDelivery[]>;
  markDelivered(eventId: string, now: number): Promise<void>;
  /** Releases the lease; the next attempt is due at `nextAttemptAt`. `error` is a short reason, never a body. */
  markFailed(eventId: string, nextAttemptAt: number, error: string): Promise<void>;
  /** Deletes events older than `before` with their deliveries, delivered or not; returns how many events. */
  deleteBefore(before: number): Promise<number>;
  /** Deliveries not yet made (for tests and health). */
  pendingDeliveries(): Promise<number>;
}

/**
 * One logout token to deliver to a client (Back-Channel Logout §2.5): what the token is signed
 * from when it is sent, never the signed token itself.
 */
export interface BackchannelLogout {
  /** Unique; also the logout token's `jti`, the same on every attempt so a receiver can drop a duplicate. */
  id: string;
  envId: string;
  clientId: string;
  /** The `sub` this client knows the user by (pairwise for a pairwise client). */
  subject: string;
  /** The ended browser session's `sid`; null when it had none. */
  sid: string | null;
  createdAt: number;
}

/** One logout claimed by a node: the logout and how many attempts (this one included) were made. */
export interface BackchannelLogoutDelivery {
  logout: BackchannelLogout;
  attempts: number;
}

/** The outbox of Back-Channel Logout: logout tokens to deliver, shared by every node through leases. */
export interface BackchannelLogoutStore {
  /** Queues logouts, each due at its `createdAt`. */
  enqueue(logouts: readonly BackchannelLogout[]): Promise<void>;
  /**
   * Leases up to `limit` logouts that are due at `now` and not leased, until `leaseUntil`, and
   * counts an attempt for each. One conditional update: of several nodes claiming at once, each
   * logout goes to one of them until its lease ends.
   */
  claim(now: number, leaseUntil: number, limit: number): Promise<BackchannelLogoutDelivery[]>;
  /** Removes a logout that was delivered or given up. */
  finish(id: string): Promise<void>;
  /**
   * Releases the lease of attempt `attempts`, the next one due at `nextAttemptAt`; `error` is a
   * short reason, never a body. Does nothing if another node has claimed it since (its lease
   * ended): that node's attempt decides.
   */
  retryLater(id: string, attempts: number, nextAttemptAt: number, error: string): Promise<void>;
  /** Logouts not delivered yet (for tests and health). */
  pending(): Promise<number>;
}

/** What can be marked as used: a client, one client secret (by id), one client key (by kid) or a user. */
export type UsageSubject = 'client' | 'client_secret' | 'key' | 'user';

/** One subject last used at `at` (epoch ms), as a node saw it. */
export interface LastUse {
  subject: UsageSubject;
  envId: string;
  /** The client id, secret id, kid or user id. */
  id: string;
  at: number;
}

/** `count` more access tokens issued to a client on a UTC day (`YYYY-MM-DD`). */
export interface TokenCount {
  envId: string;
  clientId: string;
  day: string;
  count: number;
}

/** What one node saw between two flushes. */
export interface UsageBatch {
  lastUses: readonly LastUse[];
  tokenCounts: readonly TokenCount[];
}

/** Last-use times and daily token counts, written in batches by each node. */
export interface UsageStore {
  /**
   * In one transaction: each last-use time becomes the later of the stored one and the batch's
   * (several nodes flush concurrently and in any order; a time never moves backwards), and each
   * count is added to its day's. A subject that no longer exists is skipped.
   */
  record(batch: UsageBatch): Promise<void>;
  /**
   * Last-use times of the environment's subjects of one kind, by id; with `clientId`, only those
   * of that client (not for users); with `ids`, only those (one page of a list).
   */
  lastUsed(subject: UsageSubject, envId: string, clientId?: string, ids?: readonly string[]): Promise<Map<string, number>>;
  /** The client's token counts by day, for days from `fromDay` to `toDay` inclusive (`YYYY-MM-DD`). */
  tokenCounts(envId: string, clientId: string, fromDay: string, toDay: string): Promise<Map<string, number>>;
}

/** A create request of the admin API remembered under its `Idempotency-Key`, so a retry is answered, not repeated. */
export interface IdempotencyRecord {
  /** Keyed hash of the caller and its key: the key itself is never stored. */
  keyHash: string;
  /** Hash of the method, path and body the key was first used with. */
  requestHash: string;
  /** Null while the first request is still running. */
  status: number | null;
  /** The response body as JSON text, without any secret it held; null while running. */
  response: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface IdempotencyKeyStore {
  /** Inserts the record if no unexpired record holds its key; one atomic statement, so of concurrent callers exactly one gets true. */
  reserve(record: IdempotencyRecord, now: number): Promise<boolean>;
  find(keyHash: string, now: number): Promise<IdempotencyRecord | undefined>;
  /** Records the response of a reserved key. */
  complete(keyHash: string, status: number, response: string): Promise<void>;
  /** Forgets a reservation whose request failed, so the key can be used again. */
  release(keyHash: string): Promise<void>;
  deleteExpired(before: number): Promise<number>;
}

/** What an import took from one source record: the Gatehouse record it became and the source's version of it. */
export interface ImportMapping {
  kind: 'client' | 'user' | 'refresh_token' | 'access_token';
  /** The client id, the user's source id, or a token's Gatehouse hash. */
  sourceKey: string;
  targetId: string;
  sourceVersion: string | null;
}

/**
 * A mapping as stored: with the source it came from. Each source's keys live in a namespace of
 * their own, so two sources' users with the same source id are two users.
 */
export interface SourcedImportMapping extends ImportMapping {
  sourceId: string;
}

/** The source of mappings written before imports recorded one (migration 013); an import adopts them. */
export const LEGACY_IMPORT_SOURCE = 'legacy';

/** The id prefix of client secrets an import wrote (the others were made in Gatehouse). */
export const IMPORTED_SECRET_PREFIX = 'imported-';

/**
 * One record's writes; `update` replaces what an earlier import of the same source record wrote.
 * A client's update keeps its imported secret when the source's is the same (same id), and never
 * touches secrets made in Gatehouse.
 */
export type ImportWrite =
  | { kind: 'client'; mapping: ImportMapping; client: Client; secret: ClientSecret | undefined; update: boolean }
  | { kind: 'user'; mapping: ImportMapping; user: User; update: boolean }
  | {
      kind: 'refresh_token';
      mapping: ImportMapping;
      family: TokenFamily;
      refreshToken: RefreshToken;
      /** The live access token issued with it, stored in the same family. */
      accessToken: OpaqueAccessToken | undefined;
    }
  | { kind: 'access_token'; mapping: ImportMapping; token: OpaqueAccessToken }
  /** A token imported before and revoked in the source since: revoked here too (its family, or the access token). */
  | { kind: 'revoke'; mapping: ImportMapping }
  /** A mapping from before sources were recorded, taken over by the importing source (nothing else changes). */
  | { kind: 'adopt'; mapping: ImportMapping };

export interface ImportStore {
  /** Every source's mappings of `sourceKeys` of one kind in the environment. */
  findMappings(envId: string, kind: ImportMapping['kind'], sourceKeys: readonly string[]): Promise<SourcedImportMapping[]>;
  /** The source that imported Gatehouse record `targetId` (a user id, a client id), if an import did. */
  findSourceOf(envId: string, kind: ImportMapping['kind'], targetId: string): Promise<string | undefined>;
  /**
   * In one transaction: every write with its mapping, recorded under `sourceId`. An imported
   * refresh token also records the user's consent to its scope for its client (the union with what
   * they granted before).
   */
  apply(envId: string, sourceId: string, writes: readonly ImportWrite[], now: number): Promise<void>;
}

/**
 * Keyset paging: the items after `after` (the key of the previous page's last item; none for the
 * first page) in key order, at most `limit`, so a page does not shift when items before it are
 * added or deleted.
 */
export interface PageQuery<K> {
  after: K | undefined;
  limit: number;
  /** Only items whose name or id contains this, ignoring (ASCII) case. */
  q?: string | undefined;
  /** Only enabled (or disabled) items, where items have the flag. */
  enabled?: boolean | undefined;
}

/** The key of items listed by creation: the time, then the id for items created in the same millisecond. */
export interface CreationKey {
  createdAt: number;
  id: string;
}

/** One page of a list, and whether more items follow it. */
export interface StoredPage<T> {
  items: T[];
  more: boolean;
}

/**
 * The admin API's lists, each one query in key order (`WHERE key > after ORDER BY key LIMIT n+1`),
 * never the whole table in memory. Environments by name, clients and service accounts by id,
 * users by username, APIs by identifier, secrets by id, keys by creation.
 */
export interface AdminListStore {
  environments(page: PageQuery<string>): Promise<StoredPage<Environment>>;
  /** Clients (confidential and public) or service accounts; `q` matches the name or id. */
  clients(envId: string, kind: 'client' | 'service_account', page: PageQuery<string>): Promise<StoredPage<Client>>;
  /** The client's secrets that still authenticate at `now`. */
  clientSecrets(envId: string, clientId: string, now: number, page: PageQuery<string>): Promise<StoredPage<ClientSecret>>;
  clientKeys(envId: string, clientId: string, page: PageQuery<CreationKey>): Promise<StoredPage<ClientKey>>;
  users(envId: string, page: PageQuery<string>): Promise<StoredPage<User>>;
  /** `q` matches the name or identifier. */
  apis(envId: string, page: PageQuery<string>): Promise<StoredPage<Api>>;
  /** Oldest first. */
  signingKeys(envId: string, page: PageQuery<CreationKey>): Promise<StoredPage<SigningKey>>;
}

/** A create that collides with an existing unique name or id. */
export class ConflictError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConflictError';
  }
}

/**
 * The database cannot serve the operation right now: unreachable, timed out, locked by another
 * process, or out of space. The operation did not complete: nothing was saved, except when the
 * connection was lost during a COMMIT, whose outcome the client cannot know (the server may have
 * committed). The caller answers 503 with `Retry-After` and may
 * retry. `reason` is fit for logs and `/readyz`: it never holds a connection string or a value.
 */
export class StorageUnavailableError extends Error {
  constructor(
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`the database is unavailable: ${reason}`, options);
    this.name = 'StorageUnavailableError';
  }
}

/** What a node currently knows about its database, from the operations it ran and its probes. */
export interface StorageHealth {
  /** False from the first failure that says the database is unreachable until an operation succeeds again. */
  readonly available: boolean;
  /** Why it is unavailable (undefined while available). */
  readonly reason: string | undefined;
  /** Calls `listener` on every change between available and unavailable; returns what stops it. */
  onChange(listener: (health: StorageHealth) => void): () => void;
}
