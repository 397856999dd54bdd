import type { Kysely } from 'kysely';

// End users, browser sessions and the authorization code flow: pending /authorize requests,
// codes, token families with their refresh tokens, remembered consents and login throttling.
export async function up(db: Kysely<unknown>): Promise<void> {
  await createUsers(db);
  await createBrowserSessions(db);
  await createAuthorizationRequests(db);
  await createAuthorizationCodes(db);
  await createTokenFamilies(db);
  await createRefreshTokens(db);
  await createFamilyAccessTokens(db);
  await addAccessTokenFamily(db);
  await createConsents(db);
  await createLoginAttempts(db);
}

/** End users, unique by username within an environment. */
async function createUsers(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('users')
    .addColumn('env_id', 'text', (c) => c.notNull().references('environments.id'))
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('password_hash', 'text', (c) => c.notNull())
    .addColumn('enabled', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('users_pk', ['env_id', 'user_id'])
    .addUniqueConstraint('users_username_unique', ['env_id', 'username'])
    .execute();
}

/** Browser sessions of the login and consent pages. */
async function createBrowserSessions(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('browser_sessions')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('authenticated_at', 'bigint')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('browser_sessions_by_expiry').on('browser_sessions').column('expires_at').execute();
}

/** Pending /authorize requests, bound to a browser session. */
async function createAuthorizationRequests(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('authorization_requests')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('session_id_hash', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('state', 'text')
    .addColumn('code_challenge', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('authorization_requests_by_session').on('authorization_requests').column('session_id_hash').execute();
  await db.schema.createIndex('authorization_requests_by_expiry').on('authorization_requests').column('expires_at').execute();
}

/** Issued authorization codes (hashed). */
async function createAuthorizationCodes(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('authorization_codes')
    .addColumn('code_hash', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('redirect_uri', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('code_challenge', 'text')
    .addColumn('family_id', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('consumed_at', 'bigint')
    .execute();
  await db.schema.createIndex('authorization_codes_by_expiry').on('authorization_codes').column('expires_at').execute();
}

/** Token families: everything one code redemption issued. */
async function createTokenFamilies(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('token_families')
    .addColumn('family_id', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('token_families_by_expiry').on('token_families').column('expires_at').execute();
}

/** Refresh tokens (hashed), each in a family. */
async function createRefreshTokens(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('refresh_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('family_id', 'text', (c) => c.notNull().references('token_families.family_id'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('rotated_at', 'bigint')
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('refresh_tokens_by_family').on('refresh_tokens').column('family_id').execute();
}

/** The JWT access tokens of each family, so revoking a family can list them. */
async function createFamilyAccessTokens(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('family_access_tokens')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('family_id', 'text', (c) => c.notNull().references('token_families.family_id'))
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('family_access_tokens_pk', ['env_id', 'jti'])
    .execute();
  await db.schema.createIndex('family_access_tokens_by_family').on('family_access_tokens').column('family_id').execute();
}

/** The family of an opaque access token. */
async function addAccessTokenFamily(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').addColumn('family_id', 'text').execute();
  await db.schema.createIndex('access_tokens_by_family').on('access_tokens').column('family_id').execute();
}

/** Remembered consents: the scopes a user granted a client. */
async function createConsents(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('consents')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('granted_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('consents_pk', ['env_id', 'user_id', 'client_id'])
    .execute();
}

/** Login attempt counters per throttling key and window. */
async function createLoginAttempts(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('login_attempts')
    .addColumn('key_hash', 'text', (c) => c.primaryKey())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('login_attempts_by_window').on('login_attempts').column('window_start').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of [
    'login_attempts',
    'consents',
    'family_access_tokens',
    'refresh_tokens',
    'token_families',
    'authorization_codes',
    'authorization_requests',
    'browser_sessions',
    'users',
  ]) {
    await db.schema.dropTable(table).execute();
  }
  await db.schema.dropIndex('access_tokens_by_family').execute();
  await db.schema.alterTable('access_tokens').dropColumn('family_id').execute();
}
