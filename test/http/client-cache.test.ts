import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../helpers/fixtures.ts';

const token = (t: TestApp, env: string, id: string, secret: string) =>
  t.app.server.inject({
    method: 'POST',
    url: `/envs/${env}/token`,
    headers: { authorization: basic(id, secret), 'content-type': 'application/x-www-form-urlencoded' },
    payload: form({ grant_type: 'client_credentials' }),
  });

for (const database of await testDatabases()) {
  describe(`client cache across nodes on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });

    /** Two nodes over one database; changes are made through node A's services. */
    async function twoNodes() {
      const a = await suite.build();
      const b = await suite.build();
      const env = `cache-${database.name}-${Math.random().toString(36).slice(2, 8)}`;
      await a.admin.createEnvironment(env);
      const client = await a.admin.createClient({ env, name: 'svc', scopes: ['read'] });
      return { a, b, env, id: client.client_id, secret: client.client_secret ?? '' };
    }

    it('a node sees a client disabled elsewhere within GATEHOUSE_CACHE_TTL, and at once on the node that changed it', async () => {
      const { a, b, env, id, secret } = await twoNodes();
      assert.equal((await token(b, env, id, secret)).statusCode, 200);
      await a.admin.setClientEnabled(env, id, false);
      assert.equal((await token(a, env, id, secret)).statusCode, 401);
      // Node B still holds the client for at most cacheTtl seconds…
      assert.equal((await token(b, env, id, secret)).statusCode, 200);
      b.clock.advance(b.config.cacheTtl * 1000 - 1);
      assert.equal((await token(b, env, id, secret)).statusCode, 200);
      // …and not a millisecond longer.
      b.clock.advance(1);
      const refused = await token(b, env, id, secret);
      assert.equal(refused.statusCode, 401);
      assert.equal(refused.json().error, 'invalid_client');
    });

    it('a secret rotated on another node works at once, and the old one stops after the overlap', async () => {
      const { a, b, env, id, secret } = await twoNodes();
      assert.equal((await token(b, env, id, secret)).statusCode, 200);
      const rotated = await a.admin.rotateClientSecret(env, id, 30);
      assert.equal((await token(b, env, id, rotated.client_secret)).statusCode, 200);
      assert.equal((await token(b, env, id, secret)).statusCode, 200);
      b.clock.advance(30_001);
      a.clock.advance(30_001);
      assert.equal((await token(b, env, id, secret)).statusCode, 401);
      assert.equal((await token(b, env, id, rotated.client_secret)).statusCode, 200);
    });

    it('a client re-enabled elsewhere is accepted at once (a refusal is confirmed against the database)', async () => {
      const { a, b, env, id, secret } = await twoNodes();
      await a.admin.setClientEnabled(env, id, false);
      assert.equal((await token(b, env, id, secret)).statusCode, 401);
      await a.admin.setClientEnabled(env, id, true);
      assert.equal((await token(b, env, id, secret)).statusCode, 200);
    });
  });
}
