import type { Kysely } from 'kysely';

// Fixed-window counters shared by every node (failed client authentications, request quotas),
// and the optional request quota of a client and the default quota of an environment.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('rate_counters')
    .addColumn('key_hash', 'text', (c) => c.primaryKey())
    .addColumn('window_start', 'bigint', (c) => c.notNull())
    .addColumn('count', 'integer', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('rate_counters_by_window').on('rate_counters').column('window_start').execute();
  await db.schema.alterTable('clients').addColumn('quota', 'integer').execute();
  await db.schema.alterTable('environments').addColumn('default_quota', 'integer').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('environments').dropColumn('default_quota').execute();
  await db.schema.alterTable('clients').dropColumn('quota').execute();
  await db.schema.dropTable('rate_counters').execute();
}
