import { type Kysely, sql, type Transaction } from 'kysely';
import type { LastUse, TokenCount, UsageStore, UsageSubject } from '../domain/storage.ts';
import { atomically } from './kysely-transaction.ts';
import type { Database } from './schema.ts';

/** Where each subject's `last_used_at` lives (migration 010) and the column naming it within its environment. */
const TARGETS: Record<UsageSubject, { table: string; id: string }> = {
  client: { table: 'clients', id: 'client_id' },
  client_secret: { table: 'client_secrets', id: 'id' },
  key: { table: 'client_keys', id: 'kid' },
  user: { table: 'users', id: 'user_id' },
};

// Rows are written in one fixed order, so concurrent flushes of several nodes lock them in the
// same order on PostgreSQL and cannot deadlock.
const SUBJECT_ORDER: UsageSubject[] = ['client', 'client_secret', 'key', 'user'];
const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const byLastUse = (a: LastUse, b: LastUse): number =>
  SUBJECT_ORDER.indexOf(a.subject) - SUBJECT_ORDER.indexOf(b.subject) || compare(a.envId, b.envId) || compare(a.id, b.id);
const byTokenCount = (a: TokenCount, b: TokenCount): number => compare(a.envId, b.envId) || compare(a.clientId, b.clientId) || compare(a.day, b.day);

export function usageStore(db: Kysely<Database>): UsageStore {
  return {
    async record(batch) {
      if (batch.lastUses.length === 0 && batch.tokenCounts.length === 0) return;
      await atomically(db, async (trx) => {
        for (const use of [...batch.lastUses].sort(byLastUse)) await markUsed(trx, use);
        for (const count of [...batch.tokenCounts].sort(byTokenCount)) await addTokenCount(trx, count);
      });
    },
    async lastUsed(subject, envId, clientId, ids) {
      const target = TARGETS[subject];
      const ofClient = clientId !== undefined && subject !== 'user' ? sql`and client_id = ${clientId}` : sql``;
      if (ids?.length === 0) return new Map();
      const only = ids === undefined ? sql`` : sql`and ${sql.ref(target.id)} in (${sql.join(ids)})`;
      const { rows } = await sql<{ id: string; at: number | string }>`
        select ${sql.ref(target.id)} as id, last_used_at as at from ${sql.table(target.table)}
        where env_id = ${envId} and last_used_at is not null ${ofClient} ${only}`.execute(db);
      return new Map(rows.map((row) => [row.id, Number(row.at)]));
    },
    async tokenCounts(envId, clientId, fromDay, toDay) {
      const rows = await db
        .selectFrom('token_counts')
        .select(['day', 'count'])
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where('day', '>=', fromDay)
        .where('day', '<=', toDay)
        .orderBy('day')
        .execute();
      return new Map(rows.map((row) => [row.day, Number(row.count)]));
    },
  };
}

/** The later of the stored time and `use.at`: one conditional update, a no-op for an unknown subject. */
async function markUsed(trx: Transaction<Database>, use: LastUse): Promise<void> {
  const target = TARGETS[use.subject];
  const at = sql`cast(${use.at} as bigint)`;
  await sql`
    update ${sql.table(target.table)}
    set last_used_at = case when last_used_at is null or last_used_at < ${at} then ${at} else last_used_at end
    where env_id = ${use.envId} and ${sql.ref(target.id)} = ${use.id}`.execute(trx);
}

/** Adds to the day's count, creating it at the first token: one upsert, so every node's counts add up. */
async function addTokenCount(trx: Transaction<Database>, count: TokenCount): Promise<void> {
  await trx
    .insertInto('token_counts')
    .values({ env_id: count.envId, client_id: count.clientId, day: count.day, count: count.count })
    .onConflict((oc) => oc.columns(['env_id', 'client_id', 'day']).doUpdateSet({ count: sql<number>`token_counts.count + excluded.count` }))
    .execute();
}
