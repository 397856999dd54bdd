import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import type { LightMyRequestResponse } from 'fastify';
import { ServiceAccountService } from '../../../src/admin/service-accounts.ts';
import { type CodeFlowFixture, obtainCode, REDIRECT_URI, setUpCodeFlow } from '../../helpers/authorization.ts';
import { testDatabases } from '../../helpers/databases.ts';
import { basic, form, suiteStore, type TestApp } from '../../helpers/fixtures.ts';
import { createEnvironments, postJson, surfacesConfig } from '../../helpers/surfaces.ts';

type Doc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, { content?: Record<string, { schema: object }> }> }>> };

/**
 * Checks a real response against the OpenAPI document of `env`: the path, method and status
 * must be documented and the body must match that response's schema.
 */
function conforms(doc: Doc, res: LightMyRequestResponse, ajv: InstanceType<typeof Ajv2020>): void {
  const { method, url } = res.raw.req;
  const path = String(url).split('?')[0] ?? '';
  const operation = doc.paths[path]?.[String(method).toLowerCase()];
  assert.ok(operation, `${method} ${path} is in the document`);
  const response = operation.responses[String(res.statusCode)];
  assert.ok(response, `${method} ${path} documents status ${res.statusCode} (${res.body})`);
  const schema = response.content?.['application/json']?.schema;
  if (!schema) return;
  const validate = ajv.compile(schema);
  assert.ok(validate(res.json()), `${method} ${path} ${res.statusCode}: ${ajv.errorsText(validate.errors)} in ${res.body}`);
}

