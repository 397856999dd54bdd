import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { checkSourceId, databaseSourceId, fileSourceId } from '../../src/import/source-id.ts';
import { IMPORT_SOURCES } from '../../src/import/sources.ts';

describe('import source ids', () => {
  it('derives a database source id without the user, the password or other query parameters', () => {
    assert.equal(
      databaseSourceId('doorkeeper', 'mysql://reader:s3cret@DB.internal:3306/rightsignature?ssl=true#x'),
      'doorkeeper:mysql://db.internal/rightsignature',
    );
    assert.equal(
      databaseSourceId('doorkeeper', 'postgresql://reader:s3cret@db.internal:6432/rails?sslpassword=p&sslmode=require'),
      'doorkeeper:postgres://db.internal:6432/rails',
    );
    assert.equal(databaseSourceId('hydra', 'mariadb://db/hydra'), 'hydra:mysql://db/hydra');
    // The schema chosen in the URL and a socket directory tell sources in one server apart.
    assert.equal(
      databaseSourceId('doorkeeper', 'postgres://u:p@127.0.0.1:5432/test?options=-c%20search_path%3Deu%20-c%20work_mem%3D4MB&host=/run/pg'),
      'doorkeeper:postgres://127.0.0.1/test?host=%2Frun%2Fpg&search_path=eu',
    );
    assert.equal(
      IMPORT_SOURCES.doorkeeper?.defaultSourceId('postgres://a:b@h/db'),
      IMPORT_SOURCES.doorkeeper?.defaultSourceId('postgres://c:d@h:5432/db'),
      'whoever reads it, however the URL is spelt',
    );
    assert.notEqual(IMPORT_SOURCES.doorkeeper?.defaultSourceId('postgres://h/db'), IMPORT_SOURCES.hydra?.defaultSourceId('postgres://h/db'));
  });

  it('never puts a password of any shape into the id, and names no URL in its error', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 6 }), fc.string({ minLength: 6 }), (user, password) => {
        const url = `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@db.internal/app?sslpassword=${encodeURIComponent(password)}`;
        const id = databaseSourceId('doorkeeper', url);
        assert.equal(id, 'doorkeeper:postgres://db.internal/app');
      }),
    );
    assert.throws(
      () => databaseSourceId('doorkeeper', 'ftp://u:hunter2@h/x'),
      (error: Error) => !error.message.includes('hunter2'),
    );
    assert.throws(
      () => databaseSourceId('doorkeeper', 'not a url hunter2'),
      (error: Error) => !error.message.includes('hunter2'),
    );
  });

  it('names a JSON Lines file by its absolute path, and standard input as one source', () => {
    assert.equal(fileSourceId('jsonl', 'exports/a.jsonl'), `jsonl:${resolve('exports/a.jsonl')}`);
    assert.equal(fileSourceId('jsonl', '-'), 'jsonl:-');
  });

  it('takes an operator-named id of printable characters, never the reserved legacy', () => {
    assert.equal(checkSourceId('doorkeeper-eu prod'), 'doorkeeper-eu prod');
    assert.throws(() => checkSourceId('legacy'), /reserved/);
    assert.throws(() => checkSourceId(''), /1 to 200 characters/);
    assert.throws(() => checkSourceId('x'.repeat(201)), /1 to 200 characters/);
    assert.throws(() => checkSourceId('a\nb'), /control characters/);
    assert.throws(() => checkSourceId('a '), /start or end with a space/);
  });
});
