import { type CompiledQuery, type Kysely, type RawBuilder, type Selectable, sql, type Transaction } from 'kysely';
import type { FamilyAccessToken, PendingAuthorization, PendingOidc } from '../domain/model.ts';
import type { AuthorizationCodeStore, AuthorizationRequestStore, FamilyIssue } from '../domain/storage.ts';
import { type FamilyStatements, familyStatements } from './family-statements.ts';
import { familyRow, jsonColumn, jsonField, listColumn, listField, opaqueAccessTokenRow, refreshTokenRow, toCode, words } from './kysely-authorization-rows.ts';
import { atomically } from './kysely-transaction.ts';
import { redeemInOneStatement } from './postgres-family-writes.ts';
import { PREPARED_MARK } from './postgres-pool.ts';
import type { AuthorizationCodeTable, AuthorizationRequestTable, Database } from './schema.ts';

export { bindingFields, familyRow, listColumn, listField, opaqueAccessTokenRow, refreshTokenRow, words } from './kysely-authorization-rows.ts';

export type Dialect = 'sqlite' | 'postgres';

// The grants' reads name their columns (no `*`): a prepared statement's result type must not
// change when a migration adds a column while a node runs.
const CODE_COLUMNS = [
  'code_hash',
  'env_id',
  'client_id',
  'user_id',
  'redirect_uri',
  'scope',
  'code_challenge',
  'family_id',
  'resources',
  'issued_at',
  'expires_at',
  'consumed_at',
  'oidc',
  'dpop_jkt',
] as const satisfies readonly (keyof AuthorizationCodeTable)[];

/** On PostgreSQL, a grant's read is prepared once per connection (see `PREPARED_MARK`). */
export const preparedOn =
  (dialect: Dialect) =>
  <Q extends { modifyEnd(modifier: RawBuilder<unknown>): Q }>(query: Q): Q =>
    dialect === 'postgres' ? query.modifyEnd(sql.raw(PREPARED_MARK)) : query;

const toRequest = (row: Selectable<AuthorizationRequestTable>): PendingAuthorization => ({
  idHash: row.id_hash,
  envId: row.env_id,
  sessionIdHash: row.session_id_hash,
  clientId: row.client_id,
  redirectUri: row.redirect_uri,
  scope: words(row.scope),
  state: row.state,
  // The column is NOT NULL (migration 004); '' stands for "no challenge".
  codeChallenge: row.code_challenge === '' ? null : row.code_challenge,
  ...listField('resources', row.resources),
  createdAt: Number(row.created_at),
  expiresAt: Number(row.expires_at),
  ...jsonField<'oidc', PendingOidc>('oidc', row.oidc),
  ...(row.device_code_hash === null ? {} : { deviceCodeHash: row.device_code_hash }),
  ...(row.dpop_jkt === null ? {} : { dpopJkt: row.dpop_jkt }),
});

