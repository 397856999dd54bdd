import { type Kysely, type RawBuilder, type Selectable, sql, type Transaction } from 'kysely';
import type { FamilyAccessToken, PendingAuthorization, PendingOidc } from '../domain/model.ts';
import type { AuthorizationCodeStore, AuthorizationRequestStore, FamilyIssue, RotationRetry, TokenFamilyStore } from '../domain/storage.ts';
import {
  familyRow,
  jsonColumn,
  jsonField,
  listColumn,
  listField,
  opaqueAccessTokenRow,
  refreshTokenRow,
  toCode,
  toFamily,
  toRefreshToken,
  words,
} from './kysely-authorization-rows.ts';
import { deleteExpiredRetries, deleteFamilyRetries, findRotationRetry, replaceRotationRetry } from './kysely-refresh-retries.ts';
import { atomically } from './kysely-transaction.ts';
import { redeemInOneStatement, rotateInOneStatement } from './postgres-family-writes.ts';
import { PREPARED_MARK } from './postgres-pool.ts';
import type { AuthorizationCodeTable, AuthorizationRequestTable, Database, RefreshTokenTable } from './schema.ts';

export { bindingFields, familyRow, listColumn, listField, opaqueAccessTokenRow, refreshTokenRow, words } from './kysely-authorization-rows.ts';

type Dialect = 'sqlite' | 'postgres';

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
const REFRESH_TOKEN_COLUMNS = [
  'token_hash',
  'env_id',
  'family_id',
  'client_id',
  'user_id',
  'issued_at',
  'expires_at',
  'rotated_at',
  'revoked_at',
] as const satisfies readonly (keyof RefreshTokenTable)[];

/** On PostgreSQL, a grant's read is prepared once per connection (see `PREPARED_MARK`). */
const preparedOn =
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
  const { refreshToken, accessToken } = issue;
  if (refreshToken) {
    await trx
      .insertInto('refresh_tokens')
      .values(refreshTokenRow(envId, familyId, refreshToken))
      .execute();
  }
  await recordAccessToken(trx, envId, familyId, accessToken);
}

