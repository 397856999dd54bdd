import type { Kysely } from 'kysely';

// Portable across SQLite and PostgreSQL: only the schema builder's common types are used.
export async function up(db: Kysely<unknown>): Promise<void> {
  await createEnvironments(db);
  await createClients(db);
  await createClientSecrets(db);
  await createSigningKeys(db);
  await createAccessTokens(db);
  await createRevokedJwts(db);
}

/** Environments, each with its own clients, keys and tokens. */
async function createEnvironments(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('environments')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('name', 'text', (c) => c.notNull().unique())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .execute();
}

/** OAuth clients, keyed by environment and client id. */
async function createClients(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('clients')
    .addColumn('env_id', 'text', (c) => c.notNull().references('environments.id'))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('grant_types', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('default_scopes', 'text', (c) => c.notNull())
    .addColumn('redirect_uris', 'text', (c) => c.notNull())
    .addColumn('token_format', 'text', (c) => c.notNull())
    .addColumn('access_token_ttl', 'integer')
    .addColumn('introspect_any', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('enabled', 'integer', (c) => c.notNull().defaultTo(1))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('clients_pk', ['env_id', 'client_id'])
    .execute();
}

/** Client secrets (hashed), several per client while a rotation overlaps. */
async function createClientSecrets(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('client_secrets')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('secret_hash', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint')
    .addForeignKeyConstraint('client_secrets_client_fk', ['env_id', 'client_id'], 'clients', ['env_id', 'client_id'])
    .execute();
  await db.schema.createIndex('client_secrets_by_client').on('client_secrets').columns(['env_id', 'client_id']).execute();
}

/** Signing keys of each environment, the private key sealed. */
async function createSigningKeys(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('signing_keys')
    .addColumn('kid', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull().references('environments.id'))
    .addColumn('alg', 'text', (c) => c.notNull())
    .addColumn('public_jwk', 'text', (c) => c.notNull())
    .addColumn('private_key_sealed', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('retired_at', 'bigint')
    .addColumn('publish_until', 'bigint')
    .execute();
  await db.schema.createIndex('signing_keys_by_env').on('signing_keys').columns(['env_id', 'status']).execute();
}

/** Opaque access tokens (hashed). */
async function createAccessTokens(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('access_tokens')
    .addColumn('token_hash', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('issued_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint')
    .execute();
  await db.schema.createIndex('access_tokens_by_expiry').on('access_tokens').column('expires_at').execute();
}

/** Revoked JWT access tokens, remembered until they expire. */
async function createRevokedJwts(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('revoked_jwts')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('jti', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('revoked_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('revoked_jwts_pk', ['env_id', 'jti'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  for (const table of ['revoked_jwts', 'access_tokens', 'signing_keys', 'client_secrets', 'clients', 'environments']) {
    await db.schema.dropTable(table).execute();
  }
}
