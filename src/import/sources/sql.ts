import mysql from 'mysql2/promise';
import pg from 'pg';

/**
 * A read-only connection to another provider's database, PostgreSQL or MySQL/MariaDB, chosen by the
 * URL's scheme, reading one consistent snapshot. Queries are written with `?` placeholders and plain
 * identifiers valid on both.
 */
export interface SourceDatabase {
  dialect: 'postgres' | 'mysql';
  query<T extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** The columns of a table in the connection's current schema or database, lower-cased; empty when there is no such table. */
  columns(table: string): Promise<Set<string>>;
  close(): Promise<void>;
}

/** A table or column name given on the command line: plain identifiers only, never quoted into SQL. */
const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function checkIdentifier(name: string, what: string): string {
  if (!IDENTIFIER.test(name)) throw new Error(`${what} must be a plain SQL identifier (letters, digits, underscores): ${JSON.stringify(name)}`);
  return name;
}

const TIMESTAMP_WITHOUT_TIME_ZONE = 1114;

/** Rails and Hydra write `timestamp without time zone` in UTC: read it as UTC whatever the machine's zone. */
function utcTimestamps(): pg.CustomTypesConfig {
  return {
    getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
      if (oid === TIMESTAMP_WITHOUT_TIME_ZONE && format !== 'binary') return (value: string) => new Date(`${value.replace(' ', 'T')}Z`);
      return pg.types.getTypeParser(oid, format);
    }) as pg.CustomTypesConfig['getTypeParser'],
  };
}

async function openPostgres(url: string): Promise<SourceDatabase> {
  const client = new pg.Client({ connectionString: url, types: utcTimestamps() });
  await client.connect();
  // One read-only snapshot for the whole run: tokens refreshed meanwhile are seen before or after, never half.
  await client.query('begin isolation level repeatable read read only');
  const query = async <T extends object>(sql: string, params: readonly unknown[] = []) => {
    let n = 0;
    const text = sql.replace(/\?/g, () => `$${++n}`);
    return (await client.query(text, [...params])).rows as T[];
  };
  return {
    dialect: 'postgres',
    query,
    async columns(table) {
      const rows = await query<{ name: string }>(
        'select column_name as name from information_schema.columns where table_schema = current_schema() and table_name = ?',
        [table],
      );
      return new Set(rows.map((r) => r.name.toLowerCase()));
    },
    async close() {
      await client.query('commit').catch(() => undefined);
      await client.end();
    },
  };
}

async function openMysql(url: string): Promise<SourceDatabase> {
  // Rails writes DATETIME in UTC; ids may exceed 2^53, so they come back as strings.
  const connection = await mysql.createConnection({ uri: url, timezone: 'Z', supportBigNumbers: true, bigNumberStrings: true });
  await connection.query('set session transaction isolation level repeatable read');
  await connection.query('start transaction with consistent snapshot, read only');
  const query = async <T extends object>(sql: string, params: readonly unknown[] = []) => {
    const [rows] = await connection.query(sql, [...params]);
    return rows as T[];
  };
  return {
    dialect: 'mysql',
    query,
    async columns(table) {
      const rows = await query<{ name: string }>(
        'select column_name as name from information_schema.columns where table_schema = database() and table_name = ?',
        [table],
      );
      return new Set(rows.map((r) => r.name.toLowerCase()));
    },
    async close() {
      await connection.query('commit').catch(() => undefined);
      await connection.end();
    },
  };
}

/** Opens `postgres://…` / `postgresql://…` with pg, `mysql://…` / `mariadb://…` with mysql2. */
export async function openSourceDatabase(url: string): Promise<SourceDatabase> {
  const scheme = /^([a-z]+):/i.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') return openPostgres(url);
  if (scheme === 'mysql' || scheme === 'mariadb') return openMysql(url.replace(/^mariadb:/i, 'mysql:'));
  throw new Error('the source must be a postgres://… or mysql://… URL');
}

/** An instant as ISO 8601, from a driver's Date or a string. */
export function iso(value: unknown): string {
  const date = value instanceof Date ? value : new Date(String(value));
  return date.toISOString();
}

/** A driver's boolean: PostgreSQL's true/false, MySQL's 0/1. */
export const truthy = (value: unknown): boolean => value === true || value === 1 || value === '1' || value === 't';
