import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import type { TokenFormat } from '../../src/domain/model.ts';
import { grantRuleViolation, honourableGrantTypes } from '../../src/oauth/grants/index.ts';
import { testDatabases } from '../helpers/databases.ts';
import { basic, form, PUBLIC_URL, suiteStore } from '../helpers/fixtures.ts';

const FORM = 'application/x-www-form-urlencoded';
const CHAIN = { sub: 'gh_service_b', act: { sub: 'gh_service_a' } };
const CNF = { jkt: '0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I' };

for (const database of await testDatabases()) {
  describe(`act and cnf on access tokens on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let counter = 0;

    async function setup(format: TokenFormat) {
      const t = await suite.build();
      const envName = `bind-${database.name}-${++counter}`;
      await t.admin.createEnvironment(envName);
      const client = await t.admin.createClient({ env: envName, name: 'svc', scopes: ['read'], tokenFormat: format });
      const rs = await t.admin.createClient({ env: envName, name: 'rs', scopes: [], introspectAny: true });
      const env = await t.store.environments.findByName(envName);
      const stored = await t.store.clients.find(env?.id ?? '', client.client_id);
      assert.ok(env && stored && rs.client_secret);
      const issuer = `${PUBLIC_URL}/envs/${envName}`;
      const introspect = async (token: string) => {
        const res = await t.app.server.inject({
          method: 'POST',
          url: `/envs/${envName}/introspect`,
          headers: { authorization: basic(rs.client_id, rs.client_secret as string), 'content-type': FORM },
          payload: form({ token }),
        });
        assert.equal(res.statusCode, 200, res.body);
        return res.json() as Record<string, unknown>;
      };
      return { t, env, client: stored, issuer, introspect };
    }

    for (const format of ['jwt', 'opaque'] as const) {
      it(`a ${format} token keeps its actor chain and key binding through reading and introspection`, async () => {
        const { t, env, client, issuer, introspect } = await setup(format);
        const issued = await t.app.core.tokens.issue({ env, issuer, client, subject: 'usr_1', scope: ['read'], act: CHAIN, cnf: CNF });
        assert.equal(issued.tokenType, 'DPoP');
        if (format === 'jwt') {
          const claims = decodeJwt(issued.accessToken);
          assert.deepEqual(claims.act, CHAIN);
          assert.deepEqual(claims.cnf, CNF);
        }
        const read = await t.app.core.tokens.read(env, issuer, issued.accessToken);
        assert.deepEqual(read?.act, CHAIN);
        assert.deepEqual(read?.cnf, CNF);
        const answer = await introspect(issued.accessToken);
        assert.equal(answer.active, true);
        assert.equal(answer.token_type, 'DPoP');
        assert.deepEqual(answer.act, CHAIN);
        assert.deepEqual(answer.cnf, CNF);
      });

      it(`a plain ${format} token is a Bearer token with neither claim`, async () => {
        const { t, env, client, issuer, introspect } = await setup(format);
        const issued = await t.app.core.tokens.issue({ env, issuer, client, subject: client.clientId, scope: ['read'] });
        assert.equal(issued.tokenType, 'Bearer');
        const read = await t.app.core.tokens.read(env, issuer, issued.accessToken);
        assert.equal(read?.act, undefined);
        assert.equal(read?.cnf, undefined);
        const answer = await introspect(issued.accessToken);
        assert.equal(answer.token_type, 'Bearer');
        assert.equal('act' in answer, false);
        assert.equal('cnf' in answer, false);
      });
    }
  });
}

describe('grant rules declared by the grant modules', () => {
  it('names what a client of each kind may not have', () => {
    assert.equal(grantRuleViolation('confidential', ['client_credentials'], []), undefined);
    assert.match(grantRuleViolation('public', ['client_credentials'], []) ?? '', /public client cannot use client_credentials/);
    assert.match(grantRuleViolation('public', ['authorization_code'], []) ?? '', /authorization_code needs at least one redirect URI/);
    assert.match(grantRuleViolation('confidential', ['refresh_token', 'client_credentials'], []) ?? '', /refresh_token is only issued with authorization_code/);
    assert.match(grantRuleViolation('confidential', ['password'], []) ?? '', /unknown grant type password/);
    assert.equal(grantRuleViolation('public', ['authorization_code', 'refresh_token'], ['https://app.example/cb']), undefined);
  });

  it('keeps, for an import, only what Gatehouse can honour', () => {
    assert.deepEqual(honourableGrantTypes('public', ['client_credentials', 'authorization_code', 'refresh_token', 'implicit'], []), []);
    assert.deepEqual(honourableGrantTypes('confidential', ['authorization_code', 'refresh_token', 'client_credentials'], ['https://a.example/cb']), [
      'authorization_code',
      'refresh_token',
      'client_credentials',
    ]);
    // Service-account grants are never given to a client by an import.
    assert.deepEqual(honourableGrantTypes('confidential', ['urn:ietf:params:oauth:grant-type:jwt-bearer'], []), []);
  });
});
