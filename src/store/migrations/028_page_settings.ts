import type { Kysely } from 'kysely';

// The look and words of each environment's sign-in pages: its brand (JSON), default language,
// the operator's texts per language (JSON) and its logo. The logo is kept as base64 text, so
// the column is the same on SQLite and PostgreSQL; it is at most 100 KB before encoding.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('environment_pages')
    .addColumn('env_id', 'text', (c) => c.primaryKey().references('environments.id').onDelete('cascade'))
    .addColumn('branding', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('default_language', 'text')
    .addColumn('texts', 'text', (c) => c.notNull().defaultTo('{}'))
    .addColumn('logo', 'text')
    .addColumn('logo_type', 'text')
    .addColumn('logo_sha256', 'text')
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('environment_pages').execute();
}
