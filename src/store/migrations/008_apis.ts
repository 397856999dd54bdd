import type { Kysely } from 'kysely';

// APIs as resources (RFC 8707): one row per API of an environment, its scopes and allowed clients
// as JSON text. The `resource` values a request named travel with the pending request, the code
// and the token family; an opaque access token remembers its audience for introspection.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('apis')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('identifier', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('scopes', 'text', (c) => c.notNull())
    .addColumn('token_format', 'text', (c) => c.notNull())
    .addColumn('access_token_ttl', 'integer')
    .addColumn('client_ids', 'text', (c) => c.notNull())
    .addColumn('is_default', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('apis_pk', ['env_id', 'identifier'])
    .execute();
  await db.schema.alterTable('authorization_requests').addColumn('resources', 'text').execute();
  await db.schema.alterTable('authorization_codes').addColumn('resources', 'text').execute();
  await db.schema.alterTable('token_families').addColumn('resources', 'text').execute();
  await db.schema.alterTable('access_tokens').addColumn('audience', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').dropColumn('audience').execute();
  await db.schema.alterTable('token_families').dropColumn('resources').execute();
  await db.schema.alterTable('authorization_codes').dropColumn('resources').execute();
  await db.schema.alterTable('authorization_requests').dropColumn('resources').execute();
  await db.schema.dropTable('apis').execute();
}
