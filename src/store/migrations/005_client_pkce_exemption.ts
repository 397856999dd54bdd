import type { Kysely } from 'kysely';

// A confidential client an administrator lets omit PKCE, at surfaces whose product never sent a
// challenge (RightSignature). Off for every existing client.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('clients')
    .addColumn('allow_missing_pkce', 'integer', (c) => c.notNull().defaultTo(0))
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('clients').dropColumn('allow_missing_pkce').execute();
}