for (const database of await testDatabases()) {
  describe(`OpenAPI document and contract on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    const docs: Record<string, Doc> = {};
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    let checked = 0;
    const check = (env: string, res: LightMyRequestResponse) => {
      conforms(docs[env] as Doc, res, ajv);
      checked++;
      return res;
    };

    before(async () => {
      t = await suite.build(surfacesConfig());
      await createEnvironments(t);
      for (const env of ['DEVELOPMENT', 'STAGING', 'PRODUCTION']) {
        const res = await t.app.server.inject({ url: `/envs/${env}/openapi.json` });
        assert.equal(res.statusCode, 200);
        docs[env] = res.json() as Doc;
      }
    });

    it('serves a valid OpenAPI 3.1 document per environment', async () => {
      for (const [env, doc] of Object.entries(docs)) {
        assert.equal(doc.openapi, '3.1.0');
        const result = await new Validator().validate(doc as never);
        assert.ok(result.valid, `${env}: ${JSON.stringify(result.errors)}`);
      }
      assert.equal((await t.app.server.inject({ url: '/envs/NOPE/openapi.json' })).statusCode, 404);
    });

    it('lists exactly the surfaces that serve each environment', () => {
      const production = Object.keys(docs.PRODUCTION?.paths ?? {}).sort();
      assert.deepEqual(production, [
        '/envs/PRODUCTION/.well-known/openid-configuration',
        '/envs/PRODUCTION/authorize',
        '/envs/PRODUCTION/device_authorization',
        '/envs/PRODUCTION/introspect',
        '/envs/PRODUCTION/logout',
        '/envs/PRODUCTION/par',
        '/envs/PRODUCTION/register',
        '/envs/PRODUCTION/register/{client_id}',
        '/envs/PRODUCTION/revoke',
        '/envs/PRODUCTION/token',
        '/envs/PRODUCTION/userinfo',
        '/oauth/authorize',
        '/oauth/revoke',
        '/oauth/token',
        '/oauth/token/info',
        '/v1/oauth/token',
        '/v1beta1/auth/token',
        '/v4/envs/PRODUCTION/oauth2/authorize',
        '/v4/envs/PRODUCTION/oauth2/proofs-token',
      ]);
      const development = Object.keys(docs.DEVELOPMENT?.paths ?? {}).sort();
      assert.deepEqual(development, [
        '/envs/DEVELOPMENT/.well-known/openid-configuration',
        '/envs/DEVELOPMENT/authorize',
        '/envs/DEVELOPMENT/device_authorization',
        '/envs/DEVELOPMENT/introspect',
        '/envs/DEVELOPMENT/logout',
        '/envs/DEVELOPMENT/par',
        '/envs/DEVELOPMENT/register',
        '/envs/DEVELOPMENT/register/{client_id}',
        '/envs/DEVELOPMENT/revoke',
        '/envs/DEVELOPMENT/token',
        '/envs/DEVELOPMENT/userinfo',
        '/v4/envs/DEVELOPMENT/oauth2/authorize',
        '/v4/envs/DEVELOPMENT/oauth2/proofs-token',
      ]);
    });

    it('describes each route’s own parameters and credentials', () => {
      type Op = {
        requestBody?: { content: Record<string, { schema: { properties: Record<string, unknown> } }> };
        parameters?: { name: string; required: boolean }[];
        security?: unknown[];
      };
      const op = (path: string, method: string) => (docs.PRODUCTION?.paths[path]?.[method] as unknown as Op) ?? assert.fail(`${method} ${path}`);
      const frontier = Object.keys(op('/v1beta1/auth/token', 'post').requestBody?.content['application/json']?.schema.properties ?? {});
      assert.ok(frontier.includes('assertion') && frontier.includes('scope'));
      assert.ok(!frontier.includes('code') && !frontier.includes('refresh_token'));
      const abbey = Object.keys(op('/v1/oauth/token', 'post').requestBody?.content['application/json']?.schema.properties ?? {});
      assert.ok(abbey.includes('clientId') && abbey.includes('client_id') && !abbey.includes('assertion'));
      const required = (path: string) => Object.fromEntries((op(path, 'get').parameters ?? []).map((p) => [p.name, p.required]));
      assert.equal(required('/oauth/authorize').code_challenge, false);
      assert.equal(required('/envs/PRODUCTION/authorize').code_challenge, true);
      assert.deepEqual(op('/oauth/token/info', 'get').security, [{ bearerToken: [] }, {}]);
      // OpenID Connect: the authentication request's parameters, UserInfo behind a bearer token.
      assert.equal(required('/envs/PRODUCTION/authorize').nonce, false);
      assert.equal(required('/envs/PRODUCTION/authorize').prompt, false);
      assert.deepEqual(op('/envs/PRODUCTION/userinfo', 'post').security, [{ bearerToken: [] }]);
      assert.ok((op('/envs/PRODUCTION/logout', 'get').parameters ?? []).some((p) => p.name === 'post_logout_redirect_uri'));
    });

    it('matches real responses of every surface, successes and errors', async () => {
      const cc = await t.admin.createClient({ env: 'PRODUCTION', name: 'machine', scopes: ['read'], defaultScopes: ['read'] });
      const id = cc.client_id;
      const secret = String(cc.client_secret);
      // Standard surface.
      const standard = check(
        'PRODUCTION',
        await postJson(t, '/envs/PRODUCTION/token', { grant_type: 'client_credentials', client_id: id, client_secret: secret }),
      );
      const token = String(standard.json().access_token);
      check('PRODUCTION', await postJson(t, '/envs/PRODUCTION/token', { grant_type: 'client_credentials', client_id: id, client_secret: 'x' }));
      check('PRODUCTION', await postJson(t, '/envs/PRODUCTION/token', { grant_type: 'nope' }));
      check('PRODUCTION', await postJson(t, '/envs/PRODUCTION/introspect', { token, client_id: id, client_secret: secret }));
      check('PRODUCTION', await postJson(t, '/envs/PRODUCTION/introspect', { token: 'x', client_id: id, client_secret: secret }));
      check('PRODUCTION', await postJson(t, '/envs/PRODUCTION/revoke', { token: 'x', client_id: id, client_secret: secret }));
      // OpenID Connect.
      check('PRODUCTION', await t.app.server.inject({ url: '/envs/PRODUCTION/.well-known/openid-configuration' }));
      check('PRODUCTION', await t.app.server.inject({ url: '/envs/PRODUCTION/userinfo' }));
      check('PRODUCTION', await t.app.server.inject({ url: '/envs/PRODUCTION/userinfo', headers: { authorization: `Bearer ${token}` } }));
      check('PRODUCTION', await t.app.server.inject({ url: '/envs/PRODUCTION/logout' }));
      // Frontier.
      check('PRODUCTION', await postJson(t, '/v1beta1/auth/token', { grant_type: 'client_credentials', client_id: id, client_secret: secret }));
      check('PRODUCTION', await postJson(t, '/v1beta1/auth/token', { grant_type: 'client_credentials', client_id: id, client_secret: 'x' }));
      check('PRODUCTION', await postJson(t, '/v1beta1/auth/token', {}));
      const accounts = new ServiceAccountService(t.config, t.store, t.clock);
      const account = await accounts.create({ env: 'PRODUCTION', name: 'robot', scopes: ['read'] });
      const key = await accounts.createKey('PRODUCTION', account.service_account_id, 'ES256');
      check(
        'PRODUCTION',
        await postJson(t, '/v1beta1/auth/token', { grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion: key.example.assertion }),
      );
      // AbbeyCross.
      check('PRODUCTION', await postJson(t, '/v1/oauth/token', { clientId: id, clientSecret: secret }));
      check('PRODUCTION', await postJson(t, '/v1/oauth/token', { clientId: id, clientSecret: 'x' }));
      check('PRODUCTION', await postJson(t, '/v1/oauth/token', { clientId: id, scope: 'admin' }));
      // RightSignature and Ignisign need a user and a code.
      const rs: CodeFlowFixture = await setUpCodeFlow(t, { env: 'PRODUCTION', scopes: ['read'], allowMissingPkce: true });
      const { code } = await obtainCode(t, rs, { authorizePath: '/oauth/authorize', pkce: false });
      const rsToken = check(
        'PRODUCTION',
        await t.app.server.inject({
          method: 'POST',
          url: '/oauth/token',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          payload: form({ grant_type: 'authorization_code', code, client_id: rs.clientId, client_secret: rs.clientSecret, redirect_uri: REDIRECT_URI }),
        }),
      ).json();
      check(
        'PRODUCTION',
        await postJson(t, '/oauth/token', { grant_type: 'refresh_token', refresh_token: 'x', client_id: rs.clientId, client_secret: rs.clientSecret }),
      );
      check('PRODUCTION', await t.app.server.inject({ url: `/oauth/token/info?access_token=${rsToken.access_token}` }));
      check('PRODUCTION', await t.app.server.inject({ url: '/oauth/token/info' }));
      check('PRODUCTION', await postJson(t, '/oauth/revoke', { token: rsToken.access_token }, { authorization: basic(rs.clientId, rs.clientSecret) }));
      const ig = await setUpCodeFlow(t, { env: 'DEVELOPMENT', grantTypes: ['authorization_code'] });
      const pair = await obtainCode(t, ig, { authorizePath: '/v4/envs/DEVELOPMENT/oauth2/authorize' });
      const exchange = {
        grant_type: 'authorization_code',
        client_id: ig.clientId,
        client_secret: ig.clientSecret,
        code: pair.code,
        code_verifier: pair.verifier,
        redirect_uri: REDIRECT_URI,
      };
      check('DEVELOPMENT', await postJson(t, '/v4/envs/DEVELOPMENT/oauth2/proofs-token', exchange));
      check('DEVELOPMENT', await postJson(t, '/v4/envs/DEVELOPMENT/oauth2/proofs-token', exchange));
      check('DEVELOPMENT', await postJson(t, '/v4/envs/DEVELOPMENT/oauth2/proofs-token', { ...exchange, client_secret: 'x' }));
      check('DEVELOPMENT', await postJson(t, '/v4/envs/DEVELOPMENT/oauth2/proofs-token', {}));
      assert.equal(checked, 26);
    });
  });
}
