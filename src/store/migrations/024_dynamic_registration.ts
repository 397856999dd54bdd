import type { Kysely } from 'kysely';

// RFC 7591 / RFC 7592 dynamic client registration: how each client came to be (`admin` or
// `dynamic`), the registration of each dynamic client (its registration access token's hash and
// the metadata it registered, echoed back by RFC 7592 §3), each environment's registration
// policy, and the initial access tokens (RFC 7591 §3) operators hand out, stored hashed with
// their expiry and remaining uses. Every new column has a default, so rows written before keep
// their meaning: existing clients are `admin` clients.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('registration', 'text', (c) => c.notNull().defaultTo('admin'))
    .execute();
  await db.schema
    .createTable('client_registrations')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('access_token_hash', 'text', (c) => c.notNull())
    .addColumn('metadata', 'text', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('client_registrations_pk', ['env_id', 'client_id'])
    .execute();
  await db.schema
    .createTable('registration_policies')
    .addColumn('env_id', 'text', (c) => c.primaryKey())
    .addColumn('mode', 'text', (c) => c.notNull())
    .addColumn('settings', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema
    .createTable('initial_access_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull().unique())
    .addColumn('description', 'text', (c) => c.notNull())
    .addColumn('uses_left', 'integer', (c) => c.notNull())
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('initial_access_tokens_by_env').on('initial_access_tokens').columns(['env_id', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('initial_access_tokens_by_env').execute();
  await db.schema.dropTable('initial_access_tokens').execute();
  await db.schema.dropTable('registration_policies').execute();
  await db.schema.dropTable('client_registrations').execute();
  await db.schema.alterTable('clients').dropColumn('registration').execute();
}
