import { type Kysely, type Selectable, sql } from 'kysely';
import type { AuditDetails, AuditEvent, AuditEventType } from '../domain/audit.ts';
import type { AuditStore } from '../domain/storage.ts';
import { atomically } from './kysely-transaction.ts';
import type { AuditEventTable, Database } from './schema.ts';

const toEvent = (row: Selectable<AuditEventTable>): AuditEvent => ({
  id: row.id,
  type: row.type as AuditEventType,
  time: Number(row.time),
  environment: row.env_id === null ? null : { id: row.env_id, name: row.env_name ?? '' },
  actor: { kind: row.actor_kind, id: row.actor_id },
  subject: { kind: row.subject_kind, id: row.subject_id },
  outcome: row.outcome,
  details: JSON.parse(row.details) as AuditDetails,
});

const eventRow = (event: AuditEvent): AuditEventTable => ({
  id: event.id,
  type: event.type,
  time: event.time,
  env_id: event.environment?.id ?? null,
  env_name: event.environment?.name ?? null,
  actor_kind: event.actor.kind,
  actor_id: event.actor.id,
  subject_kind: event.subject.kind,
  subject_id: event.subject.id,
  outcome: event.outcome,
  details: JSON.stringify(event.details),
});

/** The last error of a delivery is a short reason; long ones are cut. */
const MAX_ERROR_LENGTH = 200;

export function auditStore(db: Kysely<Database>): AuditStore {
  return {
    async insert(event, outbox) {
      await atomically(db, async (trx) => {
        await trx.insertInto('audit_events').values(eventRow(event)).execute();
        if (outbox) await trx.insertInto('audit_outbox').values({ event_id: event.id, attempts: 0, next_attempt_at: event.time }).execute();
      });
    },
    async list(filter) {
      let query = db.selectFrom('audit_events').selectAll();
      if (filter.envName !== undefined) query = query.where('env_name', '=', filter.envName);
      if (filter.type !== undefined) query = query.where('type', '=', filter.type);
      if (filter.since !== undefined) query = query.where('time', '>=', filter.since);
      const rows = await query.orderBy('time', 'desc').orderBy('id', 'desc').limit(filter.limit).execute();
      return rows.map(toEvent);
    },
    claimDeliveries: (now, leaseUntil, limit) => claimDeliveries(db, now, leaseUntil, limit),
    async markDelivered(eventId, now) {
      await db.updateTable('audit_outbox').set({ delivered_at: now, lease_until: null, last_error: null }).where('event_id', '=', eventId).execute();
    },
    async markFailed(eventId, nextAttemptAt, error) {
      await db
        .updateTable('audit_outbox')
        .set({ next_attempt_at: nextAttemptAt, lease_until: null, last_error: error.slice(0, MAX_ERROR_LENGTH) })
        .where('event_id', '=', eventId)
        .where('delivered_at', 'is', null)
        .execute();
    },
    async deleteBefore(before) {
      return atomically(db, async (trx) => {
        const old = trx.selectFrom('audit_events').select('id').where('time', '<', before);
        await trx.deleteFrom('audit_outbox').where('event_id', 'in', old).execute();
        const result = await trx.deleteFrom('audit_events').where('time', '<', before).executeTakeFirst();
        return Number(result.numDeletedRows);
      });
    },
    async pendingDeliveries() {
      const row = await db.selectFrom('audit_outbox').select(sql<number>`count(*)`.as('n')).where('delivered_at', 'is', null).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

/**
 * One UPDATE … RETURNING whose WHERE repeats the due-and-free test: on PostgreSQL a row another
 * node leased meanwhile is re-checked after that node's commit and skipped; SQLite runs one
 * writer at a time. The oldest due deliveries go first.
 */
async function claimDeliveries(db: Kysely<Database>, now: number, leaseUntil: number, limit: number) {
  const due = db
    .selectFrom('audit_outbox')
    .select('event_id')
    .where('delivered_at', 'is', null)
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
    .orderBy('next_attempt_at')
    .limit(limit);
  const claimed = await db
    .updateTable('audit_outbox')
    .set({ lease_until: leaseUntil, attempts: sql<number>`attempts + 1` })
    .where('event_id', 'in', due)
    .where('delivered_at', 'is', null)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
    .returning(['event_id', 'attempts'])
    .execute();
  if (claimed.length === 0) return [];
  const attempts = new Map(claimed.map((row) => [row.event_id, Number(row.attempts)]));
  const rows = await db
    .selectFrom('audit_events')
    .selectAll()
    .where('id', 'in', [...attempts.keys()])
    .orderBy('time')
    .orderBy('id')
    .execute();
  return rows.map((row) => ({ event: toEvent(row), attempts: attempts.get(row.id) ?? 1 }));
}
