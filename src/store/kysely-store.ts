import { randomBytes } from 'node:crypto';
import { type Kysely, type Selectable, sql } from 'kysely';
import { metadataDocumentSettingsJson, parseMetadataDocumentSettings } from '../domain/client-metadata-document-settings.ts';
import type { Client, ClientSecret, Environment, IdTokenAlgorithm, OpaqueAccessToken, RevokedJwt, SubjectType } from '../domain/model.ts';
import type { PageSettingsStore } from '../domain/page-settings.ts';
import type { RegistrationStore } from '../domain/registration.ts';
import {
  type AccessTokenStore,
  type AdminListStore,
  type ApiStore,
  type AuditStore,
  type AuthorizationCodeStore,
  type AuthorizationRequestStore,
  type BackchannelLogoutStore,
  type BrowserSessionStore,
  type ClientKeyStore,
  type ClientStore,
  ConflictError,
  type ConsentStore,
  type DeviceAuthorizationStore,
  type EnvironmentPushedRequestSettings,
  type EnvironmentStore,
  type IdempotencyKeyStore,
  type ImportStore,
  type LegacyCredentialStore,
  type LoginAttemptStore,
  type PushedAuthorizationRequestStore,
  type RateCounterStore,
  type RevokedJwtStore,
  type SigningKeyStore,
  type Store,
  type TokenFamilyStore,
  type TransactionStore,
  type UsageStore,
  type UsedAssertionStore,
  type UserStore,
} from '../domain/storage.ts';
import type { StorageHealthState } from './health.ts';
import { deleteClientRows, expireClientSecret, idempotencyKeyStore, updateClientRow } from './kysely-admin.ts';
import { adminListStore } from './kysely-admin-lists.ts';
import { apiStore } from './kysely-apis.ts';
import { clientKeyStore, usedAssertionStore } from './kysely-assertions.ts';
import { auditStore } from './kysely-audit.ts';
import { authorizationCodeStore, authorizationRequestStore, bindingFields, listField, opaqueAccessTokenRow, tokenFamilyStore } from './kysely-authorization.ts';
import { backchannelLogoutStore } from './kysely-backchannel-logouts.ts';
import { deviceAuthorizationStore } from './kysely-device.ts';
import { importStore } from './kysely-import.ts';
import { legacyCredentialStore } from './kysely-legacy-credentials.ts';
import { pageSettingsStore } from './kysely-page-settings.ts';
import { pushedAuthorizationRequestStore } from './kysely-pushed-requests.ts';
import { registrationStore } from './kysely-registrations.ts';
import { signingKeyRow, signingKeyStore } from './kysely-signing-keys.ts';
import { atomically } from './kysely-transaction.ts';
import { usageStore } from './kysely-usage.ts';
import { browserSessionStore, consentStore, loginAttemptStore, rateCounterStore, userStore } from './kysely-users.ts';
import { migrateToLatest } from './migrate.ts';
import type { ClientTable, Database, EnvironmentTable } from './schema.ts';

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
    this.revokedJwts = revokedJwtStore(db);
    this.clientKeys = clientKeyStore(db);
    this.usedAssertions = usedAssertionStore(db);
    this.users = userStore(db, (error) => isUniqueViolation(error, dialect));
    this.browserSessions = browserSessionStore(db);
    this.authorizationRequests = authorizationRequestStore(db);
    this.pushedRequests = pushedAuthorizationRequestStore(db);
    this.registrations = registrationStore(db);
    this.pageSettings = pageSettingsStore(db);
    this.authorizationCodes = authorizationCodeStore(db, dialect);
    this.deviceAuthorizations = deviceAuthorizationStore(db);
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

function isUniqueViolation(error: unknown, dialect: 'sqlite' | 'postgres'): boolean {
  const e = error as { code?: string };
  return dialect === 'postgres' ? e.code === '23505' : e.code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || e.code === 'SQLITE_CONSTRAINT_UNIQUE';
}

const toEnvironment = (row: Selectable<EnvironmentTable>): Environment => ({
  id: row.id,
  name: row.name,
  createdAt: Number(row.created_at),
  defaultQuota: row.default_quota === null ? null : Number(row.default_quota),
  // Present only when not the default (migration 017).
  ...(row.subject_type === 'pairwise' ? { subjectType: 'pairwise' as const } : {}),
  ...(row.refresh_token_policy === 'offline_access' ? { refreshTokenPolicy: 'offline_access' as const } : {}),
  ...(row.pairwise_salt === null ? {} : { pairwiseSalt: row.pairwise_salt }),
  ...(Number(row.dpop_nonce_required) === 1 ? { dpopNonceRequired: true } : {}),
  // Migration 023 (RFC 9126, FAPI 2.0): present only when not the default.
  ...(Number(row.require_pushed_authorization_requests) === 1 ? { requirePushedAuthorizationRequests: true } : {}),
  ...(row.security_profile === 'fapi2' ? { securityProfile: 'fapi2' as const } : {}),
  // Migration 025: present only when set.
  ...(row.client_metadata_documents ? { clientMetadataDocuments: parseMetadataDocumentSettings(JSON.parse(row.client_metadata_documents)) } : {}),
});

