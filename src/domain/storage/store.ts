import type { ClientMetadataDocumentSettings, Environment, RefreshTokenPolicy, SecurityProfile, SigningKey, SubjectType } from '../model.ts';
import type { PageSettingsStore } from '../page-settings.ts';
import type { RegistrationStore } from '../registration.ts';
import type { PasskeyStore, SecondFactorStore } from '../second-factors.ts';
import type { AuditStore, BackchannelLogoutStore } from './audit.ts';
import type {
  AuthorizationCodeStore,
  AuthorizationRequestStore,
  ConsentStore,
  DeviceAuthorizationStore,
  PushedAuthorizationRequestStore,
} from './authorization.ts';
import type { ApiStore, ClientKeyStore, ClientStore, LegacyCredentialStore, UsedAssertionStore } from './clients.ts';
import type { StorageHealth } from './errors.ts';
import type { ImportStore } from './import.ts';
import type { AdminListStore } from './listing.ts';
import type { SigningKeyStore } from './signing-keys.ts';
import type { AccessTokenStore, RevokedJwtStore, TokenFamilyStore } from './tokens.ts';
import type { IdempotencyKeyStore, UsageStore } from './usage.ts';
import type { BrowserSessionStore, LoginAttemptStore, RateCounterStore, UserStore } from './users.ts';

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
  /** TOTP, recovery codes and each environment's sign-in policy. */
  readonly secondFactors: SecondFactorStore;
  /** WebAuthn passkeys and the challenges of ceremonies in progress. */
  readonly passkeys: PasskeyStore;
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
  | 'secondFactors'
  | 'passkeys'
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
  /**
   * Inside a transaction: holds the environment until it ends, so that changes which read an
   * environment's settings and then write them (a key rotation; an update checked against
   * If-Match) run one after another. PostgreSQL locks the row (READ COMMITTED would otherwise let
   * both act on what they read); SQLite's write transactions are serial already (BEGIN IMMEDIATE).
   */
  lock(envId: string): Promise<void>;
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
