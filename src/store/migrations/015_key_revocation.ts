import type { Kysely } from 'kysely';

// A signing key can be revoked (it leaked): `revoked_at` marks it. A revoked key leaves the JWKS at
// once and tokens it signed are refused by introspection, whatever its publication window said.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('signing_keys').addColumn('revoked_at', 'bigint').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('signing_keys').dropColumn('revoked_at').execute();
}
