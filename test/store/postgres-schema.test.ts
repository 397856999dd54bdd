import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { openStore } from '../../src/store/open.ts';
import { POSTGRES_URL, testDatabases } from '../helpers/databases.ts';

const onPostgres = (await testDatabases()).some((d) => d.name === 'postgres');

// Kysely looks migration tables up by name across schemas; Gatehouse names its schema, so another
// deployment's tables in the same database cannot make it skip creating its own.
test('migrates a schema while another schema of the database holds same-named tables', { skip: !onPostgres && 'PostgreSQL not reachable' }, async () => {
  const first = `gh_test_${randomBytes(6).toString('hex')}`;
  const second = `gh_test_${randomBytes(6).toString('hex')}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create schema ${first}; create schema ${second}`);
    const a = openStore(POSTGRES_URL, { postgresSchema: first, poolSize: 2 });
    await a.migrate();
    await a.close();
    const b = openStore(POSTGRES_URL, { postgresSchema: second, poolSize: 2 });
    await b.migrate();
    assert.deepEqual(await b.environments.list(), []);
    await b.close();
    const { rows } = await admin.query('select table_name from information_schema.tables where table_schema = $1 order by table_name', [second]);
    assert.ok(rows.some((r: { table_name: string }) => r.table_name === 'gatehouse_migrations_lock'));
  } finally {
    await admin.query(`drop schema if exists ${first} cascade; drop schema if exists ${second} cascade`);
    await admin.end();
  }
});
