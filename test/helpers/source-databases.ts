import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import pg from 'pg';
import { POSTGRES_URL } from './databases.ts';

/** MariaDB (or MySQL) for the Doorkeeper source tests; root without password, as on the test machine. */
export const MARIADB_URL = process.env.GATEHOUSE_TEST_MARIADB_URL ?? 'mysql://root@127.0.0.1:3306/test';

/** Another provider's database for a test: its URL (as `gatehouse import --from` takes it) and a way to run its DDL and inserts. */
export interface SourceDb {
  dialect: 'postgres' | 'mysql';
  url: string;
  exec(sql: string, params?: unknown[]): Promise<void>;
  cleanup(): Promise<void>;
}

async function reachable(probe: () => Promise<unknown>): Promise<boolean> {
  try {
    await probe();
    return true;
  } catch {
    return false;
  }
}

/** A fresh PostgreSQL schema, reached through `search_path` in the URL; dropped by cleanup. */
async function postgresSource(): Promise<SourceDb> {
  const schema = `gh_src_${randomBytes(5).toString('hex')}`;
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  await client.query(`create schema ${schema}`);
  await client.query(`set search_path = ${schema}`);
  const url = new URL(POSTGRES_URL);
  url.searchParams.set('options', `-c search_path=${schema}`);
  return {
    dialect: 'postgres',
    url: url.href,
    async exec(sql, params = []) {
      let n = 0;
      await client.query(
        sql.replace(/\?/g, () => `$${++n}`),
        params,
      );
    },
    async cleanup() {
      await client.query(`drop schema ${schema} cascade`);
      await client.end();
    },
  };
}

/** A fresh MariaDB database; dropped by cleanup. */
async function mariadbSource(): Promise<SourceDb> {
  const name = `gh_src_${randomBytes(5).toString('hex')}`;
  const admin = await mysql.createConnection({ uri: MARIADB_URL, timezone: 'Z', multipleStatements: true });
  await admin.query(`create database ${name}`);
  await admin.query(`use ${name}`);
  const url = new URL(MARIADB_URL);
  url.pathname = `/${name}`;
  return {
    dialect: 'mysql',
    url: url.href,
    async exec(sql, params = []) {
      await admin.query(sql, params);
    },
    async cleanup() {
      await admin.query(`drop database ${name}`);
      await admin.end();
    },
  };
}

export interface SourceDbKind {
  name: 'postgres' | 'mariadb';
  open(): Promise<SourceDb>;
}

/** The source databases reachable here: PostgreSQL and MariaDB; with GATEHOUSE_REQUIRE_POSTGRES=1 PostgreSQL must be. */
export async function sourceDatabases(): Promise<SourceDbKind[]> {
  const kinds: SourceDbKind[] = [];
  const pgUp = await reachable(async () => {
    const c = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
    await c.connect();
    await c.end();
  });
  if (pgUp) kinds.push({ name: 'postgres', open: postgresSource });
  else if (process.env.GATEHOUSE_REQUIRE_POSTGRES === '1') throw new Error(`PostgreSQL is required but ${POSTGRES_URL} cannot be reached`);
  const mariaUp = await reachable(async () => {
    const c = await mysql.createConnection({ uri: MARIADB_URL, connectTimeout: 3000 });
    await c.end();
  });
  if (mariaUp) kinds.push({ name: 'mariadb', open: mariadbSource });
  return kinds;
}
