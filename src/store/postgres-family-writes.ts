import { CompiledQuery, type Kysely } from 'kysely';
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
 *
 * The SQL text is written here, once per shape of statement (which tokens an issuance writes),
 * and kept: building it through Kysely's query builder on every request cost more of the node's
 * time than running it (refresh rotation's profile, 2026-12-07: 14.5 % of busy time in Kysely).
 */

type Row = Record<string, unknown>;

/** One statement being written: its text so far and its values in placeholder order ($1, $2 …). */
class Statement {
  readonly values: unknown[] = [];
  private readonly ctes: string[] = [];
  /** The shape of the statement: which CTEs, which columns. Equal shapes have equal texts. */
  shape = '';

  /** `$n` for `value`. */
  bind(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  cte(name: string, text: string): void {
    this.ctes.push(`${name} as (${text})`);
    this.shape += `${name};`;
  }

  /** `insert into table (…) select <row> where exists (select 1 from guard)`: written only if the guarding CTE returned a row. */
  insertIf(name: string, guard: string, table: string, row: Row): void {
    const columns = Object.keys(row);
    // Parameter types come from the target columns (PostgreSQL infers them for INSERT … SELECT).
    const values = columns.map((column) => this.bind(row[column]));
    this.cte(name, `insert into ${table} (${columns.map((c) => `"${c}"`).join(', ')}) select ${values.join(', ')} where exists (select 1 from ${guard})`);
    this.shape += `${table}(${columns.join(',')})`;
  }

  text(select: string): string {
    return `with ${this.ctes.join(', ')} ${select} ${PREPARED_MARK}`;
  }
}

/** The texts written so far, by shape: a handful (with or without refresh token, opaque or JWT, retry record). */
const texts = new Map<string, string>();

async function run<R>(db: Kysely<Database>, statement: Statement, select: string): Promise<R[]> {
  const key = `${statement.shape}|${select}`;
  let text = texts.get(key);
  if (text === undefined) {
    text = statement.text(select);
    texts.set(key, text);
  }
  return (await db.executeQuery<R>(CompiledQuery.raw(text, statement.values))).rows;
}

/** The CTEs writing the tokens of one issuance, each guarded by `guard`. */
function issueCtes(statement: Statement, guard: string, envId: string, familyId: string, issue: FamilyIssue): void {
  if (issue.refreshToken) statement.insertIf('issued_refresh', guard, 'refresh_tokens', refreshTokenRow(envId, familyId, issue.refreshToken));
  const { opaque, jti, expiresAt } = issue.accessToken;
  if (opaque) statement.insertIf('issued_access', guard, 'access_tokens', opaqueAccessTokenRow(opaque, familyId));
  else statement.insertIf('issued_access', guard, 'family_access_tokens', { env_id: envId, jti, family_id: familyId, expires_at: expiresAt });
}

/** What a redemption consumes: an authorization code, or an approved device code (RFC 8628 §3.5). */
export type Redeemed = 'authorization_code' | 'device_code';

const CONSUMED: Record<Redeemed, { cte: string; consume: (s: Statement, now: number, hash: string, envId: string) => string }> = {
  authorization_code: {
    cte: 'consumed_code',
    consume: (s, now, hash, envId) => `update authorization_codes set consumed_at = ${s.bind(now)}
    where code_hash = ${s.bind(hash)} and env_id = ${s.bind(envId)} and consumed_at is null returning code_hash`,
  },
  device_code: {
    cte: 'consumed_device_code',
    consume: (s, now, hash, envId) => `update device_authorizations set consumed_at = ${s.bind(now)}
    where device_code_hash = ${s.bind(hash)} and env_id = ${s.bind(envId)} and status = 'approved' and consumed_at is null
    returning device_code_hash`,
  },
};

/**
 * `AuthorizationCodeStore.redeem` and `DeviceAuthorizationStore.redeem` in one statement: the
 * code consumed, then (only if this statement consumed it) the family and its tokens.
 */
export async function redeemInOneStatement(
  db: Kysely<Database>,
  redeemed: Redeemed,
  envId: string,
  codeHash: string,
  now: number,
  family: TokenFamily,
  issue: FamilyIssue,
): Promise<boolean> {
  const statement = new Statement();
  const { cte, consume } = CONSUMED[redeemed];
  // RFC 6749 §4.1.2: single use. Of N concurrent statements one matches `consumed_at is null`;
  // the others wait on the row lock, re-check it on the committed version and match nothing.
  statement.cte(cte, consume(statement, now, codeHash, envId));
  statement.insertIf('new_family', cte, 'token_families', familyRow(envId, family));
  issueCtes(statement, cte, envId, family.familyId, issue);
  const [row] = await run<{ consumed: number }>(db, statement, `select count(*)::int as consumed from ${cte}`);
  return row?.consumed === 1;
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
  const statement = new Statement();
  const [family, env] = [statement.bind(familyId), statement.bind(envId)];
  statement.cte(
    'locked_family',
    `update token_families set revoked_at = null
    where family_id = ${family} and env_id = ${env} and revoked_at is null returning family_id`,
  );
  // `exists (select 1 from locked_family)` makes the family's update run (and lock) before this one.
  statement.cte(
    'rotated',
    `update refresh_tokens set rotated_at = ${statement.bind(now)}
    where token_hash = ${statement.bind(presentedHash)} and env_id = ${env} and family_id = ${family}
      and rotated_at is null and revoked_at is null and exists (select 1 from locked_family)
    returning token_hash`,
  );
  issueCtes(statement, 'rotated', envId, familyId, issue);
  // Only the family's latest rotation can be retried: its earlier record goes, this one's comes,
  // committed with the rotation so a retry never finds an answer whose tokens were not saved.
  statement.cte('old_retry', `delete from refresh_token_retries where env_id = ${env} and family_id = ${family} and exists (select 1 from rotated)`);
  if (retry && issue.refreshToken) {
    statement.insertIf('new_retry', 'rotated', 'refresh_token_retries', {
      env_id: envId,
      token_hash: presentedHash,
      family_id: familyId,
      successor_hash: issue.refreshToken.tokenHash,
      request_hash: retry.requestHash,
      sealed_response: retry.sealedResponse,
      expires_at: retry.expiresAt,
    });
  }
  const [row] = await run<{ rotated: number }>(db, statement, 'select count(*)::int as rotated from rotated');
  return row?.rotated === 1;
}
