import { type Kysely, sql } from 'kysely';

// Imports know their source: every mapping row records which source it came from, so two sources
// imported into one environment keep their keys (a user's source id, a client id, a token hash) in
// separate namespaces. The primary key grows by the source, which SQLite cannot alter in place:
// the table is copied into its new shape and renamed, on both dialects alike.
// Rows written before sources were recorded get the reserved source `legacy`; an import adopts
// them as its own (see src/import/engine.ts), so an import in progress keeps working.
const LEGACY_SOURCE_ID = 'legacy';

export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('import_mappings_next')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('source_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('source_key', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('source_version', 'text')
    .addColumn('imported_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_mappings_source_pk', ['env_id', 'source_id', 'kind', 'source_key'])
    .execute();
  await sql`insert into import_mappings_next (env_id, source_id, kind, source_key, target_id, source_version, imported_at, updated_at)
    select env_id, ${LEGACY_SOURCE_ID}, kind, source_key, target_id, source_version, imported_at, updated_at from import_mappings`.execute(db);
  await db.schema.dropTable('import_mappings').execute();
  await db.schema.alterTable('import_mappings_next').renameTo('import_mappings').execute();
  // A key held by another source (a client id, a token hash) and the source of a user are looked up across sources.
  await db.schema.createIndex('import_mappings_by_key').on('import_mappings').columns(['env_id', 'kind', 'source_key']).execute();
  await db.schema.createIndex('import_mappings_by_target').on('import_mappings').columns(['env_id', 'kind', 'target_id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('import_mappings_previous')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull())
    .addColumn('source_key', 'text', (c) => c.notNull())
    .addColumn('target_id', 'text', (c) => c.notNull())
    .addColumn('source_version', 'text')
    .addColumn('imported_at', 'bigint', (c) => c.notNull())
    .addColumn('updated_at', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('import_mappings_pk', ['env_id', 'kind', 'source_key'])
    .execute();
  // Without sources, one key keeps one row: the earliest imported (the others' sources then re-import as new).
  await sql`insert into import_mappings_previous (env_id, kind, source_key, target_id, source_version, imported_at, updated_at)
    select m.env_id, m.kind, m.source_key, m.target_id, m.source_version, m.imported_at, m.updated_at from import_mappings m
    where not exists (select 1 from import_mappings o where o.env_id = m.env_id and o.kind = m.kind and o.source_key = m.source_key
      and (o.imported_at < m.imported_at or (o.imported_at = m.imported_at and o.source_id < m.source_id)))`.execute(db);
  await db.schema.dropTable('import_mappings').execute();
  await db.schema.alterTable('import_mappings_previous').renameTo('import_mappings').execute();
}
