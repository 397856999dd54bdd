import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { keyedHasher } from '../../src/crypto/secrets.ts';
import { createLogger } from '../../src/server/logger.ts';
import { testDatabases } from '../helpers/databases.ts';
import { KEY_SECRET, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { type AdminFixture, setUpAdmin } from './helpers.ts';

for (const database of await testDatabases()) {
  describe(`admin API keeps secrets out of logs and storage on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let f: AdminFixture;
    let logs = '';
    const stream = new Writable({
      write(chunk, _encoding, done) {
        logs += String(chunk);
        done();
      },
    });

    before(async () => {
      t = await suite.build({ adminPort: 0, passwordHashCost: 10 }, { logger: createLogger('debug', stream) });
      await t.admin.createEnvironment('DEVELOPMENT');
      f = await setUpAdmin(t);
    });

    it('logs each call without its token, body or the secret it returned, and stores the replay without it', async () => {
      const token = await f.token(f.clientId, f.clientSecret);
      const auth = { authorization: `Bearer ${token}` };
      const key = 'create-with-secret-1';
      const created = await f.admin.inject({
        method: 'POST',
        url: '/admin/v1/environments/DEVELOPMENT/clients',
        headers: { ...auth, 'idempotency-key': key },
        payload: { name: 'leak check' },
      });
      assert.equal(created.statusCode, 201);
      const secret = String(created.json().client_secret);
      const password = 'a password nobody may log';
      const user = await f.admin.inject({
        method: 'POST',
        url: '/admin/v1/environments/DEVELOPMENT/users',
        headers: auth,
        payload: { username: 'carol', password },
      });
      assert.equal(user.statusCode, 201);
      const rotated = await f.admin.inject({
        method: 'POST',
        url: `/admin/v1/environments/DEVELOPMENT/clients/${created.json().client_id}/secrets`,
        headers: auth,
      });
      const rotatedSecret = String(rotated.json().client_secret);

      assert.match(logs, /"msg":"admin call"/);
      const refused = await f.admin.inject({ url: '/admin/v1/environments', headers: { authorization: 'Bearer gat_not_a_real_token' } });
      assert.equal(refused.statusCode, 401);
      assert.match(logs, /"operationId":"listEnvironments","status":401/);
      assert.ok(!logs.includes('gat_not_a_real_token'));
      assert.match(logs, /"operationId":"createClient"/);
      for (const value of [token, secret, rotatedSecret, password, f.clientSecret, key]) assert.ok(!logs.includes(value), 'a secret or key reached the log');

      const hash = keyedHasher(KEY_SECRET, 'admin idempotency keys')(`${f.clientId}\n${key}`);
      const stored = await t.store.idempotencyKeys.find(hash, t.clock.now());
      assert.ok(stored, 'the key is stored under its keyed hash');
      assert.ok(!JSON.stringify(stored).includes(secret));
      assert.ok(!JSON.stringify(stored).includes(key));
      assert.equal(JSON.parse(String(stored.response)).client_id, created.json().client_id);
    });
  });
}
