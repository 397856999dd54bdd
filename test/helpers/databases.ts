import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type { Store } from '../../src/domain/storage.ts';
import { openStore } from '../../src/store/open.ts';

export const POSTGRES_URL = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A database the storage-backed tests run against: SQLite always, PostgreSQL when reachable. */
export interface TestDatabase {
  name: 'sqlite' | 'postgres';
  /** A fresh, migrated, empty store. Call `cleanup` when done. */
  open(): Promise<{ store: Store; url: string; schema?: string; cleanup(): Promise<void> }>;
}

let postgresReachable: Promise<boolean> | undefined;

async function probePostgres(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

const sqlite: TestDatabase = {
  name: 'sqlite',
  async open() {
    const dir = mkdtempSync(join(tmpdir(), 'gatehouse-test-'));
    const url = join(dir, 'gatehouse.db');
    const store = openStore(url);
    await store.migrate();
    return {
      store,
      url,
      async cleanup() {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};

const postgres: TestDatabase = {
  name: 'postgres',
  async open() {
    // Each store gets its own schema in the shared test database, dropped afterwards.
    const schema = `gh_test_${randomBytes(6).toString('hex')}`;
    const admin = new pg.Client({ connectionString: POSTGRES_URL });
    await admin.connect();
    await admin.query(`create schema ${schema}`);
    await admin.end();
    const store = openStore(POSTGRES_URL, { postgresSchema: schema, poolSize: 5 });
    await store.migrate();
    return {
      store,
      url: POSTGRES_URL,
      schema,
      async cleanup() {
        await store.close();
        const dropper = new pg.Client({ connectionString: POSTGRES_URL });
        await dropper.connect();
        await dropper.query(`drop schema ${schema} cascade`);
        await dropper.end();
      },
    };
  },
};

/**
 * The databases to run storage tests on. PostgreSQL joins when reachable; with
 * GATEHOUSE_REQUIRE_POSTGRES=1 (set by CI) an unreachable PostgreSQL is an error, not a skip.
 */
export async function testDatabases(): Promise<TestDatabase[]> {
  postgresReachable ??= probePostgres();
  if (await postgresReachable) return [sqlite, postgres];
  if (process.env.GATEHOUSE_REQUIRE_POSTGRES === '1') {
    throw new Error(`PostgreSQL is required (GATEHOUSE_REQUIRE_POSTGRES=1) but ${POSTGRES_URL} cannot be reached`);
  }
  return [sqlite];
}
