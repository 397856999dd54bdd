import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import bcrypt from 'bcryptjs';
import SqliteDatabase from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect, SqliteDialect } from 'kysely';
import pg from 'pg';
import type { Environment, User } from '../../src/domain/model.ts';
import { type ImportReport, runImport } from '../../src/import/engine.ts';
import { readJsonLines } from '../../src/import/jsonl.ts';
import { MIGRATIONS } from '../../src/store/migrate.ts';
import { REDIRECT_URI } from '../helpers/authorization.ts';
import { type TestDatabase, testDatabases } from '../helpers/databases.ts';
import { basic, buildTestApp, form, type TestApp } from '../helpers/fixtures.ts';

const HOUR = 3_600_000;
const LIFETIMES = { refreshTokenIdleTtl: 14 * 86_400, refreshTokenAbsoluteTtl: 90 * 86_400 };

interface SourceUser {
  sourceId: string;
  username: string;
}

/** One provider's export: a confidential client, its users, and a live refresh token of the first user. */
function exportOf(now: number, clientId: string, users: SourceUser[], refreshToken: string): string[] {
  const password = { format: 'bcrypt', value: bcrypt.hashSync(`${clientId} password`, 4) };
  return [
    {
      kind: 'client',
      client_id: clientId,
      name: clientId,
      confidential: true,
      secret: { format: 'plain', value: `${clientId}-secret` },
      redirect_uris: [REDIRECT_URI],
      scopes: ['read'],
      grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
      source_version: '1',
    },
    ...users.map((u) => ({ kind: 'user', source_id: u.sourceId, username: u.username, enabled: true, password, source_version: '1' })),
    {
      kind: 'refresh_token',
      token: { format: 'plain', value: refreshToken },
      client_id: clientId,
      user_source_id: users[0]?.sourceId ?? null,
      scopes: ['read'],
      issued_at: new Date(now - HOUR).toISOString(),
      expires_at: null,
      revoked: false,
    },
  ].map((r) => JSON.stringify(r));
}

/** A Kysely of its own on a test database, for what the store does not do: migrating down, as an older Gatehouse's schema. */
function rawDatabase(opened: { url: string; schema?: string }): Kysely<unknown> {
  if (opened.schema === undefined) return new Kysely({ dialect: new SqliteDialect({ database: new SqliteDatabase(opened.url) }) });
  const pool = new pg.Pool({ connectionString: opened.url, options: `-c search_path=${opened.schema}`, max: 1 });
  return new Kysely({ dialect: new PostgresDialect({ pool }) });
}

async function migrateTo(db: Kysely<unknown>, schema: string | undefined, target: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => ({ ...MIGRATIONS }) },
    migrationTableName: 'gatehouse_migrations',
    migrationLockTableName: 'gatehouse_migrations_lock',
    ...(schema ? { migrationTableSchema: schema } : {}),
  });
  const { error } = await migrator.migrateTo(target);
  if (error) throw error;
}

