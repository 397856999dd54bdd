import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import { ServiceAccountService } from '../../src/admin/service-accounts.ts';
import { obtainCode, REDIRECT_URI, setUpCodeFlow } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { PUBLIC_URL, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { createEnvironments, surfacesConfig } from '../helpers/surfaces.ts';

const insecure = { [oauth.allowInsecureRequests]: true } as const;
const ISSUER = `${PUBLIC_URL}/envs/PRODUCTION`;

/**
 * An independent client library (oauth4webapi) against the compatibility surfaces of the example
 * configuration, over real HTTP: it checks response shapes, token types and iss on its own.
 */
for (const database of await testDatabases()) {
  describe(`oauth4webapi against the compatibility surfaces on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let base: string;

    before(async () => {
      t = await suite.build(surfacesConfig());
      await createEnvironments(t);
      base = await t.app.start();
    });
    after(async () => t.app.stop());

    it('Frontier: client_credentials with HTTP Basic, and jwt-bearer with a service-account key', async () => {
      const created = await t.admin.createClient({ env: 'PRODUCTION', name: 'frontier-app', scopes: ['org:read'] });
      const as: oauth.AuthorizationServer = { issuer: ISSUER, token_endpoint: `${base}/v1beta1/auth/token` };
      const client: oauth.Client = { client_id: created.client_id };
      const response = await oauth.clientCredentialsGrantRequest(
        as,
        client,
        oauth.ClientSecretBasic(String(created.client_secret)),
        new URLSearchParams(),
        insecure,
      );
      const tokens = await oauth.processClientCredentialsResponse(as, client, response);
      assert.equal(tokens.token_type, 'bearer');
      assert.ok(tokens.access_token);
      const accounts = new ServiceAccountService(t.config, t.store, t.clock);
      const account = await accounts.create({ env: 'PRODUCTION', name: 'robot', scopes: ['org:read'] });
      const key = await accounts.createKey('PRODUCTION', account.service_account_id, 'ES256');
      const bearer = await oauth.genericTokenEndpointRequest(
        as,
        { client_id: account.service_account_id },
        oauth.None(),
        'urn:ietf:params:oauth:grant-type:jwt-bearer',
        new URLSearchParams({ assertion: key.example.assertion }),
        insecure,
      );
      assert.equal((await oauth.processGenericTokenEndpointResponse(as, { client_id: account.service_account_id }, bearer)).token_type, 'bearer');
    });

    it('RightSignature: code (without PKCE) → tokens → refresh → revoke, as a Doorkeeper client would', async () => {
      const fixture = await setUpCodeFlow(t, { env: 'PRODUCTION', scopes: ['read'], allowMissingPkce: true });
      const as: oauth.AuthorizationServer = {
        issuer: ISSUER,
        token_endpoint: `${base}/oauth/token`,
        revocation_endpoint: `${base}/oauth/revoke`,
        authorization_response_iss_parameter_supported: true,
      };
      const client: oauth.Client = { client_id: fixture.clientId };
      const auth = oauth.ClientSecretPost(fixture.clientSecret);
      const { location } = await obtainCode(t, fixture, { authorizePath: '/oauth/authorize', pkce: false, state: 'rs-state' });
      const params = oauth.validateAuthResponse(as, client, location, 'rs-state');
      const tokens = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(as, client, auth, params, REDIRECT_URI, oauth.nopkce, insecure),
      );
      assert.equal(tokens.token_type, 'bearer');
      assert.equal(tokens.expires_in, 7200);
      assert.equal(tokens.scope, 'read');
      assert.equal(typeof tokens.created_at, 'number');
      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, auth, String(tokens.refresh_token), insecure),
      );
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token);
      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, auth, refreshed.access_token, insecure));
      const info = await fetch(`${base}/oauth/token/info`, { headers: { authorization: `Bearer ${refreshed.access_token}` } });
      assert.equal(info.status, 401);
      assert.match(String(info.headers.get('www-authenticate')), /error="invalid_token"/);
    });
  });
}
