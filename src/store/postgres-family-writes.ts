import { type Kysely, type RawBuilder, sql } from 'kysely';
import type { TokenFamily } from '../domain/model.ts';
import type { FamilyIssue, RotationRetry } from '../domain/storage.ts';
import { familyRow, opaqueAccessTokenRow, refreshTokenRow } from './kysely-authorization-rows.ts';
import { PREPARED_MARK } from './postgres-pool.ts';
import type { Database } from './schema.ts';

/**
 * Code redemption and refresh rotation on PostgreSQL, each ONE statement (data-modifying CTEs in
 * autocommit), so a grant's write is one round trip instead of BEGIN, four to six statements and
 * COMMIT. The race guarantees come from the conditional UPDATE that leads each statement: its
 * WHERE guard is re-checked on the newest row version after waiting for the row lock, so of any
 * number of concurrent statements exactly one matches the row; every other CTE writes only
 * `where exists (select 1 from <that update>)`. (All CTEs share one snapshot, so no plain SELECT
 * could serve as the guard: it would not see a concurrent winner's commit.)
 */

/** `insert into table (…) select <row> where exists (select 1 from guard)`: written only if the guarding CTE returned a row. */
function insertIf(guard: string, table: string, row: Record<string, unknown>): RawBuilder<unknown> {
  const columns = Object.keys(row);
  // Parameter types come from the target columns (PostgreSQL infers them for INSERT … SELECT).
  return sql`insert into ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) select ${sql.join(columns.map((c) => sql`${row[c]}`))} where exists (select 1 from ${sql.table(guard)})`;
}

/** The CTEs writing the tokens of one issuance, each guarded by `guard`. */
function issueCtes(guard: string, envId: string, familyId: string, issue: FamilyIssue): RawBuilder<unknown>[] {
  const ctes: RawBuilder<unknown>[] = [];
  if (issue.refreshToken) ctes.push(sql`issued_refresh as (${insertIf(guard, 'refresh_tokens', refreshTokenRow(envId, familyId, issue.refreshToken))})`);
  const { opaque, jti, expiresAt } = issue.accessToken;
  const access = opaque
    ? insertIf(guard, 'access_tokens', opaqueAccessTokenRow(opaque, familyId))
    : insertIf(guard, 'family_access_tokens', { env_id: envId, jti, family_id: familyId, expires_at: expiresAt });
  ctes.push(sql`issued_access as (${access})`);
  return ctes;
}

/** `AuthorizationCodeStore.redeem` in one statement: the code consumed, then (only if this statement consumed it) the family and its tokens. */
export async function redeemInOneStatement(
  db: Kysely<Database>,
  envId: string,
  codeHash: string,
  now: number,
  family: TokenFamily,
  issue: FamilyIssue,
): Promise<boolean> {
  // RFC 6749 §4.1.2: single use. Of N concurrent statements one matches `consumed_at is null`;
  // the others wait on the row lock, re-check it on the committed version and match nothing.
  const consumed = sql`update authorization_codes set consumed_at = ${now}
    where code_hash = ${codeHash} and env_id = ${envId} and consumed_at is null returning code_hash`;
  const ctes = [
    sql`consumed as (${consumed})`,
    sql`new_family as (${insertIf('consumed', 'token_families', familyRow(envId, family))})`,
    ...issueCtes('consumed', envId, family.familyId, issue),
  ];
  const result = await sql<{ consumed: number }>`with ${sql.join(ctes)} select count(*)::int as consumed from consumed ${sql.raw(PREPARED_MARK)}`.execute(db);
  return result.rows[0]?.consumed === 1;
}

/**
 * `TokenFamilyStore.rotate` in one statement. The family row is locked first (a no-op update
 * guarded by `revoked_at is null`), in the same order as `revoke`, so a concurrent revocation
 * either committed before (and this finds the family revoked) or waits for this rotation. The
 * presented token is then rotated by its own guarded update (exactly one of concurrent
 * rotations matches); the new tokens and the retry record are written only if it did.
 */
export async function rotateInOneStatement(
  db: Kysely<Database>,
  envId: string,
  familyId: string,
  presentedHash: string,
  now: number,
  issue: FamilyIssue,
  retry: RotationRetry | undefined,
): Promise<boolean> {
  const lockedFamily = sql`update token_families set revoked_at = null
    where family_id = ${familyId} and env_id = ${envId} and revoked_at is null returning family_id`;
  // `exists (select 1 from locked_family)` makes the family's update run (and lock) before this one.
  const rotated = sql`update refresh_tokens set rotated_at = ${now}
    where token_hash = ${presentedHash} and env_id = ${envId} and family_id = ${familyId}
      and rotated_at is null and revoked_at is null and exists (select 1 from locked_family)
    returning token_hash`;
  // Only the family's latest rotation can be retried: its earlier record goes, this one's comes,
  // committed with the rotation so a retry never finds an answer whose tokens were not saved.
  const retries = [
    sql`old_retry as (delete from refresh_token_retries where env_id = ${envId} and family_id = ${familyId} and exists (select 1 from rotated))`,
  ];
  if (retry && issue.refreshToken) {
    const record = {
      env_id: envId,
      token_hash: presentedHash,
      family_id: familyId,
      successor_hash: issue.refreshToken.tokenHash,
      request_hash: retry.requestHash,
      sealed_response: retry.sealedResponse,
      expires_at: retry.expiresAt,
    };
    retries.push(sql`new_retry as (${insertIf('rotated', 'refresh_token_retries', record)})`);
  }
  const ctes = [sql`locked_family as (${lockedFamily})`, sql`rotated as (${rotated})`, ...issueCtes('rotated', envId, familyId, issue), ...retries];
  const result = await sql<{ rotated: number }>`with ${sql.join(ctes)} select count(*)::int as rotated from rotated ${sql.raw(PREPARED_MARK)}`.execute(db);
  return result.rows[0]?.rotated === 1;
}
