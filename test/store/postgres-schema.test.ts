import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import pg from 'pg';
import { isListingRace } from '../../src/store/migrate.ts';
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

// Kysely's migrator lists the tables of every schema; a schema that another session drops during
// that listing makes PostgreSQL answer 3F000 naming it. Migrations of other databases' tenants
// (or of parallel test files) must not fail Gatehouse's own: the listing is retried.
test('migrates while other sessions create and drop schemas in the same database', { skip: !onPostgres && 'PostgreSQL not reachable' }, async () => {
  const churner = new pg.Client({ connectionString: POSTGRES_URL });
  await churner.connect();
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  const ours: string[] = [];
  let churning = true;
  const churn = (async () => {
    for (let i = 0; churning && i < 2000; i++) {
      const other = `gh_churn_${randomBytes(5).toString('hex')}`;
      await churner.query(`create schema ${other}; create table ${other}.a (x int); create table ${other}.b (y int)`);
      await churner.query(`drop schema ${other} cascade`);
    }
  })();
  try {
    for (let i = 0; i < 12; i++) {
      const schema = `gh_test_${randomBytes(6).toString('hex')}`;
      ours.push(schema);
      await admin.query(`create schema ${schema}`);
      const store = openStore(POSTGRES_URL, { postgresSchema: schema, poolSize: 2 });
      try {
        await store.migrate();
      } finally {
        await store.close();
      }
    }
  } finally {
    churning = false;
    await churn;
    await churner.end();
    for (const schema of ours) await admin.query(`drop schema if exists ${schema} cascade`);
    await admin.end();
  }
});

// What the migrator's listing may meet when another session drops things under it, told apart
// from a failed migration (which Kysely names in its results): only the former is listed again.
test('tells a listing that met another session’s dropped schema, table or column from a failed migration', () => {
  const pgError = (code: string, message: string) => Object.assign(new Error(message), { code });
  const listing = undefined;
  assert.equal(isListingRace(pgError('3F000', 'schema "gh_other" does not exist'), listing, 'gh_ours'), true);
  assert.equal(isListingRace(pgError('3F000', 'schema "gh_ours" does not exist'), listing, 'gh_ours'), false, 'our own schema gone is no race');
  assert.equal(isListingRace(pgError('42703', 'column "subject" of relation "access_tokens" does not exist'), listing, 'gh_ours'), true);
  assert.equal(isListingRace(pgError('42P01', 'relation "gh_other.a" does not exist'), listing, 'gh_ours'), true);
  const failedMigration = [{ status: 'Success' }, { status: 'Error' }];
  assert.equal(isListingRace(pgError('42703', 'column "x" does not exist'), failedMigration, 'gh_ours'), false, 'a migration that failed is not retried');
  assert.equal(isListingRace(pgError('23505', 'duplicate key'), listing, 'gh_ours'), false);
  assert.equal(isListingRace(undefined, listing, 'gh_ours'), false);
});
