import type { Kysely } from 'kysely';

// RFC 8628: device authorizations, found by the hash of their device code (the token endpoint)
// or of their user code (the verification page), and the held request of the verification page
// that names the one it decides. Neither code is stored in clear.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('device_authorizations')
    .addColumn('device_code_hash', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('user_code_hash', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('scope', 'text', (c) => c.notNull())
    .addColumn('resources', 'text')
    .addColumn('family_id', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addColumn('interval_seconds', 'integer', (c) => c.notNull())
    .addColumn('last_polled_at', 'bigint')
    .addColumn('status', 'text', (c) => c.notNull())
    .addColumn('user_id', 'text')
    .addColumn('decided_at', 'bigint')
    .addColumn('oidc', 'text')
    .addColumn('consumed_at', 'bigint')
    .execute();
  await db.schema.createIndex('device_authorizations_by_user_code').on('device_authorizations').columns(['env_id', 'user_code_hash']).unique().execute();
  await db.schema.createIndex('device_authorizations_by_expiry').on('device_authorizations').column('expires_at').execute();
  await db.schema.alterTable('authorization_requests').addColumn('device_code_hash', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('authorization_requests').dropColumn('device_code_hash').execute();
  await db.schema.dropTable('device_authorizations').execute();
}
