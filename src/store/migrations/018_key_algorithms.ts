import { type Kysely, sql } from 'kysely';

// Signing keys form lineages: RS256 keys, which sign only ID Tokens (OpenID Connect Core §15.1),
// and the access-token keys (ES256 or EdDSA). Each lineage rotates on its own, so the rules of
// migrations 003 and 007 (at most one active and one next key per environment) become per
// environment and lineage. ES256 and EdDSA are one lineage: a changed GATEHOUSE_SIGNING_ALG
// replaces the access-token key at its next rotation, it does not start a second one.
const LINEAGE = sql`(case when alg = 'RS256' then 'RS256' else 'access' end)`;

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('signing_keys_one_active').execute();
  await db.schema.dropIndex('signing_keys_one_next').execute();
  await sql`create unique index signing_keys_one_active on signing_keys (env_id, ${LINEAGE}) where status = 'active'`.execute(db);
  await sql`create unique index signing_keys_one_next on signing_keys (env_id, ${LINEAGE}) where status = 'next'`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  // Back to one lineage: keys of the RS256 lineage go (they sign only ID Tokens, which the older
  // schema's code does not issue), then the environment-wide rules return.
  await sql`delete from signing_keys where alg = 'RS256'`.execute(db);
  await db.schema.dropIndex('signing_keys_one_active').execute();
  await db.schema.dropIndex('signing_keys_one_next').execute();
  await db.schema.createIndex('signing_keys_one_active').on('signing_keys').column('env_id').unique().where(sql.ref('status'), '=', 'active').execute();
  await db.schema.createIndex('signing_keys_one_next').on('signing_keys').column('env_id').unique().where(sql.ref('status'), '=', 'next').execute();
}
