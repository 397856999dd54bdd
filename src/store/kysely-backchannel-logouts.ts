import { type Kysely, type Selectable, sql } from 'kysely';
import type { BackchannelLogout, BackchannelLogoutDelivery, BackchannelLogoutStore } from '../domain/storage.ts';
import type { BackchannelLogoutTable, Database } from './schema.ts';

/** The last error of a delivery is a short reason; long ones are cut. */
const MAX_ERROR_LENGTH = 200;

const toLogout = (row: Selectable<BackchannelLogoutTable>): BackchannelLogout => ({
  id: row.id,
  envId: row.env_id,
  clientId: row.client_id,
  subject: row.subject,
  sid: row.sid,
  createdAt: Number(row.created_at),
});

/** Back-Channel Logout's outbox (migration 019), shared by every node through leases. */
export function backchannelLogoutStore(db: Kysely<Database>): BackchannelLogoutStore {
  return {
    async enqueue(logouts) {
      if (logouts.length === 0) return;
      await db
        .insertInto('backchannel_logouts')
        .values(
          logouts.map((logout) => ({
            id: logout.id,
            env_id: logout.envId,
            client_id: logout.clientId,
            subject: logout.subject,
            sid: logout.sid,
            created_at: logout.createdAt,
            attempts: 0,
            next_attempt_at: logout.createdAt,
            lease_until: null,
            last_error: null,
          })),
        )
        .execute();
    },
    claim: (now, leaseUntil, limit) => claimLogouts(db, now, leaseUntil, limit),
    async finish(id) {
      await db.deleteFrom('backchannel_logouts').where('id', '=', id).execute();
    },
    async retryLater(id, attempts, nextAttemptAt, error) {
      await db
        .updateTable('backchannel_logouts')
        .set({ next_attempt_at: nextAttemptAt, lease_until: null, last_error: error.slice(0, MAX_ERROR_LENGTH) })
        .where('id', '=', id)
        // The attempt count names the claim: a node whose lease ran out and was claimed again leaves the row alone.
        .where('attempts', '=', attempts)
        .execute();
    },
    async pending() {
      const row = await db.selectFrom('backchannel_logouts').select(sql<number>`count(*)`.as('n')).executeTakeFirstOrThrow();
      return Number(row.n);
    },
  };
}

/**
 * One UPDATE … RETURNING whose WHERE repeats the due-and-free test: on PostgreSQL a row another
 * node leased meanwhile is re-checked after that node's commit and skipped; SQLite runs one
 * writer at a time. The oldest due logouts go first.
 */
async function claimLogouts(db: Kysely<Database>, now: number, leaseUntil: number, limit: number): Promise<BackchannelLogoutDelivery[]> {
  const due = db
    .selectFrom('backchannel_logouts')
    .select('id')
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
    .orderBy('next_attempt_at')
    .limit(limit);
  const rows = await db
    .updateTable('backchannel_logouts')
    .set({ lease_until: leaseUntil, attempts: sql<number>`attempts + 1` })
    .where('id', 'in', due)
    .where('next_attempt_at', '<=', now)
    .where((eb) => eb.or([eb('lease_until', 'is', null), eb('lease_until', '<=', now)]))
    .returningAll()
    .execute();
  return rows
    .map((row) => ({ logout: toLogout(row), attempts: Number(row.attempts) }))
    .sort((a, b) => a.logout.createdAt - b.logout.createdAt || a.logout.id.localeCompare(b.logout.id));
}