export function authorizationRequestStore(db: Kysely<Database>): AuthorizationRequestStore {
  return {
    async insert(request) {
      await db
        .insertInto('authorization_requests')
        .values({
          id_hash: request.idHash,
          env_id: request.envId,
          session_id_hash: request.sessionIdHash,
          client_id: request.clientId,
          redirect_uri: request.redirectUri,
          scope: request.scope.join(' '),
          state: request.state,
          code_challenge: request.codeChallenge ?? '',
          resources: listColumn(request.resources),
          created_at: request.createdAt,
          expires_at: request.expiresAt,
          oidc: jsonColumn(request.oidc),
          device_code_hash: request.deviceCodeHash ?? null,
          dpop_jkt: request.dpopJkt ?? null,
        })
        .execute();
    },
    async find(envId, idHash, sessionIdHash, now) {
      const row = await db
        .selectFrom('authorization_requests')
        .selectAll()
        .where('id_hash', '=', idHash)
        .where('env_id', '=', envId)
        .where('session_id_hash', '=', sessionIdHash)
        .where('expires_at', '>', now)
        .executeTakeFirst();
      return row && toRequest(row);
    },
    async take(envId, idHash, sessionIdHash) {
      const result = await db
        .deleteFrom('authorization_requests')
        .where('id_hash', '=', idHash)
        .where('env_id', '=', envId)
        .where('session_id_hash', '=', sessionIdHash)
        .executeTakeFirst();
      return Number(result.numDeletedRows) === 1;
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('authorization_requests').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}

/** Writes the tokens of one issuance into its family, inside the caller's transaction. */
export async function recordIssue(trx: Transaction<Database>, envId: string, familyId: string, issue: FamilyIssue): Promise<void> {
  const statements = familyStatements(trx);
  const { refreshToken, accessToken } = issue;
  if (refreshToken) await trx.executeQuery(statements.insertRefreshToken(refreshTokenRow(envId, familyId, refreshToken)));
  await trx.executeQuery(recordAccessToken(statements, envId, familyId, accessToken));
}

function recordAccessToken(statements: FamilyStatements, envId: string, familyId: string, token: FamilyAccessToken): CompiledQuery {
  const { opaque } = token;
  if (opaque) return statements.insertOpaqueToken(opaqueAccessTokenRow(opaque, familyId));
  return statements.insertFamilyJwt({ env_id: envId, jti: token.jti, family_id: familyId, expires_at: token.expiresAt });
}

export function authorizationCodeStore(db: Kysely<Database>, dialect: Dialect): AuthorizationCodeStore {
  return {
    async insert(code) {
      await db
        .insertInto('authorization_codes')
        .values({
          code_hash: code.codeHash,
          env_id: code.envId,
          client_id: code.clientId,
          user_id: code.userId,
          redirect_uri: code.redirectUri,
          scope: code.scope.join(' '),
          code_challenge: code.codeChallenge,
          family_id: code.familyId,
          resources: listColumn(code.resources),
          issued_at: code.issuedAt,
          expires_at: code.expiresAt,
          consumed_at: null,
          oidc: jsonColumn(code.oidc),
          dpop_jkt: code.dpopJkt ?? null,
        })
        .execute();
    },
    async find(envId, codeHash) {
      const row = await db.selectFrom('authorization_codes').selectAll().where('code_hash', '=', codeHash).where('env_id', '=', envId).executeTakeFirst();
      return row && toCode(row);
    },
    async findForRedemption(envId, codeHash) {
      const row = await db
        .selectFrom('authorization_codes as c')
        .leftJoin('users as u', (join) => join.onRef('u.env_id', '=', 'c.env_id').onRef('u.user_id', '=', 'c.user_id'))
        .select(CODE_COLUMNS.map((column) => `c.${column}` as const))
        .select('u.enabled as user_enabled')
        .where('c.code_hash', '=', codeHash)
        .where('c.env_id', '=', envId)
        .$call(preparedOn(dialect))
        .executeTakeFirst();
      return row && { code: toCode(row), userActive: Number(row.user_enabled) === 1 };
    },
    async redeem(envId, codeHash, now, family, issue) {
      // PostgreSQL: one round trip. SQLite is in-process, where a transaction costs nothing extra.
      if (dialect === 'postgres') return redeemInOneStatement(db, 'authorization_code', envId, codeHash, now, family, issue);
      const statements = familyStatements(db);
      return atomically(db, async (trx) => {
        // The conditional update comes first, so the transaction holds the write lock before it
        // reads anything (SQLite) and concurrent redemptions queue on the row lock (PostgreSQL).
        const consumed = await trx.executeQuery(statements.consumeCode({ now, hash: codeHash, env: envId }));
        if (Number(consumed.numAffectedRows) !== 1) return false;
        await trx.executeQuery(statements.insertFamily(familyRow(envId, family)));
        await recordIssue(trx, envId, family.familyId, issue);
        return true;
      });
    },
    async deleteExpired(before) {
      const result = await db.deleteFrom('authorization_codes').where('expires_at', '<', before).executeTakeFirst();
      return Number(result.numDeletedRows);
    },
  };
}
