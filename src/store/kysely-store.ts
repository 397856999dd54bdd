import { type Kysely, sql } from 'kysely';
import type { PageSettingsStore } from '../domain/page-settings.ts';
import type { RegistrationStore } from '../domain/registration.ts';
import type { PasskeyStore, SecondFactorStore } from '../domain/second-factors.ts';
import type {
  AccessTokenStore,
  AdminListStore,
  ApiStore,
  AuditStore,
  AuthorizationCodeStore,
  AuthorizationRequestStore,
  BackchannelLogoutStore,
  BrowserSessionStore,
  ClientKeyStore,
  ClientStore,
  ConsentStore,
  DeviceAuthorizationStore,
  EnvironmentStore,
  IdempotencyKeyStore,
  ImportStore,
  LegacyCredentialStore,
  LoginAttemptStore,
  PushedAuthorizationRequestStore,
  RateCounterStore,
  RevokedJwtStore,
  SigningKeyStore,
  Store,
  TokenFamilyStore,
  TransactionStore,
  UsageStore,
  UsedAssertionStore,
  UserStore,
} from '../domain/storage.ts';
import type { StorageHealthState } from './health.ts';
import { accessTokenStore, revokedJwtStore } from './kysely-access-tokens.ts';
import { idempotencyKeyStore } from './kysely-admin.ts';
import { adminListStore } from './kysely-admin-lists.ts';
import { apiStore } from './kysely-apis.ts';
import { clientKeyStore, usedAssertionStore } from './kysely-assertions.ts';
import { auditStore } from './kysely-audit.ts';
import { authorizationCodeStore, authorizationRequestStore } from './kysely-authorization.ts';
import { backchannelLogoutStore } from './kysely-backchannel-logouts.ts';
import { clientRow, clientSecretRow, clientStore, toClient } from './kysely-clients.ts';
import { deviceAuthorizationStore } from './kysely-device.ts';
import { environmentStore, toEnvironment } from './kysely-environments.ts';
import { isUniqueViolation } from './kysely-errors.ts';
import { importStore } from './kysely-import.ts';
import { legacyCredentialStore } from './kysely-legacy-credentials.ts';
import { pageSettingsStore } from './kysely-page-settings.ts';
import { passkeyStore } from './kysely-passkeys.ts';
import { pushedAuthorizationRequestStore } from './kysely-pushed-requests.ts';
import { registrationStore } from './kysely-registrations.ts';
import { secondFactorStore } from './kysely-second-factors.ts';
import { signingKeyStore } from './kysely-signing-keys.ts';
import { tokenFamilyStore } from './kysely-token-families.ts';
import { usageStore } from './kysely-usage.ts';
import { browserSessionStore, consentStore, loginAttemptStore, rateCounterStore, userStore } from './kysely-users.ts';
import { migrateToLatest } from './migrate.ts';
import type { Database } from './schema.ts';

/** The one `Store` implementation; the dialect only changes how Kysely talks to the database. */
export class KyselyStore implements Store {
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
  readonly pushedRequests: PushedAuthorizationRequestStore;
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
  readonly adminLists: AdminListStore;
  readonly imports: ImportStore;
  readonly legacyCredentials: LegacyCredentialStore;
  readonly backchannelLogouts: BackchannelLogoutStore;
  readonly secondFactors: SecondFactorStore;
  readonly passkeys: PasskeyStore;

  constructor(
    private readonly db: Kysely<Database>,
    readonly dialect: 'sqlite' | 'postgres',
    readonly health: StorageHealthState,
    /** PostgreSQL schema holding Gatehouse's tables. */
    private readonly schema?: string,
    /** Checks the database with a short timeout (PostgreSQL: even while known to be unreachable). */
    private readonly probe?: () => Promise<void>,
  ) {
    this.environments = environmentStore(db, dialect);
    this.tokenFamilies = tokenFamilyStore(db, dialect);
    this.clients = clientStore(db, dialect, this.tokenFamilies);
    this.signingKeys = signingKeyStore(db, (error) => isUniqueViolation(error, dialect), dialect);
    this.accessTokens = accessTokenStore(db);
    this.revokedJwts = revokedJwtStore(db, dialect);
    this.clientKeys = clientKeyStore(db);
    this.usedAssertions = usedAssertionStore(db);
    this.users = userStore(db, (error) => isUniqueViolation(error, dialect));
    this.browserSessions = browserSessionStore(db);
    this.authorizationRequests = authorizationRequestStore(db);
    this.pushedRequests = pushedAuthorizationRequestStore(db);
    this.registrations = registrationStore(db);
    this.pageSettings = pageSettingsStore(db);
    this.authorizationCodes = authorizationCodeStore(db, dialect);
    this.deviceAuthorizations = deviceAuthorizationStore(db, dialect);
    this.consents = consentStore(db);
    this.loginAttempts = loginAttemptStore(db);
    this.rateCounters = rateCounterStore(db);
    this.apis = apiStore(db, (error) => isUniqueViolation(error, dialect));
    this.audit = auditStore(db);
    this.usage = usageStore(db);
    this.idempotencyKeys = idempotencyKeyStore(db);
    this.adminLists = adminListStore(db, { toClient, toEnvironment });
    this.imports = importStore(db, { clientRow, clientSecretRow });
    this.legacyCredentials = legacyCredentialStore(db);
    this.backchannelLogouts = backchannelLogoutStore(db);
    this.secondFactors = secondFactorStore(db);
    this.passkeys = passkeyStore(db, (error) => isUniqueViolation(error, dialect));
  }

  async ping(): Promise<void> {
    if (this.probe) return this.probe();
    await sql`select 1`.execute(this.db);
  }

  transaction<T>(work: (tx: TransactionStore) => Promise<T>): Promise<T> {
    if (this.db.isTransaction) return work(this);
    return this.db.transaction().execute((trx) => work(new KyselyStore(trx, this.dialect, this.health, this.schema)));
  }

  async migrate(): Promise<void> {
    // The schema may also come from the URL (`?options=-c search_path=…`): ask the server which one is in use.
    const schema =
      this.dialect === 'postgres'
        ? (this.schema ?? (await sql<{ schema: string }>`select current_schema() as schema`.execute(this.db)).rows[0]?.schema)
        : undefined;
    await migrateToLatest(this.db, schema);
  }

  async close(): Promise<void> {
    await this.db.destroy();
  }
}
