import type { Kysely } from 'kysely';

// Back-Channel Logout 1.0 §2.5: the outbox of logout tokens. One row per client to tell of an
// ended session, leased by the node delivering it and deleted once delivered or given up. A row
// holds what the token is signed from at delivery time (client, subject, sid, jti as the id),
// never a signed token.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('backchannel_logouts')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('env_id', 'text', (c) => c.notNull())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('subject', 'text', (c) => c.notNull())
    .addColumn('sid', 'text')
    .addColumn('created_at', 'bigint', (c) => c.notNull())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'bigint')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('backchannel_logouts_due').on('backchannel_logouts').columns(['next_attempt_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('backchannel_logouts').execute();
}
