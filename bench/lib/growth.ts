import { randomBytes } from 'node:crypto';
import SqliteDatabase from 'better-sqlite3';
import pg from 'pg';
import { isPostgresUrl, sqlitePath } from '../../src/store/open.ts';

/**
 * Adds `count` stored opaque tokens (unexpired, of a separate environment id) straight into the
 * database, so introspection can be measured against a large table. Returns `count`.
 */
export async function seedOpaqueTokens(databaseUrl: string, count: number): Promise<number> {
  if (count <= 0) return 0;
  const prefix = `growth-${randomBytes(4).toString('hex')}-`;
  const far = Date.UTC(2100, 0, 1);
  if (isPostgresUrl(databaseUrl)) {
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      await client.query(
        `insert into access_tokens (token_hash, env_id, client_id, subject, scope, jti, issued_at, expires_at, revoked_at)
         select $1 || g, 'growth', 'growth', 'growth', 'read', md5(g::text), 0, $2, null from generate_series(1, $3) g`,
        [prefix, far, count],
      );
      await client.query('analyze access_tokens');
    } finally {
      await client.end();
    }
    return count;
  }
  const db = new SqliteDatabase(sqlitePath(databaseUrl));
  try {
    db.pragma('busy_timeout = 10000');
    db.prepare(
      `with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ?)
       insert into access_tokens (token_hash, env_id, client_id, subject, scope, jti, issued_at, expires_at, revoked_at)
       select ? || n, 'growth', 'growth', 'growth', 'read', 'jti-' || n, 0, ?, null from seq`,
    ).run(count, prefix, far);
  } finally {
    db.close();
  }
  return count;
}
