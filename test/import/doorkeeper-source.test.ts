import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ImportAccessToken, ImportClient, ImportRecord, ImportRefreshToken, ImportUser } from '../../src/import/records.ts';
import { doorkeeperRecords, secretFormat, tokenValue } from '../../src/import/sources/doorkeeper.ts';
import { openSourceDatabase } from '../../src/import/sources/sql.ts';
import { type DoorkeeperSeed, RS_REDIRECT_URI, seedDoorkeeper, sha256hex } from '../helpers/doorkeeper-fixture.ts';
import { type SourceDb, sourceDatabases } from '../helpers/source-databases.ts';

const NOW = Date.UTC(2026, 5, 1, 12, 0, 0);

async function readAll(url: string, usersTable?: string): Promise<ImportRecord[]> {
  const db = await openSourceDatabase(url);
  try {
    const records: ImportRecord[] = [];
    // A batch of 2 makes the reader page through every table.
    for await (const record of doorkeeperRecords(db, { usersTable, batchSize: 2, now: () => NOW })) records.push(record);
    return records;
  } finally {
    await db.close();
  }
}

describe('Doorkeeper storage shapes', () => {
  it('tells bcrypt, SHA-256 hex and plain secrets apart by shape, or as told', () => {
    assert.equal(secretFormat('$2a$12$abcdefghijklmnopqrstuu', 'auto'), 'bcrypt');
    assert.equal(secretFormat(sha256hex('x'), 'auto'), 'sha256-hex');
    assert.equal(secretFormat('Zx3_kq-abc', 'auto'), 'plain');
    assert.equal(secretFormat(sha256hex('x'), 'plain'), 'plain', 'a hex generator makes plain secrets of the same shape');
    assert.equal(secretFormat('anything', 'sha256'), 'sha256-hex');
    assert.deepEqual(tokenValue(sha256hex('t'), undefined), { format: 'sha256-hex', value: sha256hex('t') });
    assert.deepEqual(tokenValue(sha256hex('t'), 'plain'), { format: 'plain', value: sha256hex('t') });
    assert.deepEqual(tokenValue('abc', 'auto'), { format: 'plain', value: 'abc' });
  });
});

