import type { Kysely, Selectable } from 'kysely';
import type { ClientKey } from '../domain/model.ts';
import type { ClientKeyStore, UsedAssertionStore } from '../domain/storage.ts';
import type { ClientKeyTable, Database } from './schema.ts';

export const toClientKey = (row: Selectable<ClientKeyTable>): ClientKey => ({
  envId: row.env_id,
  kid: row.kid,
  clientId: row.client_id,
  alg: row.alg,
  publicJwk: JSON.parse(row.public_jwk) as Record<string, unknown>,
  createdAt: Number(row.created_at),
  revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
});

export function clientKeyStore(db: Kysely<Database>): ClientKeyStore {
  return {
    async insert(key) {
      await db
        .insertInto('client_keys')
        .values({
          env_id: key.envId,
          kid: key.kid,
          client_id: key.clientId,
          alg: key.alg,
          public_jwk: JSON.stringify(key.publicJwk),
          created_at: key.createdAt,
          revoked_at: key.revokedAt,
        })
        .execute();
    },
    async find(envId, kid) {
      const row = await db.selectFrom('client_keys').selectAll().where('env_id', '=', envId).where('kid', '=', kid).executeTakeFirst();
      return row && toClientKey(row);
    },
    async list(envId, clientId) {
      const rows = await db
        .selectFrom('client_keys')
        .selectAll()
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .orderBy('created_at', 'desc')
        .orderBy('kid')
        .execute();
      return rows.map(toClientKey);
    },
    async revoke(envId, clientId, kid, now) {
      const result = await db
        .updateTable('client_keys')
        .set({ revoked_at: now })
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where('kid', '=', kid)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
  };
}

export function usedAssertionStore(db: Kysely<Database>): UsedAssertionStore {
  return {
    async consume(envId, clientId, jti, expiresAt, now) {
      // One statement: a new jti is inserted; a recorded one is taken over only if its record
      // has expired. Either way one row changes; a live record changes nothing (a replay).
      const result = await db
        .insertInto('used_assertions')
        .values({ env_id: envId, client_id: clientId, jti, expires_at: expiresAt })
        .onConflict((oc) => oc.columns(['env_id', 'client_id', 'jti']).doUpdateSet({ expires_at: expiresAt }).where('used_assertions.expires_at', '<=', now))
        .executeTakeFirst();
      return Number(result.numInsertedOrUpdatedRows ?? 0n) === 1;
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('used_assertions').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
