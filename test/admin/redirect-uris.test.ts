import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AdminError } from '../../src/admin/admin-service.ts';
import { testDatabases } from '../helpers/databases.ts';
import { suiteStore, type TestApp } from '../helpers/fixtures.ts';

const [sqlite] = await testDatabases();

describe('redirect URI registration', () => {
  const suite = suiteStore(sqlite as NonNullable<typeof sqlite>, { before, after });
  let t: TestApp;
  before(async () => {
    t = await suite.build();
    await t.admin.createEnvironment('DEVELOPMENT');
  });
  const register = (uri: string) =>
    t.admin.createClient({ env: 'DEVELOPMENT', name: 'app', grantTypes: ['authorization_code'], scopes: ['read'], redirectUris: [uri] });

  for (const [uri, reason] of [
    ['https://app.example.test', /canonical form: https:\/\/app\.example\.test\//],
    ['https://APP.example.test/cb', /canonical form/],
    ['https://app.example.test/a b', /canonical form/],
    ['https://app.example.test/caf\u00e9', /canonical form/],
    ['https://app.example.test/cb#x', /fragment/],
    ['javascript:alert(1)', /scheme javascript: is not allowed/],
    ['data:text/html,hi', /scheme data: is not allowed/],
    ['https://user:pw@app.example.test/cb', /credentials/],
    ['http://app.example.test/cb', /https/],
    ['https://app.example.test/cb?code=1', /code parameter/],
    ['https://app.example.test/cb?state=x', /state parameter/],
    ['not a uri', /absolute URI/],
  ] as const) {
    it(`refuses ${JSON.stringify(uri)}`, async () => {
      await assert.rejects(register(uri), (error: unknown) => error instanceof AdminError && error.kind === 'invalid_argument' && reason.test(error.message));
    });
  }

  for (const uri of [
    'https://app.example.test/cb',
    'https://app.example.test/cb?tenant=7',
    'http://127.0.0.1/cb',
    'http://[::1]:8080/cb',
    'com.example.app:/oauth2redirect',
  ]) {
    it(`accepts ${uri}`, async () => {
      const created = await register(uri);
      assert.deepEqual(created.redirect_uris, [uri]);
    });
  }

  it('requires a redirect URI for the code flow and the code flow for refresh tokens', async () => {
    await assert.rejects(t.admin.createClient({ env: 'DEVELOPMENT', name: 'x', grantTypes: ['authorization_code'] }), /redirect-uri/);
    await assert.rejects(
      t.admin.createClient({ env: 'DEVELOPMENT', name: 'x', grantTypes: ['refresh_token'], redirectUris: ['https://a.example/cb'] }),
      /authorization_code/,
    );
  });
});
