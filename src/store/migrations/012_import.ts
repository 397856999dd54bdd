import type { Kysely } from 'kysely';

// Moving onto Gatehouse: which source record became which Gatehouse record, with the source's
// version of it, so a second import changes nothing and a crashed one resumes where it stopped.
// Imported secrets, passwords and tokens live in the ordinary tables (a legacy hash is self-describing).
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('import_mappings')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('source_key', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('source_version', 'text')
    .addColumn('imported_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_mappings_pk', ['env_id', 'kind', 'source_key'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('import_mappings').execute();
}
