import { type CompiledQuery, type Kysely, sql } from 'kysely';
import { compiledOnce, placeholder } from './compiled-once.ts';
import type { familyRow, opaqueAccessTokenRow, refreshTokenRow } from './kysely-authorization-rows.ts';
import type { Database } from './schema.ts';

/**
 * The statements of code redemption and refresh rotation inside their transaction (SQLite, and
 * PostgreSQL where a caller's transaction holds them), each built and compiled once: building a
 * Kysely query cost about as much as running it on SQLite (refresh rotation's profile: 17 % of the
 * server's time in query building, 40 % in the statements themselves).
 */
export interface FamilyStatements {
  /** A no-op update that takes the family's row lock; matches only a family not revoked. */
  lockFamily: Bind<'family' | 'env'>;
  /** The presented refresh token rotated, if it still may be. */
  rotateToken: Bind<'now' | 'hash' | 'env' | 'family'>;
  /** RFC 6749 §4.1.2: the code consumed, if no one has. */
  consumeCode: Bind<'now' | 'hash' | 'env'>;
  insertFamily: Bind<FamilyColumn>;
  insertRefreshToken: Bind<RefreshColumn>;
  insertOpaqueToken: Bind<OpaqueColumn>;
  insertFamilyJwt: Bind<'env_id' | 'jti' | 'family_id' | 'expires_at'>;
  deleteRetries: Bind<'env' | 'family'>;
  insertRetry: Bind<RetryColumn>;
}

type Bind<Name extends string> = (values: Readonly<Record<Name, unknown>>) => CompiledQuery;

const FAMILY_COLUMNS = [
  'family_id',
  'env_id',
  'client_id',
  'user_id',
  'scope',
  'resources',
  'created_at',
  'expires_at',
  'revoked_at',
  'sid',
  'oidc',
  'dpop_jkt',
] as const;
const REFRESH_COLUMNS = ['token_hash', 'env_id', 'family_id', 'client_id', 'user_id', 'issued_at', 'expires_at', 'rotated_at', 'revoked_at'] as const;
const OPAQUE_COLUMNS = [
  'token_hash',
  'env_id',
  'client_id',
  'subject',
  'scope',
  'jti',
  'issued_at',
  'expires_at',
  'revoked_at',
  'family_id',
  'audience',
  'act',
  'cnf_jkt',
  'acr',
  'amr',
] as const;
const RETRY_COLUMNS = ['env_id', 'token_hash', 'family_id', 'successor_hash', 'request_hash', 'sealed_response', 'expires_at'] as const;
type FamilyColumn = (typeof FAMILY_COLUMNS)[number];
type RefreshColumn = (typeof REFRESH_COLUMNS)[number];
type OpaqueColumn = (typeof OPAQUE_COLUMNS)[number];
type RetryColumn = (typeof RETRY_COLUMNS)[number];

// Each insert names exactly the columns its row builder fills: a column added to one and not the
// other fails to compile instead of going unwritten.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const exactColumns: [
  Same<keyof ReturnType<typeof familyRow>, FamilyColumn>,
  Same<keyof ReturnType<typeof refreshTokenRow>, RefreshColumn>,
  Same<keyof ReturnType<typeof opaqueAccessTokenRow>, OpaqueColumn>,
] = [true, true, true];
void exactColumns;

/** `insert into table (columns) values (…)`, each value bound from the row by its column's name. */
function insertOnce<Column extends string>(db: Kysely<Database>, table: keyof Database, columns: readonly Column[]): Bind<Column> {
  const values = Object.fromEntries(columns.map((column) => [column, placeholder(column)]));
  return compiledOnce<Column>(db.insertInto(table).values(values as never));
}

const built = new WeakMap<object, FamilyStatements>();

/** The statements for `db`'s dialect, compiled at first use (the SQL depends on the dialect only). */
export function familyStatements(db: Kysely<Database>): FamilyStatements {
  const adapter = db.getExecutor().adapter;
  let statements = built.get(adapter);
  if (!statements) {
    statements = build(db);
    built.set(adapter, statements);
  }
  return statements;
}

function build(db: Kysely<Database>): FamilyStatements {
  return {
    lockFamily: compiledOnce(
      db
        .updateTable('token_families')
        .set({ revoked_at: sql<null>`null` })
        .where('family_id', '=', placeholder('family'))
        .where('env_id', '=', placeholder('env'))
        .where('revoked_at', 'is', null),
    ),
    rotateToken: compiledOnce(
      db
        .updateTable('refresh_tokens')
        .set({ rotated_at: placeholder('now') as never })
        .where('token_hash', '=', placeholder('hash'))
        .where('env_id', '=', placeholder('env'))
        .where('family_id', '=', placeholder('family'))
        .where('rotated_at', 'is', null)
        .where('revoked_at', 'is', null),
    ),
    consumeCode: compiledOnce(
      db
        .updateTable('authorization_codes')
        .set({ consumed_at: placeholder('now') as never })
        .where('code_hash', '=', placeholder('hash'))
        .where('env_id', '=', placeholder('env'))
        .where('consumed_at', 'is', null),
    ),
    insertFamily: insertOnce(db, 'token_families', FAMILY_COLUMNS),
    insertRefreshToken: insertOnce(db, 'refresh_tokens', REFRESH_COLUMNS),
    insertOpaqueToken: insertOnce(db, 'access_tokens', OPAQUE_COLUMNS),
    insertFamilyJwt: insertOnce(db, 'family_access_tokens', ['env_id', 'jti', 'family_id', 'expires_at'] as const),
    deleteRetries: compiledOnce(db.deleteFrom('refresh_token_retries').where('env_id', '=', placeholder('env')).where('family_id', '=', placeholder('family'))),
    insertRetry: insertOnce(db, 'refresh_token_retries', RETRY_COLUMNS),
  };
}