/** The writes of an environment's settings, each conditional on the values read when `expected` is given. */
function environmentSettingWrites(
  db: Kysely<Database>,
): Pick<EnvironmentStore, 'setDefaultQuota' | 'setDpopNonceRequired' | 'setOidcSettings' | 'setPushedRequestSettings' | 'setClientMetadataDocuments'> {
  return {
    async setClientMetadataDocuments(name, settings) {
      const value = settings === null ? null : JSON.stringify(metadataDocumentSettingsJson(settings));
      const result = await db.updateTable('environments').set({ client_metadata_documents: value }).where('name', '=', name).executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setDefaultQuota(name, quota, expectedQuota) {
      let query = db.updateTable('environments').set({ default_quota: quota }).where('name', '=', name);
      if (expectedQuota !== undefined) query = query.where('default_quota', expectedQuota === null ? 'is' : '=', expectedQuota);
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setDpopNonceRequired(name, required) {
      const result = await db
        .updateTable('environments')
        .set({ dpop_nonce_required: required ? 1 : 0 })
        .where('name', '=', name)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setOidcSettings(name, settings, expected) {
      let query = db
        .updateTable('environments')
        .set({ subject_type: settings.subjectType, refresh_token_policy: settings.refreshTokenPolicy })
        .where('name', '=', name);
      if (expected) {
        query = query.where('subject_type', '=', expected.subjectType).where('refresh_token_policy', '=', expected.refreshTokenPolicy);
      }
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async setPushedRequestSettings(name, settings, expected) {
      const values = (s: EnvironmentPushedRequestSettings) => ({
        require_pushed_authorization_requests: s.requirePushedAuthorizationRequests ? 1 : 0,
        security_profile: s.securityProfile,
      });
      let query = db.updateTable('environments').set(values(settings)).where('name', '=', name);
      if (expected) {
        const was = values(expected);
        query = query
          .where('require_pushed_authorization_requests', '=', was.require_pushed_authorization_requests)
          .where('security_profile', was.security_profile === null ? 'is' : '=', was.security_profile);
      }
      const result = await query.executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

function environmentStore(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): EnvironmentStore {
  return {
    async create(environment, firstKey, ...otherKeys) {
      try {
        await atomically(db, async (trx) => {
          await trx
            .insertInto('environments')
            .values({
              id: environment.id,
              name: environment.name,
              created_at: environment.createdAt,
              default_quota: environment.defaultQuota,
              subject_type: environment.subjectType ?? 'public',
              refresh_token_policy: environment.refreshTokenPolicy ?? 'client',
              pairwise_salt: environment.pairwiseSalt ?? randomBytes(32).toString('base64url'),
              dpop_nonce_required: environment.dpopNonceRequired ? 1 : 0,
              require_pushed_authorization_requests: environment.requirePushedAuthorizationRequests ? 1 : 0,
              security_profile: environment.securityProfile ?? null,
              client_metadata_documents: environment.clientMetadataDocuments
                ? JSON.stringify(metadataDocumentSettingsJson(environment.clientMetadataDocuments))
                : null,
            })
            .execute();
          await trx
            .insertInto('signing_keys')
            .values([firstKey, ...otherKeys].map(signingKeyRow))
            .execute();
        });
      } catch (error) {
        if (isUniqueViolation(error, dialect)) throw new ConflictError(`environment ${environment.name} already exists`);
        throw error;
      }
    },
    async findByName(name) {
      const row = await db.selectFrom('environments').selectAll().where('name', '=', name).executeTakeFirst();
      return row && toEnvironment(row);
    },
    async list() {
      const rows = await db.selectFrom('environments').selectAll().orderBy('name').execute();
      return rows.map(toEnvironment);
    },
    ...environmentSettingWrites(db),
  };
}

const toClient = (row: Selectable<ClientTable>): Client => ({
  envId: row.env_id,
  clientId: row.client_id,
  name: row.name,
  kind: row.kind,
  grantTypes: JSON.parse(row.grant_types) as string[],
  scopes: JSON.parse(row.scopes) as string[],
  defaultScopes: JSON.parse(row.default_scopes) as string[],
  redirectUris: JSON.parse(row.redirect_uris) as string[],
  tokenFormat: row.token_format,
  accessTokenTtl: row.access_token_ttl === null ? null : Number(row.access_token_ttl),
  introspectAny: Number(row.introspect_any) === 1,
  allowMissingPkce: Number(row.allow_missing_pkce) === 1,
  quota: row.quota === null ? null : Number(row.quota),
  enabled: Number(row.enabled) === 1,
  createdAt: Number(row.created_at),
  updatedAt: Number(row.updated_at),
  // OpenID Connect metadata (migration 017): a field is present only when it differs from its default.
  ...(row.post_logout_redirect_uris === null ? {} : { postLogoutRedirectUris: JSON.parse(row.post_logout_redirect_uris) as string[] }),
  ...(row.backchannel_logout_uri === null ? {} : { backchannelLogoutUri: row.backchannel_logout_uri }),
  ...(Number(row.backchannel_logout_session_required) === 1 ? { backchannelLogoutSessionRequired: true } : {}),
  ...(Number(row.logout_revokes_tokens) === 1 ? { logoutRevokesTokens: true } : {}),
  ...(row.id_token_signed_response_alg === null ? {} : { idTokenSignedResponseAlg: row.id_token_signed_response_alg as IdTokenAlgorithm }),
  ...(row.subject_type === null ? {} : { subjectType: row.subject_type as SubjectType }),
  ...(row.sector_identifier_uri === null ? {} : { sectorIdentifierUri: row.sector_identifier_uri }),
  // RFC 9449 (migration 022).
  ...(Number(row.dpop_bound_access_tokens) === 1 ? { dpopBoundAccessTokens: true } : {}),
  ...(Number(row.require_pushed_authorization_requests) === 1 ? { requirePushedAuthorizationRequests: true } : {}),
  // RFC 7591 (migration 024).
  ...(row.registration === 'dynamic' ? { registration: 'dynamic' as const } : {}),
});

function clientStore(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', families: TokenFamilyStore): ClientStore {
  return {
    create: (client, secret) => createClient(db, dialect, client, secret),
    async find(envId, clientId) {
      const row = await db.selectFrom('clients').selectAll().where('env_id', '=', envId).where('client_id', '=', clientId).executeTakeFirst();
      return row && toClient(row);
    },
    async list(envId) {
      const rows = await db.selectFrom('clients').selectAll().where('env_id', '=', envId).orderBy('created_at').orderBy('client_id').execute();
      return rows.map(toClient);
    },
    async activeSecrets(envId, clientId, now) {
      const rows = await db
        .selectFrom('client_secrets')
        .selectAll()
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
        .orderBy('created_at', 'desc')
        .execute();
      return rows.map(
        (row): ClientSecret => ({
          id: row.id,
          secretHash: row.secret_hash,
          createdAt: Number(row.created_at),
          expiresAt: row.expires_at === null ? null : Number(row.expires_at),
        }),
      );
    },
    rotateSecret: (envId, clientId, secret, overlapUntil) => rotateClientSecret(db, envId, clientId, secret, overlapUntil),
    setEnabled: (envId, clientId, enabled, now) => updateClient(db, envId, clientId, { enabled: enabled ? 1 : 0, updated_at: now }),
    setQuota: (envId, clientId, quota, now) => updateClient(db, envId, clientId, { quota, updated_at: now }),
    update: (client, expectedUpdatedAt) => updateClientRow(db, clientRow(client), expectedUpdatedAt),
    expireSecret: (envId, clientId, secretId, now) => expireClientSecret(db, envId, clientId, secretId, now),
    delete: (envId, clientId, now) => deleteClientRows(db, families, envId, clientId, now),
    async replaceSecretHash(envId, clientId, secretId, legacyHash, hash) {
      const result = await db
        .updateTable('client_secrets')
        .set({ secret_hash: hash })
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where('id', '=', secretId)
        .where('secret_hash', '=', legacyHash)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

/** The row of a client, as `toClient` reads it back. */
function clientRow(client: Client): ClientTable {
  return {
    env_id: client.envId,
    client_id: client.clientId,
    name: client.name,
    kind: client.kind,
    grant_types: JSON.stringify(client.grantTypes),
    scopes: JSON.stringify(client.scopes),
    default_scopes: JSON.stringify(client.defaultScopes),
    redirect_uris: JSON.stringify(client.redirectUris),
    token_format: client.tokenFormat,
    access_token_ttl: client.accessTokenTtl,
    introspect_any: client.introspectAny ? 1 : 0,
    allow_missing_pkce: client.allowMissingPkce ? 1 : 0,
    quota: client.quota,
    enabled: client.enabled ? 1 : 0,
    created_at: client.createdAt,
    updated_at: client.updatedAt,
    post_logout_redirect_uris: client.postLogoutRedirectUris?.length ? JSON.stringify(client.postLogoutRedirectUris) : null,
    backchannel_logout_uri: client.backchannelLogoutUri ?? null,
    backchannel_logout_session_required: client.backchannelLogoutSessionRequired ? 1 : 0,
    logout_revokes_tokens: client.logoutRevokesTokens ? 1 : 0,
    id_token_signed_response_alg: client.idTokenSignedResponseAlg ?? null,
    subject_type: client.subjectType ?? null,
    sector_identifier_uri: client.sectorIdentifierUri ?? null,
    dpop_bound_access_tokens: client.dpopBoundAccessTokens ? 1 : 0,
    require_pushed_authorization_requests: client.requirePushedAuthorizationRequests ? 1 : 0,
    registration: client.registration ?? 'admin',
  };
}

/** The row of one secret of the client `clientId`. */
function clientSecretRow(envId: string, clientId: string, secret: ClientSecret) {
  return {
    id: secret.id,
    env_id: envId,
    client_id: clientId,
    secret_hash: secret.secretHash,
    created_at: secret.createdAt,
    expires_at: secret.expiresAt,
  };
}

/** `ClientStore.create`: the client and its first secret in one transaction; a duplicate id is a `ConflictError`. */
async function createClient(db: Kysely<Database>, dialect: 'sqlite' | 'postgres', client: Client, secret: ClientSecret | undefined): Promise<void> {
  try {
    await atomically(db, async (trx) => {
      await trx.insertInto('clients').values(clientRow(client)).execute();
      if (secret) {
        await trx
          .insertInto('client_secrets')
          .values(clientSecretRow(client.envId, client.clientId, secret))
          .execute();
      }
    });
  } catch (error) {
    if (isUniqueViolation(error, dialect)) throw new ConflictError(`client ${client.clientId} already exists`);
    throw error;
  }
}

/** `ClientStore.rotateSecret`: current secrets expire at `overlapUntil` at the latest and `secret` is added, in one transaction. */
async function rotateClientSecret(db: Kysely<Database>, envId: string, clientId: string, secret: ClientSecret, overlapUntil: number): Promise<boolean> {
  return atomically(db, async (trx) => {
    const updated = await trx
      .updateTable('clients')
      .set({ updated_at: secret.createdAt })
      .where('env_id', '=', envId)
      .where('client_id', '=', clientId)
      .executeTakeFirst();
    if (Number(updated.numUpdatedRows) === 0) return false;
    await trx
      .updateTable('client_secrets')
      .set({ expires_at: overlapUntil })
      .where('env_id', '=', envId)
      .where('client_id', '=', clientId)
      .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', overlapUntil)]))
      .execute();
    await trx
      .insertInto('client_secrets')
      .values(clientSecretRow(envId, clientId, secret))
      .execute();
    return true;
  });
}

/** Sets some columns of one client; false if the client does not exist. */
async function updateClient(db: Kysely<Database>, envId: string, clientId: string, changes: Partial<ClientTable>): Promise<boolean> {
  const result = await db.updateTable('clients').set(changes).where('env_id', '=', envId).where('client_id', '=', clientId).executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

function accessTokenStore(db: Kysely<Database>): AccessTokenStore {
  return {
    async insert(token) {
      await db.insertInto('access_tokens').values(opaqueAccessTokenRow(token, null)).execute();
    },
    async findByHash(envId, tokenHash) {
      const row = await db.selectFrom('access_tokens').selectAll().where('token_hash', '=', tokenHash).where('env_id', '=', envId).executeTakeFirst();
      if (!row) return undefined;
      return {
        tokenHash: row.token_hash,
        envId: row.env_id,
        clientId: row.client_id,
        subject: row.subject,
        scope: row.scope,
        jti: row.jti,
        issuedAt: Number(row.issued_at),
        expiresAt: Number(row.expires_at),
        revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
        ...listField('audience', row.audience),
        ...bindingFields(row),
      } satisfies OpaqueAccessToken;
    },
    async revoke(envId, tokenHash, clientId, now) {
      const result = await db
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('token_hash', '=', tokenHash)
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('access_tokens').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

function revokedJwtStore(db: Kysely<Database>): RevokedJwtStore {
  return {
    async insert(entry: RevokedJwt) {
      await db
        .insertInto('revoked_jwts')
        .values({ env_id: entry.envId, jti: entry.jti, client_id: entry.clientId, expires_at: entry.expiresAt, revoked_at: entry.revokedAt })
        .onConflict((oc) => oc.columns(['env_id', 'jti']).doNothing())
        .execute();
    },
    async isRevoked(envId, jti) {
      const row = await db.selectFrom('revoked_jwts').select(sql<number>`1`.as('one')).where('env_id', '=', envId).where('jti', '=', jti).executeTakeFirst();
      return row !== undefined;
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('revoked_jwts').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
