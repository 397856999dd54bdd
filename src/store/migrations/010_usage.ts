import type { Kysely } from 'kysely';

// When each client, client secret, client key and user was last used, and how many access tokens
// each client got per UTC day (`day` as YYYY-MM-DD). Written in batches by each node, never on
// the request itself; null: not used since this migration.
export async function up(db: Kysely<unknown>): Promise<void> {
  for (const table of ['clients', 'client_secrets', 'client_keys', 'users']) {
    await db.schema.alterTable(table).addColumn('last_used_at', 'bigint').execute();
  }
  await db.schema
    .createTable('token_counts')
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('day', 'text', (c) => c.notNull())
    .addColumn('count', 'bigint', (c) => c.notNull())
    .addPrimaryKeyConstraint('token_counts_pk', ['env_id', 'client_id', 'day'])
    .execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('token_counts').execute();
  for (const table of ['users', 'client_keys', 'client_secrets', 'clients']) {
    await db.schema.alterTable(table).dropColumn('last_used_at').execute();
  }
}
