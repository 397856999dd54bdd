import { type Kysely, sql } from 'kysely';

// At most one active signing key per environment, enforced by the database: two rotations
// racing on PostgreSQL (READ COMMITTED) would otherwise both leave their new key active.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('signing_keys_one_active').on('signing_keys').column('env_id').unique().where(sql.ref('status'), '=', 'active').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('signing_keys_one_active').execute();
}
