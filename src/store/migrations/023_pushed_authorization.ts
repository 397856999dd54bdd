import type { Kysely } from 'kysely';

// RFC 9126 pushed authorization requests: the requests waiting for their request_uri (keyed by
// its hash), the client and environment settings that require them (§5, §6), and the security
// profile an environment is held to (FAPI 2.0). Every new column has a default, so rows written
// before keep their meaning.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('pushed_authorization_requests')
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('params', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('pushed_authorization_requests_by_expiry').on('pushed_authorization_requests').column('expires_at').execute();
  await db.schema
    .alterTable('clients')
    .addColumn('require_pushed_authorization_requests', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema
    .alterTable('environments')
    .addColumn('require_pushed_authorization_requests', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
  await db.schema.alterTable('environments').addColumn('security_profile', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('environments').dropColumn('security_profile').execute();
  await db.schema.alterTable('environments').dropColumn('require_pushed_authorization_requests').execute();
  await db.schema.alterTable('clients').dropColumn('require_pushed_authorization_requests').execute();
  await db.schema.dropIndex('pushed_authorization_requests_by_expiry').execute();
  await db.schema.dropTable('pushed_authorization_requests').execute();
}
