import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashSecret } from '../../src/crypto/secrets.ts';
import type { Environment } from '../../src/domain/model.ts';
import { type ImportReport, runImport } from '../../src/import/engine.ts';
import { IMPORT_SOURCES } from '../../src/import/sources.ts';
import { testDatabases } from '../helpers/databases.ts';
import { type DoorkeeperSeed, seedDoorkeeper } from '../helpers/doorkeeper-fixture.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { type SourceDb, sourceDatabases } from '../helpers/source-databases.ts';

/*
 * Two Doorkeeper databases on one server (two schemas of one PostgreSQL database, or two MariaDB
 * databases) imported into one environment, each under the source id derived from its URL: their
 * users share ids (1, 2, 3) and stay two sets of users; the application id both have is refused
 * in the second.
 */

const LIFETIMES = { refreshTokenIdleTtl: 14 * 86_400, refreshTokenAbsoluteTtl: 90 * 86_400 };
const doorkeeper = IMPORT_SOURCES.doorkeeper;
const sources = await sourceDatabases();

for (const database of await testDatabases()) {
  for (const kind of sources) {
    describe(`two Doorkeeper databases on ${kind.name} imported into one environment on ${database.name}`, () => {
      const suite = suiteStore(database, { before, after });
      let t: TestApp;
      let env: Environment;
      const dbs: SourceDb[] = [];
      const seeds: DoorkeeperSeed[] = [];

      const importFrom = async (db: SourceDb, dryRun = false): Promise<ImportReport> => {
        assert.ok(doorkeeper);
        const opened = await doorkeeper.open({ from: db.url, usersTable: 'users' });
        try {
          return await runImport(opened.records, {
            env,
            store: t.store,
            clock: t.clock,
            lifetimes: LIFETIMES,
            sourceId: doorkeeper.defaultSourceId(db.url),
            dryRun,
          });
        } finally {
          await opened.close();
        }
      };

      before(async () => {
        t = await suite.build();
        t.clock.set(Date.now());
        await t.admin.createEnvironment('PRODUCTION');
        const found = await t.store.environments.findByName('PRODUCTION');
        assert.ok(found);
        env = found;
        for (const _ of [1, 2]) {
          const db = await kind.open();
          dbs.push(db);
          seeds.push(await seedDoorkeeper(db, t.clock.now()));
        }
        // The second provider's users have other e-mail addresses but the same ids.
        const second = dbs[1];
        assert.ok(second);
        await second.exec(second.dialect === 'postgres' ? "update users set email = 'second-' || email" : "update users set email = concat('second-', email)");
      });
      after(async () => {
        for (const db of dbs) await db.cleanup();
      });

      it('keeps both sources apart: distinct users whose refresh tokens name them, the shared application id refused with its reason', async () => {
        const [first, second] = dbs;
        const [firstSeed, secondSeed] = seeds;
        assert.ok(first && second && firstSeed && secondSeed);
        const firstId = doorkeeper?.defaultSourceId(first.url);
        assert.notEqual(firstId, doorkeeper?.defaultSourceId(second.url));
        assert.doesNotMatch(String(firstId), /@|password/);
        assert.equal((await importFrom(first)).counts.user.imported, 2);
        const dry = await importFrom(second, true);
        const real = await importFrom(second);
        assert.deepEqual(dry.counts, real.counts);
        assert.deepEqual(dry.refused, real.refused);
        assert.deepEqual(real.counts.user, { imported: 2, updated: 0, unchanged: 0, skipped: 0 });
        assert.deepEqual(real.refused, [
          {
            kind: 'client',
            what: 'client "legacy-reporting"',
            reason: `this client id belongs to a client imported from source ${JSON.stringify(firstId)} (not imported)`,
          },
        ]);
        const alice = await t.store.users.findByUsername(env.id, 'alice@example.test');
        const secondAlice = await t.store.users.findByUsername(env.id, 'second-alice@example.test');
        assert.ok(alice && secondAlice);
        assert.notEqual(alice.userId, secondAlice.userId);
        const owner = async (seed: DoorkeeperSeed) =>
          (await t.store.tokenFamilies.findRefreshToken(env.id, hashSecret(String(seed.tokens.live.refreshToken))))?.userId;
        assert.equal(await owner(firstSeed), alice.userId);
        assert.equal(await owner(secondSeed), secondAlice.userId);
      });

      it('re-imports each source unchanged', async () => {
        for (const db of dbs) {
          const again = await importFrom(db);
          for (const counts of Object.values(again.counts)) assert.equal(counts.imported + counts.updated, 0, JSON.stringify(again.counts));
        }
      });
    });
  }
}
