import type { Kysely } from 'kysely';

// RFC 9700 §4.14.2 grace period: what a refresh rotation answered, kept for an exact retry of the
// same request for a few seconds. The response is sealed under a key derived from the presented
// refresh token (stored itself only as a hash), so the database alone never yields a token.
// One row per family at most (the latest rotation's); the sweeper deletes expired rows.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('refresh_token_retries')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('token_hash', 'text', (c) => c.notNull())
    .addColumn('family_id', 'text', (c) => c.notNull())
    .addColumn('successor_hash', 'text', (c) => c.notNull())
    .addColumn('request_hash', 'text', (c) => c.notNull())
    .addColumn('sealed_response', 'text', (c) => c.notNull())
    .addColumn('expires_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('refresh_token_retries_pk', ['env_id', 'token_hash'])
    .execute();
  await db.schema.createIndex('refresh_token_retries_by_family').on('refresh_token_retries').column('family_id').execute();
  await db.schema.createIndex('refresh_token_retries_by_expiry').on('refresh_token_retries').column('expires_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('refresh_token_retries').execute();
}