for (const kind of await sourceDatabases()) {
  describe(`the Doorkeeper reader on ${kind.name}`, () => {
    let db: SourceDb;
    let seed: DoorkeeperSeed;
    let records: ImportRecord[];

    before(async () => {
      db = await kind.open();
      seed = await seedDoorkeeper(db, NOW);
      records = await readAll(db.url, 'users');
    });
    after(async () => db?.cleanup());

    const clients = () => records.filter((r): r is ImportClient => r.kind === 'client');
    const client = (uid: string) => clients().find((c) => c.client_id === uid);
    const refresh = (value: string) => records.find((r): r is ImportRefreshToken => r.kind === 'refresh_token' && r.token.value === value);
    const skipped = () => records.filter((r) => r.kind === 'skipped');

    it('reads applications: ids kept, secrets in their stored form, redirect URIs and scopes split, grant types inferred', () => {
      assert.equal(clients().length, 5);
      const hashed = client(seed.apps.bcrypt.uid);
      assert.ok(hashed);
      assert.equal(hashed.secret?.format, 'bcrypt');
      assert.match(String(hashed.secret?.value), /^\$2a\$12\$/);
      assert.deepEqual(hashed.redirect_uris, ['https://app.example.test/callback', RS_REDIRECT_URI]);
      assert.deepEqual(hashed.scopes, ['read', 'write']);
      assert.deepEqual(hashed.grant_types, ['authorization_code', 'refresh_token', 'client_credentials']);
      assert.equal(hashed.confidential, true);
      assert.equal(hashed.name, 'RightSignature integration');
      assert.equal(hashed.source_version, new Date(NOW - 24 * 3_600_000).toISOString());
      assert.deepEqual(client(seed.apps.sha256.uid)?.secret, { format: 'sha256-hex', value: sha256hex(seed.apps.sha256.secret) });
      const plain = client('legacy-reporting');
      assert.deepEqual(plain?.secret, { format: 'plain', value: seed.apps.plain.secret });
      assert.deepEqual(plain?.grant_types, ['client_credentials']);
      assert.deepEqual(plain?.redirect_uris, []);
      const pub = client(seed.apps.public.uid);
      assert.equal(pub?.confidential, false);
      assert.equal(pub?.secret, null);
      assert.equal(pub?.token_endpoint_auth_method, 'none');
      assert.deepEqual(pub?.scopes, ['profile', 'read'], 'an application without scopes gets those its tokens hold');
    });

    it("says that a public application's secret stays behind, and why", () => {
      const desktop = client(seed.apps.desktop.uid);
      assert.equal(desktop?.secret, null);
      assert.equal(desktop?.token_endpoint_auth_method, 'none');
      const skip = skipped().find((s) => s.kind === 'skipped' && s.what === `the secret of public application "${seed.apps.desktop.uid}"`);
      assert.ok(skip && skip.kind === 'skipped' && /make the application confidential/.test(skip.reason));
      assert.ok(!JSON.stringify(records).includes(seed.apps.desktop.secret));
    });

    it('reads Devise users with their bcrypt password; a locked one comes over disabled, one without a password is skipped', () => {
      const users = records.filter((r): r is ImportUser => r.kind === 'user');
      assert.deepEqual(
        users.map((u) => [u.source_id, u.username, u.enabled]),
        [
          ['1', 'alice@example.test', true],
          ['2', 'mallory@example.test', false],
        ],
      );
      // Devise's email is the username here and the email attribute too; without confirmable, not verified.
      assert.deepEqual(
        users.map((u) => [u.email, u.email_verified]),
        [
          ['alice@example.test', false],
          ['mallory@example.test', false],
        ],
      );
      assert.equal(users[0]?.password.format, 'bcrypt');
      assert.match(String(users[0]?.password.value), /^\$2a\$12\$/);
      assert.ok(skipped().some((s) => s.kind === 'skipped' && s.what === 'user 3 of users' && /no bcrypt password/.test(s.reason)));
    });

    it('skips the access grants once, with the reason', () => {
      const grants = skipped().find((s) => s.kind === 'skipped' && s.what.startsWith('oauth_access_grants'));
      assert.ok(grants && grants.kind === 'skipped');
      assert.equal(grants.what, 'oauth_access_grants (1 row)');
      assert.match(grants.reason, /authorization codes/);
    });

    it('reads refresh tokens with their access token, plain or SHA-256, revoked ones marked, rotated ones skipped', () => {
      const live = refresh(String(seed.tokens.live.refreshToken));
      assert.ok(live);
      assert.equal(live.client_id, seed.apps.bcrypt.uid);
      assert.equal(live.user_source_id, '1');
      assert.equal(live.expires_at, null, 'Doorkeeper refresh tokens do not expire');
      assert.equal(live.revoked, false);
      assert.deepEqual(live.scopes, ['read']);
      assert.equal(live.issued_at, new Date(NOW - 600_000).toISOString());
      assert.deepEqual(live.access_token, {
        format: 'plain',
        value: seed.tokens.live.token,
        expires_at: new Date(NOW - 600_000 + 7_200_000).toISOString(),
        revoked: false,
      });
      assert.equal(refresh(String(seed.tokens.revoked.refreshToken))?.revoked, true);
      assert.equal(refresh(String(seed.tokens.expiredAccess.refreshToken))?.access_token?.expires_at, new Date(NOW - 3 * 3_600_000 + 7_200_000).toISOString());
      const hashed = refresh(sha256hex(String(seed.tokens.hashed.refreshToken)));
      assert.equal(hashed?.token.format, 'sha256-hex');
      assert.deepEqual(hashed?.access_token?.value, sha256hex(seed.tokens.hashed.token));
      assert.equal(refresh(String(seed.tokens.rotatedOld.refreshToken)), undefined);
      assert.ok(refresh(String(seed.tokens.rotatedNew.refreshToken)));
      assert.ok(skipped().some((s) => s.kind === 'skipped' && s.what === 'refresh token row 7' && /already rotated/.test(s.reason)));
    });

    it('reads access tokens without a refresh token; one that never expires is skipped', () => {
      const access = records.filter((r): r is ImportAccessToken => r.kind === 'access_token');
      assert.deepEqual(
        access.map((a) => [a.token.value, a.user_source_id, a.client_id]),
        [
          [seed.tokens.machine.token, null, 'legacy-reporting'],
          [seed.tokens.machineExpired.token, null, 'legacy-reporting'],
        ],
      );
      assert.equal(access[0]?.expires_at, new Date(NOW - 300_000 + 7_200_000).toISOString());
      assert.ok(skipped().some((s) => s.kind === 'skipped' && s.what === 'token row 9' && /never expires/.test(s.reason)));
    });

    it('yields clients and users before the tokens naming them, and never a secret in a skip', () => {
      const firstToken = records.findIndex((r) => r.kind === 'refresh_token' || r.kind === 'access_token');
      const lastOwner = records.findLastIndex((r) => r.kind === 'client' || r.kind === 'user');
      assert.ok(lastOwner < firstToken);
      const text = JSON.stringify(skipped());
      for (const t of Object.values(seed.tokens)) assert.ok(!text.includes(t.token));
    });

    it('reads through a read-only connection', async () => {
      const source = await openSourceDatabase(db.url);
      try {
        await assert.rejects(source.query("update oauth_applications set name = 'x'"), /read.only|READ ONLY/i);
      } finally {
        await source.close();
      }
    });

    it('reads no users without --users-table, and refuses a users table name that is not an identifier', async () => {
      assert.equal((await readAll(db.url)).filter((r) => r.kind === 'user').length, 0);
      await assert.rejects(readAll(db.url, 'users; drop table users'), /plain SQL identifier/);
      await assert.rejects(readAll(db.url, 'members'), /no table members/);
    });

    it('brings a user whose email Gatehouse would refuse without it, and says so without repeating the address', async () => {
      await db.exec(
        "insert into users (id, email, encrypted_password, created_at, updated_at) select 9, 'first last@example', encrypted_password, created_at, updated_at from users where id = 1",
      );
      try {
        const again = await readAll(db.url, 'users');
        const odd = again.find((r): r is ImportUser => r.kind === 'user' && r.source_id === '9');
        assert.deepEqual([odd?.username, odd?.email, odd?.email_verified], ['first last@example', undefined, undefined]);
        const note = again.find((r) => r.kind === 'skipped' && r.what === 'the email of user 9 of users');
        assert.ok(note && note.kind === 'skipped' && /not a valid email address; the user comes over without it/.test(note.reason));
        assert.ok(!note.reason.includes('first last'));
      } finally {
        await db.exec('delete from users where id = 9');
      }
    });
  });
}
