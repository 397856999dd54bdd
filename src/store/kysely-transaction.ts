import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Runs `work` in a transaction of its own, or inside the one `db` already is: a store built over
 * a transaction (`Store.transaction`) must not open another, so its multi-statement operations
 * join the caller's and commit or roll back with it.
 */
export function atomically<T>(db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? work(db as Transaction<Database>) : db.transaction().execute(work);
}

/** `EnvironmentStore.lock` in the transaction `db` is (a no-op on SQLite, whose write transactions are serial). */
export async function lockEnvironment(db: Kysely<Database>, envId: string, dialect: 'sqlite' | 'postgres'): Promise<void> {
  // NO KEY UPDATE: serialises with itself and with updates of the row, not with the KEY SHARE
  // locks taken by inserting rows that reference the environment (a client, a user, a key).
  if (dialect === 'postgres') await db.selectFrom('environments').select('id').where('id', '=', envId).forNoKeyUpdate().execute();
}
