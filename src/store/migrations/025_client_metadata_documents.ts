import type { Kysely } from 'kysely';

// Client ID Metadata Documents (draft-ietf-oauth-client-id-metadata-document): an environment's
// settings for clients named by a document URL (on or off, allowed and blocked hosts, the policy
// of scopes, APIs and lifetimes), stored as one JSON text. Null: not accepted, as before.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('environments').addColumn('client_metadata_documents', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('environments').dropColumn('client_metadata_documents').execute();
}
