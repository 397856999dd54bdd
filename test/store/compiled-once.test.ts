import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import { compiledOnce, placeholder } from '../../src/store/compiled-once.ts';

interface Db {
  t: { a: string; b: string; c: string };
}

// Compiling needs no connection: the dialects are given drivers that are never asked for one.
const sqlite = new Kysely<Db>({ dialect: new SqliteDialect({ database: async () => assert.fail('no connection') }) });
const postgres = new Kysely<Db>({ dialect: new PostgresDialect({ pool: async () => assert.fail('no connection') }) });

describe('queries compiled once', () => {
  for (const [name, db] of [
    ['SQLite', sqlite],
    ['PostgreSQL', postgres],
  ] as const) {
    it(`binds each call's values to their placeholders, a name used twice included (${name})`, () => {
      const query = compiledOnce<'x' | 'y'>(
        db.selectFrom('t').selectAll().where('a', '=', placeholder('y')).where('b', '=', placeholder('x')).where('c', '=', placeholder('y')),
      );
      const first = query({ x: 'one', y: 'two' });
      const second = query({ x: 'three', y: 'four' });
      assert.deepEqual(first.parameters, ['two', 'one', 'two']);
      assert.deepEqual(second.parameters, ['four', 'three', 'four']);
      assert.equal(first.sql, second.sql);
      assert.equal(first.sql, db.selectFrom('t').selectAll().where('a', '=', 'p').where('b', '=', 'p').where('c', '=', 'p').compile().sql);
    });
  }

  it('refuses a query with a value that is not a placeholder: it would be frozen into every call', () => {
    assert.throws(() => compiledOnce(sqlite.selectFrom('t').selectAll().where('a', '=', 'fixed')), /placeholders only/);
  });
});
