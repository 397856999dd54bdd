import { type Kysely, type Selectable, sql } from 'kysely';
import type { OpaqueAccessToken, RevokedJwt } from '../domain/model.ts';
import type { AccessTokenStore, RevokedJwtStore } from '../domain/storage.ts';
import { compiledOnce, placeholder } from './compiled-once.ts';
import { bindingFields, type Dialect, listField, opaqueAccessTokenRow, preparedOn } from './kysely-authorization.ts';
import type { Database } from './schema.ts';

export function accessTokenStore(db: Kysely<Database>): AccessTokenStore {
  // Compiled once: opaque introspection runs it on every request.
  const byHash = compiledOnce<'hash' | 'env'>(
    db.selectFrom('access_tokens').selectAll().where('token_hash', '=', placeholder('hash')).where('env_id', '=', placeholder('env')),
  );
  return {
    async insert(token) {
      await db.insertInto('access_tokens').values(opaqueAccessTokenRow(token, null)).execute();
    },
    async findByHash(envId, tokenHash) {
      const [row] = (await db.executeQuery<Selectable<Database['access_tokens']>>(byHash({ hash: tokenHash, env: envId }))).rows;
      if (!row) return undefined;
      return {
        tokenHash: row.token_hash,
        envId: row.env_id,
        clientId: row.client_id,
        subject: row.subject,
        scope: row.scope,
        jti: row.jti,
        issuedAt: Number(row.issued_at),
        expiresAt: Number(row.expires_at),
        revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
        ...listField('audience', row.audience),
        ...bindingFields(row),
      } satisfies OpaqueAccessToken;
    },
    async revoke(envId, tokenHash, clientId, now) {
      const result = await db
        .updateTable('access_tokens')
        .set({ revoked_at: now })
        .where('token_hash', '=', tokenHash)
        .where('env_id', '=', envId)
        .where('client_id', '=', clientId)
        .where('revoked_at', 'is', null)
        .executeTakeFirst();
      return Number(result.numUpdatedRows) > 0;
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('access_tokens').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

const truthy = (value: unknown): boolean => value === true || Number(value) === 1;

export function revokedJwtStore(db: Kysely<Database>, dialect: Dialect): RevokedJwtStore {
  // Compiled once, and prepared once per connection on PostgreSQL: JWT introspection runs it on every request.
  const withdrawn = compiledOnce<'env' | 'jti' | 'kid'>(
    db
      .selectNoFrom((eb) => [
        eb
          .exists(eb.selectFrom('revoked_jwts').select(sql<number>`1`.as('one')).where('env_id', '=', placeholder('env')).where('jti', '=', placeholder('jti')))
          .as('jwt'),
        eb
          .exists(
            eb
              .selectFrom('signing_keys')
              .select(sql<number>`1`.as('one'))
              .where('env_id', '=', placeholder('env'))
              .where('kid', '=', placeholder('kid'))
              .where('revoked_at', 'is not', null),
          )
          .as('key'),
      ])
      .$call(preparedOn(dialect)),
  );
  return {
    async insert(entry: RevokedJwt) {
      await db
        .insertInto('revoked_jwts')
        .values({ env_id: entry.envId, jti: entry.jti, client_id: entry.clientId, expires_at: entry.expiresAt, revoked_at: entry.revokedAt })
        .onConflict((oc) => oc.columns(['env_id', 'jti']).doNothing())
        .execute();
    },
    async isWithdrawn(envId, jti, kid) {
      const [row] = (await db.executeQuery<{ jwt: unknown; key: unknown }>(withdrawn({ env: envId, jti, kid }))).rows;
      // PostgreSQL answers booleans, SQLite 0 or 1.
      return row !== undefined && (truthy(row.jwt) || truthy(row.key));
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('revoked_jwts').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
