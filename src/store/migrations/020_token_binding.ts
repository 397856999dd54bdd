import type { Kysely } from 'kysely';

// What binds an opaque access token beyond its client and subject: RFC 8693 `act` (the actor of a
// token exchange, as JSON) and RFC 9449 `cnf.jkt` (the DPoP key's thumbprint). A JWT carries both
// as claims; an opaque token's introspection answer reads them from here.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').addColumn('act', 'text').execute();
  await db.schema.alterTable('access_tokens').addColumn('cnf_jkt', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('access_tokens').dropColumn('cnf_jkt').execute();
  await db.schema.alterTable('access_tokens').dropColumn('act').execute();
}
