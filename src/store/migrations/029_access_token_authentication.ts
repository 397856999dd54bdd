import type { Kysely } from 'kysely';

// How the user of an opaque access token signed in, for introspection (RFC 7662 §2.2 allows
// further members; RFC 9068 §2.2.1 names `acr` and `amr` for access tokens): the OpenID Connect
// Core §2 `acr` and the RFC 8176 `amr` (JSON array). Null for a token of no user sign-in.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').addColumn('acr', 'text').execute();
  await db.schema.alterTable('access_tokens').addColumn('amr', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').dropColumn('amr').execute();
  await db.schema.alterTable('access_tokens').dropColumn('acr').execute();
}
