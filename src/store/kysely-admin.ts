import type { Kysely, Selectable } from 'kysely';
import type { IdempotencyKeyStore, IdempotencyRecord, TokenFamilyStore } from '../domain/storage.ts';
import { atomically } from './kysely-transaction.ts';
import type { ClientTable, Database, IdempotencyKeyTable } from './schema.ts';

/** `ClientStore.update`: every column of `row` but the ids, kind and creation time. */
export async function updateClientRow(db: Kysely<Database>, row: ClientTable, expectedUpdatedAt?: number): Promise<boolean> {
  const { env_id, client_id, kind: _kind, created_at: _created, ...changed } = row;
  let query = db.updateTable('clients').set(changed).where('env_id', '=', env_id).where('client_id', '=', client_id);
  if (expectedUpdatedAt !== undefined) query = query.where('updated_at', '=', expectedUpdatedAt);
  const result = await query.executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/** `ClientStore.expireSecret`: the secret's expiry becomes `now` if it was later or unset. */
export async function expireClientSecret(db: Kysely<Database>, envId: string, clientId: string, secretId: string, now: number): Promise<boolean> {
  const result = await db
    .updateTable('client_secrets')
    .set({ expires_at: now })
    .where('env_id', '=', envId)
    .where('client_id', '=', clientId)
    .where('id', '=', secretId)
    .where((eb) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]))
    .executeTakeFirst();
  return Number(result.numUpdatedRows) > 0;
}

/**
 * `ClientStore.delete`. The token families are revoked first, each in its own transaction as
 * `TokenFamilyStore.revoke` does (so their JWTs are remembered as revoked); then the client goes.
 */
export async function deleteClientRows(db: Kysely<Database>, families: TokenFamilyStore, envId: string, clientId: string, now: number): Promise<boolean> {
  const exists = await db.selectFrom('clients').select('client_id').where('env_id', '=', envId).where('client_id', '=', clientId).executeTakeFirst();
  if (!exists) return false;
  const live = await db
    .selectFrom('token_families')
    .select('family_id')
    .where('env_id', '=', envId)
    .where('client_id', '=', clientId)
    .where('revoked_at', 'is', null)
    .execute();
  for (const { family_id } of live) await families.revoke(envId, family_id, now);
  return atomically(db, async (trx) => {
    await trx
      .updateTable('access_tokens')
      .set({ revoked_at: now })
      .where('env_id', '=', envId)
      .where('client_id', '=', clientId)
      .where('revoked_at', 'is', null)
      .execute();
    await trx.deleteFrom('client_secrets').where('env_id', '=', envId).where('client_id', '=', clientId).execute();
    await trx.deleteFrom('client_keys').where('env_id', '=', envId).where('client_id', '=', clientId).execute();
    await trx.deleteFrom('consents').where('env_id', '=', envId).where('client_id', '=', clientId).execute();
    // RFC 7592 §2.3: a deleted client's registration access token stops working with it.
    await trx.deleteFrom('client_registrations').where('env_id', '=', envId).where('client_id', '=', clientId).execute();
    const apis = await trx.selectFrom('apis').select(['identifier', 'client_ids']).where('env_id', '=', envId).execute();
    for (const api of apis) {
      const ids = JSON.parse(api.client_ids) as string[];
      if (!ids.includes(clientId)) continue;
      const kept = JSON.stringify(ids.filter((id) => id !== clientId));
      await trx.updateTable('apis').set({ client_ids: kept, updated_at: now }).where('env_id', '=', envId).where('identifier', '=', api.identifier).execute();
    }
    const deleted = await trx.deleteFrom('clients').where('env_id', '=', envId).where('client_id', '=', clientId).executeTakeFirst();
    return Number(deleted.numDeletedRows) > 0;
  });
}

const toRecord = (row: Selectable<IdempotencyKeyTable>): IdempotencyRecord => ({
  keyHash: row.key_hash,
  requestHash: row.request_hash,
  status: row.status === null ? null : Number(row.status),
  response: row.response,
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
});

export function idempotencyKeyStore(db: Kysely<Database>): IdempotencyKeyStore {
  return {
    async reserve(record, now) {
      // One statement: a new key is inserted; an expired record is taken over; a live one wins.
      const result = await db
        .insertInto('idempotency_keys')
        .values({
          key_hash: record.keyHash,
          request_hash: record.requestHash,
          status: record.status,
          response: record.response,
          created_at: record.createdAt,
          expires_at: record.expiresAt,
        })
        .onConflict((oc) =>
          oc
            .column('key_hash')
            .doUpdateSet({ request_hash: record.requestHash, status: null, response: null, created_at: record.createdAt, expires_at: record.expiresAt })
            .where('idempotency_keys.expires_at', '<=', now),
        )
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async find(keyHash, now) {
      const row = await db.selectFrom('idempotency_keys').selectAll().where('key_hash', '=', keyHash).where('expires_at', '>', now).executeTakeFirst();
      return row && toRecord(row);
    },
    async complete(keyHash, status, response) {
      await db.updateTable('idempotency_keys').set({ status, response }).where('key_hash', '=', keyHash).execute();
    },
    async release(keyHash) {
      await db.deleteFrom('idempotency_keys').where('key_hash', '=', keyHash).where('status', 'is', null).execute();
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('idempotency_keys').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
