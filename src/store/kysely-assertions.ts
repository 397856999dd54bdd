import { type Kysely, type Selectable, sql } from 'kysely';
import type { ClientKey } from '../domain/model.ts';
import type { ClientKeyStore, UsedAssertionStore } from '../domain/storage.ts';
import { compiledOnce, placeholder } from './compiled-once.ts';
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
  // Every assertion reads its key: built and compiled once (building the query cost as much as running it).
  const findKey = compiledOnce<'env' | 'kid'>(
    db.selectFrom('client_keys').selectAll().where('env_id', '=', placeholder('env')).where('kid', '=', placeholder('kid')),
  );
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
      const [row] = (await db.executeQuery<Selectable<ClientKeyTable>>(findKey({ env: envId, kid }))).rows;
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

/** Built and compiled once: every assertion and every DPoP proof spends its jti here. */
function consumeStatements(db: Kysely<Database>) {
  const consume = compiledOnce<'env' | 'client' | 'jti' | 'expiresAt' | 'now'>(
    db
      .insertInto('used_assertions')
      .values({ env_id: placeholder('env'), client_id: placeholder('client'), jti: placeholder('jti'), expires_at: placeholder('expiresAt') as never })
      .onConflict((oc) =>
        oc
          .columns(['env_id', 'client_id', 'jti'])
          .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
          .where('used_assertions.expires_at', '<=', placeholder('now') as never),
      ),
  );
  // The same, only while `kid` is a key of the client that is not revoked and the client is
  // enabled: one statement checks both and spends the jti, so a key revoked or an account
  // disabled on any node stops working at once.
  const consumeWithKey = compiledOnce<'env' | 'client' | 'jti' | 'expiresAt' | 'now' | 'kid'>(
    db
      .insertInto('used_assertions')
      .columns(['env_id', 'client_id', 'jti', 'expires_at'])
      .expression(
        db
          .selectNoFrom([
            sql<string>`${placeholder('env')}`.as('env_id'),
            sql<string>`${placeholder('client')}`.as('client_id'),
            sql<string>`${placeholder('jti')}`.as('jti'),
            sql<number>`cast(${placeholder('expiresAt')} as bigint)`.as('expires_at'),
          ])
          .where(({ exists, selectFrom }) =>
            exists(
              selectFrom('client_keys as k')
                .innerJoin('clients as c', (join) => join.onRef('c.env_id', '=', 'k.env_id').onRef('c.client_id', '=', 'k.client_id'))
                .select('k.kid')
                .where('k.env_id', '=', placeholder('env'))
                .where('k.client_id', '=', placeholder('client'))
                .where('k.kid', '=', placeholder('kid'))
                .where('k.revoked_at', 'is', null)
                .where('c.enabled', '=', sql<number>`1`),
            ),
          ),
      )
      .onConflict((oc) =>
        oc
          .columns(['env_id', 'client_id', 'jti'])
          .doUpdateSet({ expires_at: (eb) => eb.ref('excluded.expires_at') })
          .where('used_assertions.expires_at', '<=', placeholder('now') as never),
      ),
  );
  return { consume, consumeWithKey };
}

export function usedAssertionStore(db: Kysely<Database>): UsedAssertionStore {
  const { consume, consumeWithKey } = consumeStatements(db);
  const changed = (result: { numAffectedRows?: bigint }) => Number(result.numAffectedRows ?? 0n) === 1;
  return {
    async consume(envId, clientId, jti, expiresAt, now) {
      // One statement: a new jti is inserted; a recorded one is taken over only if its record
      // has expired. Either way one row changes; a live record changes nothing (a replay).
      return changed(await db.executeQuery(consume({ env: envId, client: clientId, jti, expiresAt, now })));
    },
    async consumeWithKey(envId, clientId, kid, jti, expiresAt, now) {
      if (changed(await db.executeQuery(consumeWithKey({ env: envId, client: clientId, jti, expiresAt, now, kid })))) return 'consumed';
      // Refused: say why (only on this path, off the hot one).
      const row = await db
        .selectFrom('client_keys as k')
        .innerJoin('clients as c', (join) => join.onRef('c.env_id', '=', 'k.env_id').onRef('c.client_id', '=', 'k.client_id'))
        .select(['k.revoked_at', 'c.enabled'])
        .where('k.env_id', '=', envId)
        .where('k.client_id', '=', clientId)
        .where('k.kid', '=', kid)
        .executeTakeFirst();
      if (!row || row.revoked_at !== null) return 'key_revoked';
      return Number(row.enabled) === 1 ? 'replayed' : 'owner_disabled';
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('used_assertions').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
