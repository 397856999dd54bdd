import { randomBytes, randomUUID } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import { type Insertable, Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import { hashSecret } from '../../src/crypto/secrets.ts';
import { s256Challenge } from '../../src/oauth/pkce.ts';
import { REFRESH_TOKEN_PREFIX } from '../../src/oauth/token-families.ts';
import { isPostgresUrl, sqlitePath } from '../../src/store/open.ts';
import type { AuthorizationCodeTable, Database, DeviceAuthorizationTable, RefreshTokenTable, TokenFamilyTable } from '../../src/store/schema.ts';
import { BENCH_REDIRECT_URI, type Credentials, DEVICE_CODE_GRANT_TYPE, type GatehouseTarget } from './gatehouse.ts';

/**
 * Single-use inputs for the authorization_code and refresh_token grants, written straight into
 * the database the running server uses (the Store inserts one row per statement, too slow for
 * the ~100k a full run needs). Columns are typed by `src/store/schema.ts`; values follow the
 * conventions of `src/store/kysely-authorization.ts` (scopes space-separated, times in epoch ms).
 */

/** Rows per INSERT: 11 columns × 1,000 stays well under SQLite's and PostgreSQL's bind-parameter limits. */
const CHUNK = 1_000;
const SCOPE = 'read';
const CODE_PREFIX = 'gac_';
const REDIRECT_URI_FORM = encodeURIComponent(BENCH_REDIRECT_URI);

/**
 * `count` independent 32-byte random values, base64url: one CSPRNG call for all of them, since
 * a synchronous randomBytes() call per value costs more than everything else minting does.
 */
function randomSource(count: number): () => string {
  const bytes = randomBytes(32 * count);
  let next = 0;
  return () => {
    if (next >= count) throw new Error('randomSource: no values left');
    const value = bytes.toString('base64url', next * 32, next * 32 + 32);
    next += 1;
    return value;
  };
}

/**
 * `count` request bodies, each redeeming its own fresh authorization code (PKCE S256) of
 * `fixture.codeClient`, or, with `openid`, of that client with scope `openid read` and the
 * OpenID sign-in its ID Token describes (as /authorize writes it for an `openid` request).
 */
export async function mintAuthorizationCodes(fixture: GatehouseTarget, count: number, openid?: Credentials): Promise<string[]> {
  const now = Date.now();
  const bodies: string[] = [];
  const rows: Insertable<AuthorizationCodeTable>[] = [];
  const random = randomSource(count * (openid ? 4 : 2));
  for (let i = 0; i < count; i++) {
    const code = CODE_PREFIX + random();
    const verifier = random();
    rows.push({
      code_hash: hashSecret(code),
      env_id: fixture.envId,
      client_id: (openid ?? fixture.codeClient).id,
      user_id: fixture.userId,
      redirect_uri: BENCH_REDIRECT_URI,
      scope: openid ? `openid ${SCOPE}` : SCOPE,
      ...(openid ? { oidc: JSON.stringify({ nonce: random(), sid: random(), authTime: now, amr: ['pwd'], acr: null }) } : {}),
      code_challenge: s256Challenge(verifier),
      family_id: randomUUID(),
      issued_at: now,
      // The longest lifetime a code may have (GATEHOUSE_AUTHORIZATION_CODE_TTL at most 600 s).
      expires_at: now + 600_000,
      consumed_at: null,
    });
    // code and verifier are base64url, which needs no form encoding.
    bodies.push(`grant_type=authorization_code&code=${code}&code_verifier=${verifier}&redirect_uri=${REDIRECT_URI_FORM}`);
  }
  await withDatabase(fixture.databaseUrl, async (db) => {
    await db.transaction().execute(async (trx) => {
      for (const chunk of chunks(rows)) await trx.insertInto('authorization_codes').values(chunk).execute();
    });
  });
  return bodies;
}

/**
 * `count` request bodies, each presenting the one current refresh token of its own token family
 * (as if a code of `fixture.codeClient` had been redeemed), so every refresh is a first use.
 */
export async function mintRefreshTokens(fixture: GatehouseTarget, count: number): Promise<string[]> {
  const now = Date.now();
  const bodies: string[] = [];
  const families: Insertable<TokenFamilyTable>[] = [];
  const tokens: Insertable<RefreshTokenTable>[] = [];
  const random = randomSource(count);
  for (let i = 0; i < count; i++) {
    const familyId = randomUUID();
    const refreshToken = REFRESH_TOKEN_PREFIX + random();
    const common = { env_id: fixture.envId, family_id: familyId, client_id: fixture.codeClient.id, user_id: fixture.userId };
    families.push({ ...common, scope: SCOPE, created_at: now, expires_at: now + 90 * 86_400_000, revoked_at: null });
    tokens.push({ ...common, token_hash: hashSecret(refreshToken), issued_at: now, expires_at: now + 14 * 86_400_000, rotated_at: null, revoked_at: null });
    bodies.push(`grant_type=refresh_token&refresh_token=${refreshToken}`);
  }
  await withDatabase(fixture.databaseUrl, async (db) => {
    await db.transaction().execute(async (trx) => {
      // Families first: refresh_tokens.family_id references them.
      for (const chunk of chunks(families)) await trx.insertInto('token_families').values(chunk).execute();
      for (const chunk of chunks(tokens)) await trx.insertInto('refresh_tokens').values(chunk).execute();
    });
  });
  return bodies;
}

const DEVICE_GRANT_FORM = encodeURIComponent(DEVICE_CODE_GRANT_TYPE);

/**
 * `count` request bodies, each polling its own device code of `client` (RFC 8628 §3.4), written
 * as the device authorization endpoint and the verification page write them: `approved` by the
 * bench user (a poll redeems it for tokens), or still `pending` (a first poll, so the answer is
 * `authorization_pending`, never `slow_down`).
 */
export async function mintDeviceCodes(fixture: GatehouseTarget, client: Credentials, count: number, status: 'approved' | 'pending'): Promise<string[]> {
  const now = Date.now();
  const bodies: string[] = [];
  const rows: Insertable<DeviceAuthorizationTable>[] = [];
  const random = randomSource(count * 2);
  for (let i = 0; i < count; i++) {
    const deviceCode = random();
    rows.push({
      device_code_hash: hashSecret(deviceCode),
      env_id: fixture.envId,
      user_code_hash: hashSecret(random()),
      client_id: client.id,
      scope: SCOPE,
      resources: null,
      family_id: randomUUID(),
      created_at: now,
      expires_at: now + 600_000,
      interval_seconds: 5,
      last_polled_at: null,
      status,
      user_id: status === 'approved' ? fixture.userId : null,
      decided_at: status === 'approved' ? now : null,
      oidc: null,
      consumed_at: null,
    });
    bodies.push(`grant_type=${DEVICE_GRANT_FORM}&device_code=${deviceCode}`);
  }
  await withDatabase(fixture.databaseUrl, async (db) => {
    await db.transaction().execute(async (trx) => {
      for (const chunk of chunks(rows)) await trx.insertInto('device_authorizations').values(chunk).execute();
    });
  });
  return bodies;
}

function* chunks<T>(rows: T[]): Generator<T[]> {
  for (let i = 0; i < rows.length; i += CHUNK) yield rows.slice(i, i + CHUNK);
}

/** A short-lived Kysely connection of the bench process (the server keeps its own). */
async function withDatabase(databaseUrl: string, work: (db: Kysely<Database>) => Promise<void>): Promise<void> {
  let db: Kysely<Database>;
  if (isPostgresUrl(databaseUrl)) {
    db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: new pg.Pool({ connectionString: databaseUrl, max: 1 }) }) });
  } else {
    const sqlite = new SqliteDatabase(sqlitePath(databaseUrl));
    sqlite.pragma('busy_timeout = 10000');
    sqlite.pragma('foreign_keys = ON');
    db = new Kysely<Database>({ dialect: new SqliteDialect({ database: sqlite }) });
  }
  try {
    await work(db);
  } finally {
    await db.destroy();
  }
}
