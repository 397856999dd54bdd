import { type Kysely, type Selectable, sql, type Transaction } from 'kysely';
import type { FamilyIssue, RotationRetry, TokenFamilyStore } from '../domain/storage.ts';
import { compiledOnce, placeholder } from './compiled-once.ts';
import { familyStatements } from './family-statements.ts';
import { type Dialect, preparedOn, recordIssue } from './kysely-authorization.ts';
import { toFamily, toRefreshToken } from './kysely-authorization-rows.ts';
import { deleteExpiredRetries, deleteFamilyRetries, findRotationRetry, replaceRotationRetry } from './kysely-refresh-retries.ts';
import { atomically } from './kysely-transaction.ts';
import { rotateInOneStatement } from './postgres-family-writes.ts';
import type { Database, RefreshTokenTable } from './schema.ts';

// The grants' reads name their columns (no `*`): a prepared statement's result type must not
// change when a migration adds a column while a node runs.
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

export function tokenFamilyStore(db: Kysely<Database>, dialect: Dialect): TokenFamilyStore {
  const read = rotationRead(db, dialect);
  const store: TokenFamilyStore = {
    async find(envId, familyId) {
      const row = await db.selectFrom('token_families').selectAll().where('family_id', '=', familyId).where('env_id', '=', envId).executeTakeFirst();
      return row && toFamily(row);
    },
    async findRefreshToken(envId, tokenHash) {
      const row = await db.selectFrom('refresh_tokens').selectAll().where('token_hash', '=', tokenHash).where('env_id', '=', envId).executeTakeFirst();
      return row && toRefreshToken(row);
    },
    findForRotation: (envId, tokenHash) => findForRotation(db, read, envId, tokenHash),
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

/** The read of every refresh, built and compiled once per store (building it cost about as much as running it). */
function rotationRead(db: Kysely<Database>, dialect: Dialect) {
  return compiledOnce<'hash' | 'env'>(
    db
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
      .where('t.token_hash', '=', placeholder('hash'))
      .where('t.env_id', '=', placeholder('env'))
      .$call(preparedOn(dialect)),
  );
}

type RotationRow = Selectable<RefreshTokenTable> & {
  f_family_id: string | null;
  f_client_id: string | null;
  f_user_id: string | null;
  f_scope: string | null;
  f_resources: string | null;
  f_created_at: number | null;
  f_expires_at: number | null;
  f_revoked_at: number | null;
  f_sid: string | null;
  f_oidc: string | null;
  f_dpop_jkt: string | null;
  user_enabled: unknown;
};

/** `TokenFamilyStore.findForRotation`: the token, its family and its user, read at one instant. */
async function findForRotation(db: Kysely<Database>, read: ReturnType<typeof rotationRead>, envId: string, tokenHash: string) {
  const [row] = (await db.executeQuery<RotationRow>(read({ hash: tokenHash, env: envId }))).rows;
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
  const statements = familyStatements(db);
  return atomically(db, async (trx) => {
    // A no-op update takes the family's row lock: a concurrent revoke either finished first
    // (and this finds it revoked) or waits until this issuance is committed and visible to it.
    const locked = await trx.executeQuery(statements.lockFamily({ family: familyId, env: envId }));
    if (Number(locked.numAffectedRows) !== 1) return false;
    const rotated = await trx.executeQuery(statements.rotateToken({ now, hash: presentedHash, env: envId, family: familyId }));
    if (Number(rotated.numAffectedRows) !== 1) return false;
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