async function recordAccessToken(trx: Transaction<Database>, envId: string, familyId: string, token: FamilyAccessToken): Promise<void> {
  const { opaque } = token;
  if (opaque) {
    await trx.insertInto('access_tokens').values(opaqueAccessTokenRow(opaque, familyId)).execute();
    return;
  }
  await trx.insertInto('family_access_tokens').values({ env_id: envId, jti: token.jti, family_id: familyId, expires_at: token.expiresAt }).execute();
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
      if (dialect === 'postgres') return redeemInOneStatement(db, envId, codeHash, now, family, issue);
      return atomically(db, async (trx) => {
        // The conditional update comes first, so the transaction holds the write lock before it
        // reads anything (SQLite) and concurrent redemptions queue on the row lock (PostgreSQL).
        const consumed = await trx
          .updateTable('authorization_codes')
          .set({ consumed_at: now })
          .where('code_hash', '=', codeHash)
          .where('env_id', '=', envId)
          .where('consumed_at', 'is', null)
          .executeTakeFirst();
        if (Number(consumed.numUpdatedRows) !== 1) return false;
        await trx.insertInto('token_families').values(familyRow(envId, family)).execute();
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

export function tokenFamilyStore(db: Kysely<Database>, dialect: Dialect): TokenFamilyStore {
  const store: TokenFamilyStore = {
    async find(envId, familyId) {
      const row = await db.selectFrom('token_families').selectAll().where('family_id', '=', familyId).where('env_id', '=', envId).executeTakeFirst();
      return row && toFamily(row);
    },
    async findRefreshToken(envId, tokenHash) {
      const row = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).where('env_id', '=', envId).executeTakeFirst();
      return row && toRefreshToken(row);
    },
    findForRotation: (envId, tokenHash) => findForRotation(db, dialect, envId, tokenHash),
    rotate: (envId, familyId, presentedHash, now, issue, retry) =>
      dialect === 'postgres'
        ? rotateInOneStatement(db, envId, familyId, presentedHash, now, issue, retry)
        : rotateRefreshToken(db, envId, familyId, presentedHash, now, issue, retry),
    findRetry: (envId, presentedHash, requestHash, now) => findRotationRetry(db, envId, presentedHash, requestHash, now),
    async revokeForUser(envId, userId, now) {
      const families = await db
        .selectFrom('token_families')
        .select('family_id')
        .where('env_id', '=', envId)
        .where('user_id', '=', userId)
        .where('revoked_at', 'is', null)
        .execute();
      for (const { family_id } of families) await store.revoke(envId, family_id, now);
      return families.length;
    },
    revoke: (envId, familyId, now) => revokeFamily(db, envId, familyId, now),
    async listBySid(envId, sid) {
      const rows = await db
        .selectFrom('token_families')
        .selectAll()
        .where('env_id', '=', envId)
        .where('sid', '=', sid)
        .orderBy('created_at')
        .orderBy('family_id')
        .execute();
      return rows.map(toFamily);
    },
    deleteExpired: (before) => deleteExpiredFamilies(db, before),
  };
  return store;
}

/** `TokenFamilyStore.findForRotation`: the token, its family and its user, read at one instant. */
async function findForRotation(db: Kysely<Database>, dialect: Dialect, envId: string, tokenHash: string) {
  const row = await db
    .selectFrom('refresh_tokens as t')
    .leftJoin('token_families as f', (join) => join.onRef('f.family_id', '=', 't.family_id').onRef('f.env_id', '=', 't.env_id'))
    .leftJoin('users as u', (join) => join.onRef('u.env_id', '=', 't.env_id').onRef('u.user_id', '=', 't.user_id'))
    .select(REFRESH_TOKEN_COLUMNS.map((column) => `t.${column}` as const))
    .select([
      'f.family_id as f_family_id',
      'f.client_id as f_client_id',
      'f.user_id as f_user_id',
      'f.scope as f_scope',
      'f.resources as f_resources',
      'f.created_at as f_created_at',
      'f.expires_at as f_expires_at',
      'f.revoked_at as f_revoked_at',
      'f.sid as f_sid',
      'f.oidc as f_oidc',
      'f.dpop_jkt as f_dpop_jkt',
      'u.enabled as user_enabled',
    ])
    .where('t.token_hash', '=', tokenHash)
    .where('t.env_id', '=', envId)
    .$call(preparedOn(dialect))
    .executeTakeFirst();
  if (!row) return undefined;
  const family =
    row.f_family_id === null
      ? undefined
      : toFamily({
          family_id: row.f_family_id,
          env_id: row.env_id,
          client_id: row.f_client_id as string,
          user_id: row.f_user_id as string,
          scope: row.f_scope as string,
          resources: row.f_resources,
          created_at: row.f_created_at as number,
          expires_at: row.f_expires_at as number,
          revoked_at: row.f_revoked_at,
          sid: row.f_sid,
          oidc: row.f_oidc,
          dpop_jkt: row.f_dpop_jkt,
        });
  return { token: toRefreshToken(row), family, userActive: Number(row.user_enabled) === 1 };
}

/** `TokenFamilyStore.rotate`: the family locked first, then the presented token rotated by one conditional update. */
async function rotateRefreshToken(
  db: Kysely<Database>,
  envId: string,
  familyId: string,
  presentedHash: string,
  now: number,
  issue: FamilyIssue,
  retry: RotationRetry | undefined,
): Promise<boolean> {
  return atomically(db, async (trx) => {
    // A no-op update takes the family's row lock: a concurrent revoke either finished first
    // (and this finds it revoked) or waits until this issuance is committed and visible to it.
    const current = await trx
      .updateTable('token_families')
      .set({ revoked_at: null })
      .where('family_id', '=', familyId)
      .where('env_id', '=', envId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(current.numUpdatedRows) !== 1) return false;
    const rotated = await trx
      .updateTable('refresh_tokens')
      .set({ rotated_at: now })
      .where('token_hash', '=', presentedHash)
      .where('env_id', '=', envId)
      .where('family_id', '=', familyId)
      .where('rotated_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(rotated.numUpdatedRows) !== 1) return false;
    await recordIssue(trx, envId, familyId, issue);
    // Committed with the rotation, so a retry never sees a response whose tokens were not saved.
    if (retry && issue.refreshToken) await replaceRotationRetry(trx, envId, familyId, presentedHash, issue.refreshToken.tokenHash, retry);
    else await deleteFamilyRetries(trx, envId, familyId);
    return true;
  });
}

/** `TokenFamilyStore.revoke`: the family, its refresh and opaque access tokens revoked, its JWTs listed as revoked. */
async function revokeFamily(db: Kysely<Database>, envId: string, familyId: string, now: number): Promise<void> {
  await atomically(db, (trx) => revokeFamilyIn(trx, envId, familyId, now));
}

/** `revokeFamily` inside the caller's transaction (an import revoking a family it brought in). */
export async function revokeFamilyIn(trx: Transaction<Database>, envId: string, familyId: string, now: number): Promise<void> {
  const family = await trx
    .updateTable('token_families')
    .set({ revoked_at: now })
    .where('family_id', '=', familyId)
    .where('env_id', '=', envId)
    .where('revoked_at', 'is', null)
    .returning('client_id')
    .executeTakeFirst();
  if (!family) return;
  await deleteFamilyRetries(trx, envId, familyId);
  await trx.updateTable('refresh_tokens').set({ revoked_at: now }).where('family_id', '=', familyId).where('revoked_at', 'is', null).execute();
  await trx.updateTable('access_tokens').set({ revoked_at: now }).where('family_id', '=', familyId).where('revoked_at', 'is', null).execute();
  // A JWT cannot be recalled: its jti joins the revocation list until it expires.
  await trx
    .insertInto('revoked_jwts')
    .columns(['env_id', 'jti', 'client_id', 'expires_at', 'revoked_at'])
    .expression((eb) =>
      eb
        .selectFrom('family_access_tokens')
        .select([
          'env_id',
          'jti',
          sql<string>`cast(${family.client_id} as text)`.as('client_id'),
          'expires_at',
          sql<number>`cast(${now} as bigint)`.as('revoked_at'),
        ])
        .where('family_id', '=', familyId)
        .where('expires_at', '>', now),
    )
    .onConflict((oc) => oc.columns(['env_id', 'jti']).doNothing())
    .execute();
}

/** `TokenFamilyStore.deleteExpired`: expired families and everything in them; returns how many families. */
async function deleteExpiredFamilies(db: Kysely<Database>, before: number): Promise<number> {
  return atomically(db, async (trx) => {
    // Families first, in the same lock order as revoke and rotate (family row, then tokens),
    // so the sweeper cannot deadlock with them on PostgreSQL.
    await trx.updateTable('token_families').set({ revoked_at: before }).where('expires_at', '<', before).where('revoked_at', 'is', null).execute();
    await deleteExpiredRetries(trx, before);
    const expired = (eb: Kysely<Database>) => eb.selectFrom('token_families').select('family_id').where('expires_at', '<', before);
    await trx.deleteFrom('refresh_token_retries').where('family_id', 'in', expired(trx)).execute();
    await trx.deleteFrom('refresh_tokens').where('family_id', 'in', expired(trx)).execute();
    await trx.deleteFrom('family_access_tokens').where('family_id', 'in', expired(trx)).execute();
    const result = await trx.deleteFrom('token_families').where('expires_at', '<', before).executeTakeFirst();
    return Number(result.numDeletedRows);
  });
}
