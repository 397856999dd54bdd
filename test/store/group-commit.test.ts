import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import SqliteDatabase from 'better-sqlite3';
import { type Generated, Kysely, sql } from 'kysely';
import { StorageHealthState } from '../../src/store/health.ts';
import { ResilientSqliteDialect } from '../../src/store/sqlite-driver.ts';

/**
 * SQLite group commit (src/store/sqlite-driver.ts): work that arrives together shares one COMMIT,
 * and still nobody is answered before their work is durable, nobody reads uncommitted work, and
 * one caller's failure is theirs alone unless the COMMIT itself fails.
 */

interface Tables {
  parent: { id: Generated<number> };
  item: { id: Generated<number>; parent_id: number | null; label: string };
}

describe('SQLite group commit', () => {
  let dir: string;
  let path: string;
  let db: Kysely<Tables>;
  /** Another connection to the same file: it sees only what has been committed. */
  let outside: SqliteDatabase.Database;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-group-commit-'));
    path = join(dir, 'db.sqlite');
    const sqlite = new SqliteDatabase(path);
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('foreign_keys = ON');
    sqlite.pragma('busy_timeout = 0');
    sqlite.exec('CREATE TABLE parent (id INTEGER PRIMARY KEY)');
    // Deferred: a violation is found at COMMIT, which is how these tests make a COMMIT fail.
    sqlite.exec(
      'CREATE TABLE item (id INTEGER PRIMARY KEY, parent_id INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED, label TEXT NOT NULL UNIQUE)',
    );
    // The log only grows (no checkpoint moves it back): its size counts the pages committed.
    sqlite.pragma('wal_autocheckpoint = 0');
    db = new Kysely<Tables>({ dialect: new ResilientSqliteDialect(sqlite, new StorageHealthState(), 2_000) });
    outside = new SqliteDatabase(path, { readonly: true });
  });

  after(async () => {
    outside.close();
    await db.destroy();
    rmSync(dir, { recursive: true, force: true });
  });

  const committed = (label: string) => outside.prepare('SELECT count(*) AS n FROM item WHERE label = ?').get(label) as { n: number };
  const insert = (label: string, parent: number | null = null) => db.insertInto('item').values({ label, parent_id: parent }).execute();

  /** Pages written to the log so far: each commit writes the pages it changed (4 KiB and a 24-byte frame header each). */
  const loggedPages = () => statSync(`${path}-wal`).size / (4096 + 24);

  it('answers each write only once it is committed, and commits writes that arrive together once', async () => {
    await insert('warm-up');
    const before = loggedPages();
    const labels = Array.from({ length: 20 }, (_, i) => `together-${i}`);
    await Promise.all(
      labels.map(async (label) => {
        await insert(label);
        assert.equal(committed(label).n, 1, `${label} was answered before it was committed`);
      }),
    );
    // Twenty commits of their own would log at least twenty pages (the table's, and its index's).
    const pages = loggedPages() - before;
    assert.ok(pages < 10, `${pages} pages logged for ${labels.length} writes`);
  });

  it('answers each transaction only once it is committed; one rolled back undoes only its own work', async () => {
    const work = Array.from({ length: 10 }, (_, i) =>
      db
        .transaction()
        .execute(async (trx) => {
          await trx
            .insertInto('item')
            .values({ label: `trx-${i}`, parent_id: null })
            .execute();
          await trx
            .insertInto('item')
            .values({ label: `trx-${i}-b`, parent_id: null })
            .execute();
          if (i % 3 === 0) throw new Error(`transaction ${i} gives up`);
          return i;
        })
        .then((i) => {
          assert.equal(committed(`trx-${i}`).n + committed(`trx-${i}-b`).n, 2, `transaction ${i} was answered before it was committed`);
          return i;
        }),
    );
    const outcomes = await Promise.allSettled(work);
    for (const [i, outcome] of outcomes.entries()) {
      assert.equal(outcome.status, i % 3 === 0 ? 'rejected' : 'fulfilled', `transaction ${i}`);
      if (outcome.status === 'rejected') assert.equal((outcome.reason as Error).message, `transaction ${i} gives up`);
      assert.equal(committed(`trx-${i}`).n, i % 3 === 0 ? 0 : 1, `transaction ${i}`);
    }
  });

  it('fails only the write whose statement fails; the others of its batch commit', async () => {
    await insert('unique-1');
    const outcomes = await Promise.allSettled([insert('batch-a'), insert('unique-1'), insert('batch-b')]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    assert.equal(((outcomes[1] as PromiseRejectedResult).reason as { code?: string }).code, 'SQLITE_CONSTRAINT_UNIQUE');
    assert.equal(committed('batch-a').n + committed('batch-b').n, 2);
  });

  it('never lets a read outside a transaction see work not yet committed', async () => {
    const writing = insert('seen-after-commit');
    const read = db.selectFrom('item').select('label').where('label', '=', 'seen-after-commit').execute();
    const rows = await read;
    // The read waited for the batch: what it saw is committed, as another connection can tell.
    assert.deepEqual(rows, [{ label: 'seen-after-commit' }]);
    assert.equal(committed('seen-after-commit').n, 1);
    await writing;
  });

  it('fails every member of a batch whose COMMIT fails, and writes none of them', async () => {
    const outcomes = await Promise.allSettled([
      insert('lost-a'),
      insert('lost-orphan', 999),
      db.transaction().execute(async (trx) => {
        await trx.insertInto('item').values({ label: 'lost-b', parent_id: null }).execute();
      }),
    ]);
    assert.deepEqual(
      outcomes.map((o) => o.status),
      ['rejected', 'rejected', 'rejected'],
    );
    // Each is told why: the COMMIT's own error (the deferred foreign key), not a later one.
    for (const outcome of outcomes) assert.equal(((outcome as PromiseRejectedResult).reason as { code?: string }).code, 'SQLITE_CONSTRAINT_FOREIGNKEY');
    for (const label of ['lost-a', 'lost-orphan', 'lost-b']) assert.equal(committed(label).n, 0, label);
    // The next writes start a new batch and commit.
    await insert('after-the-failure');
    assert.equal(committed('after-the-failure').n, 1);
    const { rows } = await sql<{ n: number }>`select count(*) as n from item where label like 'lost-%'`.execute(db);
    assert.equal(rows[0]?.n, 0);
  });
});
