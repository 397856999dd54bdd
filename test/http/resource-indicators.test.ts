import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { LightMyRequestResponse } from 'fastify';
import { decodeJwt, importJWK, SignJWT } from 'jose';
import { ApiService } from '../../src/admin/apis.ts';
import { ServiceAccountService } from '../../src/admin/service-accounts.ts';
import { API_MISS_REREAD_MS } from '../../src/oauth/apis.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, PUBLIC_URL, suiteStore } from '../helpers/fixtures.ts';

const FORM = 'application/x-www-form-urlencoded';
const BILLING = 'https://api.example.test/billing';
const REPORTS = 'https://api.example.test/reports';

function assertError(res: LightMyRequestResponse, status: number, code: string): void {
  assert.equal(res.statusCode, status, res.body);
  assert.equal(res.headers['cache-control'], 'no-store');
  const body = res.json() as Record<string, unknown>;
  assert.equal(body.error, code);
  assert.equal(typeof body.error_description, 'string');
}

for (const database of await testDatabases()) {
  describe(`RFC 8707 resource at the token endpoint on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    /** An environment with a client, a second client, and two APIs that let the first one in. */
    async function setup() {
      const t = await suite.build();
      const env = `res-${database.name}-${++counter}`;
      await t.admin.createEnvironment(env);
      const apis = new ApiService(t.config, t.store, t.clock, (envId) => t.app.core.apis.invalidate(envId));
      const app = await t.admin.createClient({
        env,
        name: 'app',
        scopes: ['invoices:read', 'invoices:write', 'reports:read', 'other'],
        defaultScopes: ['invoices:read', 'other'],
      });
      const stranger = await t.admin.createClient({ env, name: 'stranger', scopes: ['invoices:read'] });
      await apis.create({
        env,
        identifier: BILLING,
        name: 'Billing',
        scopes: [
          { name: 'invoices:read', description: 'Read invoices' },
          { name: 'invoices:write', description: 'Write invoices' },
        ],
        clientIds: [app.client_id],
      });
      await apis.create({
        env,
        identifier: REPORTS,
        name: 'Reports',
        scopes: [{ name: 'reports:read', description: 'Read reports' }],
        tokenFormat: 'opaque',
        accessTokenTtl: 120,
        clientIds: [app.client_id],
      });
      const token = (creds: { client_id: string; client_secret?: string }, payload: string, contentType = FORM) =>
        t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/token`,
          headers: { authorization: basic(creds.client_id, creds.client_secret ?? ''), 'content-type': contentType },
          payload,
        });
      const introspect = (tok: string) =>
        t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/introspect`,
          headers: { authorization: basic(app.client_id, app.client_secret ?? ''), 'content-type': FORM },
          payload: `token=${tok}`,
        });
      return { t, env, apis, app, stranger, token, introspect };
    }

    it('issues a JWT whose aud is the API, with the scope bounded by the API, and introspection answers aud', async () => {
      const { app, token, introspect } = await setup();
      const res = await token(app, `grant_type=client_credentials&resource=${encodeURIComponent(BILLING)}`);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      // Default scopes are those of the client the API defines.
      assert.equal(body.scope, 'invoices:read');
      const claims = decodeJwt(body.access_token);
      assert.equal(claims.aud, BILLING);
      const info = (await introspect(body.access_token)).json();
      assert.equal(info.active, true);
      assert.equal(info.aud, BILLING);
    });

    it("takes the API's token format and lifetime, and introspection answers aud for an opaque token", async () => {
      const { app, token, introspect } = await setup();
      const res = await token(app, `grant_type=client_credentials&resource=${encodeURIComponent(REPORTS)}&scope=reports:read`);
      assert.equal(res.statusCode, 200, res.body);
      const body = res.json();
      assert.match(body.access_token, /^gat_/);
      assert.equal(body.expires_in, 120);
      assert.equal(body.scope, 'reports:read');
      const info = (await introspect(body.access_token)).json();
      assert.equal(info.active, true);
      assert.equal(info.aud, REPORTS);
    });

    it('accepts repeated resource parameters (form) and a JSON array; aud then lists every API', async () => {
      const { app, token, introspect } = await setup();
      const form = await token(
        app,
        `grant_type=client_credentials&resource=${encodeURIComponent(BILLING)}&resource=${encodeURIComponent(REPORTS)}&scope=invoices:read%20reports:read`,
      );
      assert.equal(form.statusCode, 200, form.body);
      assert.deepEqual(decodeJwt(form.json().access_token).aud, [BILLING, REPORTS]);
      assert.deepEqual((await introspect(form.json().access_token)).json().aud, [BILLING, REPORTS]);
      const json = await token(
        app,
        JSON.stringify({ grant_type: 'client_credentials', resource: [BILLING, REPORTS], scope: 'invoices:write' }),
        'application/json',
      );
      assert.equal(json.statusCode, 200, json.body);
      assert.deepEqual(decodeJwt(json.json().access_token).aud, [BILLING, REPORTS]);
      // Any other parameter sent twice is still refused.
      assertError(await token(app, 'grant_type=client_credentials&scope=a&scope=b'), 400, 'invalid_request');
    });

    it('answers invalid_target for a malformed, unknown or forbidden resource', async () => {
      const { app, stranger, token } = await setup();
      for (const resource of ['relative/path', `${BILLING}#fragment`, 'https://api.example.test/unknown']) {
        assertError(await token(app, `grant_type=client_credentials&resource=${encodeURIComponent(resource)}`), 400, 'invalid_target');
      }
      assertError(await token(stranger, `grant_type=client_credentials&resource=${encodeURIComponent(BILLING)}`), 400, 'invalid_target');
      // One bad resource among good ones refuses the request.
      assertError(
        await token(app, `grant_type=client_credentials&resource=${encodeURIComponent(BILLING)}&resource=https%3A%2F%2Fnope.test`),
        400,
        'invalid_target',
      );
    });

    it('refuses a scope the named API does not define, even one the client has', async () => {
      const { app, token } = await setup();
      assertError(await token(app, `grant_type=client_credentials&resource=${encodeURIComponent(BILLING)}&scope=other`), 400, 'invalid_scope');
      assertError(await token(app, `grant_type=client_credentials&resource=${encodeURIComponent(BILLING)}&scope=reports:read`), 400, 'invalid_scope');
    });

    it('without resource: the default API when the client may use it, otherwise the issuer as before', async () => {
      const { t, env, apis, app, stranger, token } = await setup();
      const before = await token(app, 'grant_type=client_credentials');
      assert.equal(decodeJwt(before.json().access_token).aud, `${PUBLIC_URL}/envs/${env}`);
      assert.equal(before.json().scope, 'invoices:read other');
      await apis.update(env, BILLING, { isDefault: true });
      const res = await token(app, 'grant_type=client_credentials');
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(decodeJwt(res.json().access_token).aud, BILLING);
      assert.equal(res.json().scope, 'invoices:read');
      const other = await token(stranger, 'grant_type=client_credentials');
      assert.equal(decodeJwt(other.json().access_token).aud, `${PUBLIC_URL}/envs/${env}`);
      // Another process (as `admin bootstrap` does) opens the default API to the stranger: its
      // next token, naming no resource, is for the API at once, not after the node's cache expires.
      t.clock.advance(API_MISS_REREAD_MS);
      await new ApiService(t.config, t.store, t.clock, () => undefined).allowClients(env, BILLING, [app.client_id, stranger.client_id]);
      const opened = await token(stranger, 'grant_type=client_credentials');
      assert.equal(decodeJwt(opened.json().access_token).aud, BILLING);
    });

    it('a service account names an API with the jwt-bearer grant', async () => {
      const { t, env, apis } = await setup();
      const accounts = new ServiceAccountService(t.config, t.store, t.clock);
      const account = await accounts.create({ env, name: 'robot', scopes: ['invoices:read'] });
      const key = await accounts.createKey(env, account.service_account_id, 'ES256');
      const issuer = `${PUBLIC_URL}/envs/${env}`;
      const iat = Math.floor(t.clock.now() / 1000);
      const assertion = async () =>
        new SignJWT({ iss: account.service_account_id, sub: account.service_account_id, aud: issuer, iat, exp: iat + 60, jti: crypto.randomUUID() })
          .setProtectedHeader({ alg: key.alg, kid: key.kid })
          .sign(await importJWK(key.private_jwk, key.alg));
      const post = async (resource: string) =>
        t.app.server.inject({
          method: 'POST',
          url: `/envs/${env}/token`,
          headers: { 'content-type': FORM },
          payload: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: await assertion(), resource }).toString(),
        });
      assertError(await post(BILLING), 400, 'invalid_target');
      await apis.allowClients(env, BILLING, [account.service_account_id]);
      const res = await post(BILLING);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(decodeJwt(res.json().access_token).aud, BILLING);
      assert.equal(res.json().scope, 'invoices:read');
    });

    it('the OpenAPI document describes resource at the token and authorization endpoints', async () => {
      const { t, env } = await setup();
      const doc = (await t.app.server.inject(`/envs/${env}/openapi.json`)).json();
      const token = doc.paths[`/envs/${env}/token`].post.requestBody.content['application/json'].schema.properties.resource;
      assert.deepEqual(token.oneOf, [
        { type: 'string', format: 'uri' },
        { type: 'array', items: { type: 'string', format: 'uri' } },
      ]);
      assert.match(token.description, /RFC 8707/);
      const authorize = doc.paths[`/envs/${env}/authorize`].get.parameters.find((p: { name: string }) => p.name === 'resource');
      assert.deepEqual(
        { ...authorize, description: undefined },
        {
          name: 'resource',
          in: 'query',
          required: false,
          schema: { type: 'array', items: { type: 'string', format: 'uri' } },
          explode: true,
          description: undefined,
        },
      );
    });

    it('a token for a deleted API is no longer active at introspection', async () => {
      const { env, apis, app, token, introspect } = await setup();
      const res = await token(app, `grant_type=client_credentials&resource=${encodeURIComponent(BILLING)}`);
      await apis.delete(env, BILLING);
      assert.deepEqual((await introspect(res.json().access_token)).json(), { active: false });
    });

    it('an API created by another process (the CLI, another node) is usable at once; made-up resources cost one read a second', async () => {
      const { t, env, app, token } = await setup();
      // A second node over the same database, to introspect what the first issues.
      const other = await suite.build();
      const introspectOn = async (tok: string) =>
        (
          await other.app.server.inject({
            method: 'POST',
            url: `/envs/${env}/introspect`,
            headers: { authorization: basic(app.client_id, app.client_secret ?? ''), 'content-type': FORM },
            payload: `token=${tok}`,
          })
        ).json() as { active: boolean; aud?: unknown };
      // Both nodes' lists are cached: a token for Billing, introspected on the other node.
      const billing = await token(app, `grant_type=client_credentials&resource=${encodeURIComponent(BILLING)}`);
      assert.equal(billing.statusCode, 200);
      assert.equal((await introspectOn(billing.json().access_token)).active, true);
      // Another process writes the API: nothing tells this node.
      const elsewhere = new ApiService(t.config, t.store, t.clock, () => undefined);
      const fresh = 'https://api.example.test/fresh';
      await elsewhere.create({ env, identifier: fresh, name: 'Fresh', scopes: [{ name: 'other', description: 'Other' }], clientIds: [app.client_id] });
      const res = await token(app, `grant_type=client_credentials&resource=${encodeURIComponent(fresh)}`);
      assert.equal(res.statusCode, 200, res.body);
      assert.equal(decodeJwt(res.json().access_token).aud, fresh);
      // The other node learns of the API from the token's aud, not after its cache expires.
      assert.deepEqual(await introspectOn(res.json().access_token).then((r) => [r.active, r.aud]), [true, fresh]);

      const apisStore = t.store.apis;
      const list = apisStore.list.bind(apisStore);
      let reads = 0;
      apisStore.list = (envId) => {
        reads++;
        return list(envId);
      };
      try {
        t.clock.advance(API_MISS_REREAD_MS);
        for (let i = 0; i < 5; i++) assertError(await token(app, `grant_type=client_credentials&resource=https://made-up.example/${i}`), 400, 'invalid_target');
        assert.equal(reads, 1, 'one read for five misses within a second');
        t.clock.advance(API_MISS_REREAD_MS);
        assertError(await token(app, 'grant_type=client_credentials&resource=https://made-up.example/again'), 400, 'invalid_target');
        assert.equal(reads, 2);
      } finally {
        apisStore.list = list;
      }
    });
  });
}
