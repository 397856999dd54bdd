import { type Kysely, sql } from 'kysely';

// Signing keys get an activation time: a rotation publishes the next key first and lets it sign
// only once every cache of the old JWKS has expired. At most one next key per environment, enforced
// by the database, so two nodes running a scheduled rotation at once cannot both start one.
// Environments get an optional interval for scheduled rotations.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('signing_keys').addColumn('activate_at', 'bigint').execute();
  await sql`update signing_keys set activate_at = created_at`.execute(db);
  await db.schema.createIndex('signing_keys_one_next').on('signing_keys').column('env_id').unique().where(sql.ref('status'), '=', 'next').execute();
  await db.schema.alterTable('environments').addColumn('key_rotation_interval', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('environments').dropColumn('key_rotation_interval').execute();
  await db.schema.dropIndex('signing_keys_one_next').execute();
  await db.schema.alterTable('signing_keys').dropColumn('activate_at').execute();
}
