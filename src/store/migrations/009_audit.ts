import type { Kysely } from 'kysely';

// Audit events, listed newest first by time, environment or type; and the webhook outbox: one
// row per event to deliver, leased by the node delivering it, kept until retention deletes the event.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('time', 'bigint', (c) => c.notNull())
    .addColumn('env_id', 'text')
    .addColumn('env_name', 'text')
    .addColumn('actor_kind', 'text', (c) => c.notNull())
    .addColumn('actor_id', 'text', (c) => c.notNull())
    .addColumn('subject_kind', 'text', (c) => c.notNull())
    .addColumn('subject_id', 'text', (c) => c.notNull())
    .addColumn('outcome', 'text', (c) => c.notNull())
    .addColumn('details', 'text', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('audit_events_time').on('audit_events').columns(['time']).execute();
  await db.schema.createIndex('audit_events_env_time').on('audit_events').columns(['env_name', 'time']).execute();
  await db.schema.createIndex('audit_events_type_time').on('audit_events').columns(['type', 'time']).execute();
  await db.schema
    .createTable('audit_outbox')
    .addColumn('event_id', 'text', (c) => c.primaryKey())
    .addColumn('attempts', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'bigint', (c) => c.notNull())
    .addColumn('lease_until', 'bigint')
    .addColumn('delivered_at', 'bigint')
    .addColumn('last_error', 'text')
    .execute();
  await db.schema.createIndex('audit_outbox_due').on('audit_outbox').columns(['delivered_at', 'next_attempt_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('audit_outbox').execute();
  await db.schema.dropTable('audit_events').execute();
}
