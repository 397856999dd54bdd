import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Environment } from '../../src/domain/model.ts';
import { testDatabases } from '../helpers/databases.ts';
import { PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { createOidcEnv } from '../helpers/openid.ts';

const ENV = 'DISCOVERY';
const ISSUER = `${PUBLIC_URL}/envs/${ENV}`;

for (const database of await testDatabases()) {
  describe(`OpenID Connect Discovery 1.0 on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let env: Environment;
    const document = async (url: string) => {
      const res = await t.app.server.inject(url);
      assert.equal(res.statusCode, 200, res.body);
      assert.match(String(res.headers['content-type']), /^application\/json/);
      assert.equal(res.headers['cache-control'], 'public, max-age=300');
      return res.json() as Record<string, unknown>;
    };

    before(async () => {
      t = await suite.build();
      env = await createOidcEnv(t, ENV);
      const now = t.clock.now();
      await t.store.apis.create({
        envId: env.id,
        identifier: 'https://api.example.test/invoices',
        name: 'Invoices',
        scopes: [
          { name: 'invoices:read', description: 'Read' },
          { name: 'invoices:write', description: 'Write' },
        ],
        tokenFormat: 'jwt',
        accessTokenTtl: null,
        clientIds: [],
        isDefault: false,
        createdAt: now,
        updatedAt: now,
      });
    });

    it('serves the OpenID Provider configuration under the issuer (oidcc-server, oidcc-discovery-*)', async () => {
      const config = await document(`/envs/${ENV}/.well-known/openid-configuration`);
      // Discovery §4.3: issuer identical to the URL the document was fetched from, minus the suffix.
      assert.equal(config.issuer, ISSUER);
      assert.equal(config.authorization_endpoint, `${ISSUER}/authorize`);
      assert.equal(config.token_endpoint, `${ISSUER}/token`);
      assert.equal(config.userinfo_endpoint, `${ISSUER}/userinfo`);
      assert.equal(config.end_session_endpoint, `${ISSUER}/logout`);
      assert.equal(config.jwks_uri, `${ISSUER}/jwks.json`);
      assert.deepEqual(config.scopes_supported, ['openid', 'profile', 'email', 'address', 'phone', 'offline_access', 'invoices:read', 'invoices:write']);
      assert.deepEqual(config.response_types_supported, ['code']);
      assert.deepEqual(config.response_modes_supported, ['query']);
      assert.deepEqual(config.subject_types_supported, ['public', 'pairwise']);
      assert.deepEqual(config.id_token_signing_alg_values_supported, ['RS256', 'ES256']);
      assert.deepEqual(config.prompt_values_supported, ['none', 'login', 'consent', 'select_account']);
      assert.deepEqual(config.code_challenge_methods_supported, ['S256']);
      assert.deepEqual(config.claim_types_supported, ['normal']);
      assert.deepEqual(config.ui_locales_supported, ['en']);
      for (const claim of ['sub', 'iss', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'at_hash', 'amr', 'sid', 'azp', 'acr', 'name', 'email', 'email_verified']) {
        assert.ok((config.claims_supported as string[]).includes(claim), claim);
      }
      for (const claim of ['phone_number', 'phone_number_verified', 'address', 'preferred_username', 'updated_at', 'locale', 'zoneinfo', 'picture']) {
        assert.ok((config.claims_supported as string[]).includes(claim), claim);
      }
      assert.ok((config.grant_types_supported as string[]).includes('authorization_code'));
      assert.ok((config.grant_types_supported as string[]).includes('refresh_token'));
      assert.deepEqual(config.token_endpoint_auth_methods_supported, ['client_secret_basic', 'client_secret_post', 'private_key_jwt', 'none']);
      for (const flag of ['claims_parameter_supported', 'request_parameter_supported', 'request_uri_parameter_supported', 'require_request_uri_registration']) {
        assert.equal(config[flag], false, flag);
      }
      assert.equal(config.authorization_response_iss_parameter_supported, true);
      assert.equal(config.backchannel_logout_supported, true);
      assert.equal(config.backchannel_logout_session_supported, true);
      assert.equal(config.frontchannel_logout_supported, false);
      assert.equal('userinfo_signing_alg_values_supported' in config, false);
    });

    it('agrees with the RFC 8414 document at both of its URLs', async () => {
      const config = await document(`/envs/${ENV}/.well-known/openid-configuration`);
      for (const url of [`/.well-known/oauth-authorization-server/envs/${ENV}`, `/envs/${ENV}/.well-known/oauth-authorization-server`]) {
        assert.deepEqual(await document(url), config);
      }
    });

    it('lists the algorithm of each key the environment publishes, RS256 always', async () => {
      const e = await createOidcEnv(t, 'DISCOVERY_ED', { alg: 'EdDSA', rs256: false });
      assert.ok(e);
      const config = await document('/envs/DISCOVERY_ED/.well-known/openid-configuration');
      assert.deepEqual(config.id_token_signing_alg_values_supported, ['RS256', 'EdDSA']);
      assert.deepEqual(config.scopes_supported, ['openid', 'profile', 'email', 'address', 'phone', 'offline_access']);
    });

    it('answers 404 for an unknown environment', async () => {
      const res = await t.app.server.inject('/envs/NOPE/.well-known/openid-configuration');
      assert.equal(res.statusCode, 404);
      assert.equal(res.json().error, 'not_found');
    });
  });
}