for (const database of await testDatabases()) {
  describe(`imports from several sources into one environment on ${database.name}`, () => {
    let opened: Awaited<ReturnType<TestDatabase['open']>>;
    let t: TestApp;
    let env: Environment;

    const importFrom = (sourceId: string, lines: string[], dryRun = false, into = env): Promise<ImportReport> =>
      runImport(readJsonLines(Readable.from(`${lines.join('\n')}\n`)), {
        env: into,
        store: t.store,
        clock: t.clock,
        lifetimes: LIFETIMES,
        sourceId,
        dryRun,
      });
    const user = async (username: string, into = env): Promise<User> => {
      const found = await t.store.users.findByUsername(into.id, username);
      assert.ok(found, `user ${username}`);
      return found;
    };
    const post = (path: string, auth: string, params: Record<string, string>, into = env) =>
      t.app.server.inject({
        method: 'POST',
        url: `/envs/${into.name}/${path}`,
        headers: { authorization: auth, 'content-type': 'application/x-www-form-urlencoded' },
        payload: form(params),
      });
    /** Refreshes `refreshToken` as `clientId` and returns the `sub` introspection gives the new access token. */
    const subjectAfterRefresh = async (clientId: string, refreshToken: string, into = env): Promise<unknown> => {
      const auth = basic(clientId, `${clientId}-secret`);
      const refreshed = await post('token', auth, { grant_type: 'refresh_token', refresh_token: refreshToken }, into);
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      const introspected = await post('introspect', auth, { token: (refreshed.json() as { access_token: string }).access_token }, into);
      const body = introspected.json() as { active: boolean; sub: unknown };
      assert.equal(body.active, true, introspected.body);
      return body.sub;
    };

    before(async () => {
      opened = await database.open();
      t = await buildTestApp(opened.store);
      await t.admin.createEnvironment('SHARED');
      const found = await t.store.environments.findByName('SHARED');
      assert.ok(found);
      env = found;
    });
    after(async () => {
      await t?.app.stop();
      await opened?.cleanup();
    });

    it('imports two sources whose users share a source id side by side: two users, and their refresh tokens carry distinct subjects', async () => {
      const now = t.clock.now();
      const eu = await importFrom('doorkeeper-eu', exportOf(now, 'eu-app', [{ sourceId: '1', username: 'carol@eu.test' }], 'rt-eu'));
      const us = await importFrom('doorkeeper-us', exportOf(now, 'us-app', [{ sourceId: '1', username: 'dave@us.test' }], 'rt-us'));
      for (const report of [eu, us]) {
        assert.deepEqual(report.counts.user, { imported: 1, updated: 0, unchanged: 0, skipped: 0 });
        assert.deepEqual(report.counts.refresh_token, { imported: 1, updated: 0, unchanged: 0, skipped: 0 });
        assert.deepEqual(report.updated, []);
        assert.deepEqual(report.refused, []);
      }
      const carol = await user('carol@eu.test');
      const dave = await user('dave@us.test');
      assert.notEqual(carol.userId, dave.userId);
      assert.ok(await bcrypt.compare('eu-app password', carol.passwordHash), "carol keeps her own source's password");
      assert.equal(await subjectAfterRefresh('eu-app', 'rt-eu'), carol.userId);
      assert.equal(await subjectAfterRefresh('us-app', 'rt-us'), dave.userId);
    });

    it('re-imports one source idempotently, in a dry run and for real', async () => {
      const lines = exportOf(t.clock.now(), 'eu-app', [{ sourceId: '1', username: 'carol@eu.test' }], 'rt-eu');
      for (const dryRun of [true, false]) {
        const again = await importFrom('doorkeeper-eu', lines, dryRun);
        assert.deepEqual(again.counts.client, { imported: 0, updated: 0, unchanged: 1, skipped: 0 });
        assert.deepEqual(again.counts.user, { imported: 0, updated: 0, unchanged: 1, skipped: 0 });
        assert.deepEqual(again.counts.refresh_token, { imported: 0, updated: 0, unchanged: 1, skipped: 0 });
        assert.deepEqual([again.updated, again.skipped, again.refused], [[], [], []]);
      }
    });

    it('refuses a username or client id another source holds or Gatehouse made, in the dry run as in the real run, writing nothing for it', async () => {
      const now = t.clock.now();
      const native = await t.admin.createClient({ env: env.name, name: 'native', scopes: ['read'] });
      await t.store.users.create({
        envId: env.id,
        userId: 'usr_native',
        username: 'erin@native.test',
        passwordHash: 'x',
        enabled: true,
        createdAt: now,
        updatedAt: now,
      });
      const carolBefore = await user('carol@eu.test');
      const users = [
        { sourceId: '1', username: 'carol@eu.test' },
        { sourceId: '2', username: 'erin@native.test' },
        { sourceId: '3', username: 'frank@third.test' },
        { sourceId: '4', username: 'frank@third.test' },
      ];
      const lines = [
        ...exportOf(now, 'eu-app', users, 'rt-third'),
        ...exportOf(now, native.client_id, [], 'rt-unused').slice(0, 1),
        ...exportOf(now, 'third-app', [], 'rt-unused').slice(0, 1),
      ];
      const dry = await importFrom('third-export', lines, true);
      const real = await importFrom('third-export', lines);
      for (const report of [dry, real]) {
        assert.deepEqual(report.counts.client, { imported: 1, updated: 0, unchanged: 0, skipped: 2 });
        assert.deepEqual(report.counts.user, { imported: 1, updated: 0, unchanged: 0, skipped: 3 });
        assert.deepEqual(report.counts.refresh_token, { imported: 0, updated: 0, unchanged: 0, skipped: 1 });
        assert.deepEqual(report.refused, [
          { kind: 'client', what: 'client "eu-app"', reason: 'this client id belongs to a client imported from source "doorkeeper-eu" (not imported)' },
          { kind: 'user', what: 'user "carol@eu.test"', reason: 'this username belongs to a user imported from source "doorkeeper-eu" (not imported)' },
          { kind: 'user', what: 'user "erin@native.test"', reason: 'a user with this username was created in Gatehouse (not imported)' },
          { kind: 'user', what: 'user "frank@third.test"', reason: 'another user of this source has this username (not imported)' },
          {
            kind: 'client',
            what: `client ${JSON.stringify(native.client_id)}`,
            reason: 'a client with this client id was created in Gatehouse (not imported)',
          },
        ]);
        assert.deepEqual(
          report.skipped.map((s) => s.reason),
          ['its client was not imported from this source'],
        );
      }
      assert.deepEqual(await user('carol@eu.test'), carolBefore, 'carol is untouched');
      assert.equal((await user('erin@native.test')).passwordHash, 'x');
      assert.equal((await t.store.clients.find(env.id, 'eu-app'))?.name, 'eu-app');
      assert.equal((await user('frank@third.test')).username, 'frank@third.test');
      // A run of the refused source again reports the same, and still writes nothing for those records.
      assert.deepEqual((await importFrom('third-export', lines)).refused, real.refused);
    });

    it('lets a user take the username another user of the source gave up in the same run, in the dry run as in the real run', async () => {
      await t.admin.createEnvironment('RENAMES');
      const renames = await t.store.environments.findByName('RENAMES');
      assert.ok(renames);
      const now = t.clock.now();
      await importFrom('renames', exportOf(now, 'r-app', [{ sourceId: '1', username: 'ivy@r.test' }], 'rt-r'), false, renames);
      const lines = exportOf(
        now,
        'r-app',
        [
          { sourceId: '1', username: 'ivy.old@r.test' },
          { sourceId: '2', username: 'ivy@r.test' },
        ],
        'rt-r',
      ).map((line) => line.replace('"source_version":"1"', '"source_version":"2"'));
      // One record per batch: the real run has written the rename when it meets the second user; the dry run never has.
      const run = (dryRun: boolean) =>
        runImport(readJsonLines(Readable.from(`${lines.join('\n')}\n`)), {
          env: renames,
          store: t.store,
          clock: t.clock,
          lifetimes: LIFETIMES,
          sourceId: 'renames',
          dryRun,
          batchSize: 1,
        });
      const dry = await run(true);
      const real = await run(false);
      assert.deepEqual(dry.counts, real.counts);
      assert.deepEqual(real.counts.user, { imported: 1, updated: 1, unchanged: 0, skipped: 0 });
      assert.deepEqual(real.refused, []);
      assert.notEqual((await user('ivy.old@r.test', renames)).userId, (await user('ivy@r.test', renames)).userId);
    });

    it('keeps a mapping written before sources were recorded: the next import of its records adopts it, another source does not', async () => {
      await t.admin.createEnvironment('UPGRADED');
      const upgraded = await t.store.environments.findByName('UPGRADED');
      assert.ok(upgraded);
      const lines = exportOf(t.clock.now(), 'old-app', [{ sourceId: '1', username: 'gina@old.test' }], 'rt-old');
      assert.equal((await importFrom('before-the-upgrade', lines, false, upgraded)).counts.user.imported, 1);
      // Back to the schema of before sources (012), and up again to the latest: the rows come back with no source of their own.
      const raw = rawDatabase(opened);
      try {
        await migrateTo(raw, opened.schema, '012_import');
        await migrateTo(raw, opened.schema, Object.keys(MIGRATIONS).sort().at(-1) ?? '013_import_sources');
      } finally {
        await raw.destroy();
      }
      const legacy = await t.store.imports.findMappings(upgraded.id, 'user', ['1']);
      assert.deepEqual(
        legacy.map((m) => m.sourceId),
        ['legacy'],
      );
      // Another source's user "1" with another username is not the legacy user "1": a user of its own.
      const other = await importFrom(
        'another-export',
        exportOf(t.clock.now(), 'other-app', [{ sourceId: '1', username: 'hank@other.test' }], 'rt-other'),
        false,
        upgraded,
      );
      assert.deepEqual(other.counts.user, { imported: 1, updated: 0, unchanged: 0, skipped: 0 });
      assert.notEqual((await user('hank@other.test', upgraded)).userId, (await user('gina@old.test', upgraded)).userId);
      // The original source, under the id it now has, finds every record unchanged, dry run or not, and adopts the rows.
      for (const dryRun of [true, false]) {
        const again = await importFrom('jsonl:/exports/old.jsonl', lines, dryRun, upgraded);
        assert.deepEqual(again.counts.client, { imported: 0, updated: 0, unchanged: 1, skipped: 0 });
        assert.deepEqual(again.counts.user, { imported: 0, updated: 0, unchanged: 1, skipped: 0 });
        assert.deepEqual(again.counts.refresh_token, { imported: 0, updated: 0, unchanged: 1, skipped: 0 });
        assert.deepEqual(again.refused, []);
      }
      const adopted = await t.store.imports.findMappings(upgraded.id, 'user', ['1']);
      assert.deepEqual(adopted.map((m) => m.sourceId).sort(), ['another-export', 'jsonl:/exports/old.jsonl']);
      assert.equal(await subjectAfterRefresh('old-app', 'rt-old', upgraded), (await user('gina@old.test', upgraded)).userId);
    });
  });
}
