import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { SignJWT } from 'jose';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, suiteStore } from '../helpers/fixtures.ts';

const FORM = 'application/x-www-form-urlencoded';

for (const database of await testDatabases()) {
  describe(`hostile input and throttling edges on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });

    async function setup(overrides = {}) {
      const t = await suite.build(overrides);
      const env = `hard-${database.name}-${Math.random().toString(36).slice(2, 8)}`;
      await t.admin.createEnvironment(env);
      const client = await t.admin.createClient({ env, name: 'svc', scopes: ['read'] });
      const post = (url: string, payload: string, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
        t.app.server.inject({ method: 'POST', url, headers: { 'content-type': FORM, ...headers }, payload, remoteAddress });
      return { t, env, id: client.client_id, secret: client.client_secret ?? '', post };
    }

    it('answers NUL characters with 4xx, never 500 (PostgreSQL cannot store them)', async () => {
      const { env, post, t } = await setup();
      const body = await post(`/envs/${env}/token`, 'grant_type=client_credentials&client_id=%00&client_secret=x');
      assert.equal(body.statusCode, 400);
      assert.equal(body.json().error, 'invalid_request');
      const header = await post(`/envs/${env}/token`, form({ grant_type: 'client_credentials' }), { authorization: basic('a\u0000', 'x') });
      assert.equal(header.statusCode, 401);
      assert.equal(header.json().error, 'invalid_client');
      const path = await t.app.server.inject({ method: 'GET', url: '/envs/%00/jwks.json' });
      assert.equal(path.statusCode, 404);
      const { privateKey } = await import('jose').then((jose) => jose.generateKeyPair('ES256'));
      const assertion = await new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid: 'k\u0000' }).sign(privateKey);
      const grant = await post(`/envs/${env}/token`, form({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion }));
      assert.equal(grant.statusCode, 400);
      assert.equal(grant.json().error, 'invalid_grant');
    });

    it('does not let failures against a public client id lock out its right secret, from any source', async () => {
      const { env, id, secret, post } = await setup({ authFailureLimit: 3, authFailureClientLimit: 5, authFailureSourceLimit: 4 });
      const url = `/envs/${env}/token`;
      const cc = form({ grant_type: 'client_credentials' });
      for (let i = 0; i < 5; i++) assert.equal((await post(url, cc, { authorization: basic(id, 'wrong') }, `10.0.0.${i + 1}`)).statusCode, 401);
      // The id is over its ceiling: wrong secrets are now refused with 429 from anywhere…
      const guessed = await post(url, cc, { authorization: basic(id, 'wrong') }, '10.0.0.9');
      assert.equal(guessed.statusCode, 429);
      assert.ok(Number(guessed.headers['retry-after']) > 0);
      // …but the client's own secret still works, from a new source and from one that failed.
      assert.equal((await post(url, cc, { authorization: basic(id, secret) }, '10.0.0.10')).statusCode, 200);
      assert.equal((await post(url, cc, { authorization: basic(id, secret) }, '10.0.0.9')).statusCode, 200);
    });

    it('answers an overlong environment segment or a malformed path in its own envelope, never Fastify’s', async () => {
      const { t } = await setup();
      const long = 'A'.repeat(5000);
      for (const [method, url, status] of [
        ['POST', `/envs/${long}/token`, 414],
        ['GET', `/envs/${long}/jwks.json`, 414],
        ['GET', `/envs/${long}/authorize`, 414],
        ['GET', `/.well-known/oauth-authorization-server/envs/${long}`, 414],
        ['GET', '/envs/%E0%A4%A/jwks.json', 400],
      ] as const) {
        const res = await t.app.server.inject({
          method,
          url,
          headers: { 'content-type': FORM },
          ...(method === 'POST' ? { payload: 'grant_type=client_credentials' } : {}),
        });
        assert.equal(res.statusCode, status, `${method} ${url.slice(0, 40)}: ${res.body}`);
        assert.deepEqual(Object.keys(res.json()).sort(), ['error', 'error_description']);
        assert.equal(res.json().error, 'invalid_request');
        assert.doesNotMatch(res.body, /FST_|AAAAAAAAAA/);
      }
    });

    it('the lockout attack: 20 wrong secrets from one address, then the right one from that same address (clients behind one NAT)', async () => {
      const { env, id, secret, post } = await setup();
      const url = `/envs/${env}/token`;
      const cc = form({ grant_type: 'client_credentials' });
      const statuses = [];
      for (let i = 0; i < 25; i++) statuses.push((await post(url, cc, { authorization: basic(id, 'wrong') }, '198.51.100.7')).statusCode);
      assert.deepEqual(statuses, [...Array(20).fill(401), ...Array(5).fill(429)]);
      assert.equal((await post(url, cc, { authorization: basic(id, secret) }, '198.51.100.7')).statusCode, 200);
    });
  });
}
