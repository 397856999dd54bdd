import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import * as oauth from 'oauth4webapi';
import { ApiService } from '../../src/admin/apis.ts';
import type { Store } from '../../src/domain/storage.ts';
import { BearerError, createVerifier } from '../../src/resource-server/index.ts';
import { type CodeFlowFixture, ENV, obtainCode, REDIRECT_URI, setUpCodeFlow } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { buildTestApp, PUBLIC_URL, type TestApp } from '../helpers/fixtures.ts';

const GRANT = 'urn:ietf:params:oauth:grant-type:token-exchange';
const AT = 'urn:ietf:params:oauth:token-type:access_token';
const API_A = 'https://orders.example.test';
const API_B = 'https://billing.example.test';
const API_C = 'https://ledger.example.test';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

interface Service {
  client: oauth.Client;
  auth: oauth.ClientAuth;
}

for (const database of await testDatabases()) {
  describe(`token exchange end to end with oauth4webapi over a real listener on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let t: TestApp;
    let base: string;
    let fixture: CodeFlowFixture;
    let as: oauth.AuthorizationServer;
    let serviceA: Service;
    let serviceB: Service;

    before(async () => {
      ({ store, cleanup } = await database.open());
      t = await buildTestApp(store, { passwordHashCost: 10, loginAddressLimit: 10_000 });
      base = await t.app.start();
      fixture = await setUpCodeFlow(t, { scopes: ['orders:read', 'billing:read', 'ledger:read'] });
      const service = async (name: string, scopes: string[]): Promise<Service> => {
        const created = await t.admin.createClient({ env: ENV, name, grantTypes: [GRANT], scopes });
        return { client: { client_id: created.client_id }, auth: oauth.ClientSecretBasic(created.client_secret as string) };
      };
      serviceA = await service('orders service', ['orders:read', 'billing:read', 'ledger:read']);
      serviceB = await service('billing service', ['billing:read', 'ledger:read', 'ledger:write']);
      const apis = new ApiService(t.config, t.store, t.clock, (envId) => t.app.core.apis.invalidate(envId));
      const scopes = (...names: string[]) => names.map((name) => ({ name, description: name }));
      const [a, b] = [serviceA.client.client_id, serviceB.client.client_id];
      await apis.create({
        env: ENV,
        identifier: API_A,
        name: 'Orders',
        scopes: scopes('orders:read', 'billing:read', 'ledger:read'),
        clientIds: [fixture.clientId, a],
        isDefault: true,
      });
      await apis.create({ env: ENV, identifier: API_B, name: 'Billing', scopes: scopes('billing:read', 'ledger:read'), clientIds: [a, b] });
      await apis.create({ env: ENV, identifier: API_C, name: 'Ledger', scopes: scopes('ledger:read', 'ledger:write'), clientIds: [b] });
      as = { issuer: `${PUBLIC_URL}/envs/${ENV}`, token_endpoint: `${base}/envs/${ENV}/token` };
    });
    after(async () => {
      await t?.app.stop();
      await cleanup?.();
    });

    /** The user's token for the orders API (the default API), by the code flow. */
    async function userToken(): Promise<oauth.TokenEndpointResponse> {
      const client: oauth.Client = { client_id: fixture.clientId };
      const { location, verifier } = await obtainCode(t, fixture, { scope: 'orders:read billing:read ledger:read' });
      const callback = oauth.validateAuthResponse(as, client, location.searchParams, 'xyz');
      const auth = oauth.ClientSecretBasic(fixture.clientSecret);
      const response = await oauth.authorizationCodeGrantRequest(as, client, auth, callback, REDIRECT_URI, verifier, insecure);
      return oauth.processAuthorizationCodeResponse(as, client, response);
    }

    async function exchange(by: Service, subjectToken: string, params: Record<string, string>): Promise<oauth.TokenEndpointResponse> {
      const parameters = new URLSearchParams({ subject_token: subjectToken, subject_token_type: AT, requested_token_type: AT, ...params });
      const response = await oauth.genericTokenEndpointRequest(as, by.client, by.auth, GRANT, parameters, insecure);
      return oauth.processGenericTokenEndpointResponse(as, by.client, response);
    }

    const ledgerVerifier = (allowedActorChains: readonly (readonly string[])[]) =>
      createVerifier({ issuer: as.issuer, audience: API_C, jwksUri: `${base}/envs/${ENV}/jwks.json`, now: () => t.clock.now(), allowedActorChains });

    it('user → orders service → billing service → ledger API: the act chain names billing then orders, the scope narrows at each hop', async () => {
      const user = await userToken();
      const userClaims = decodeJwt(user.access_token);
      assert.equal(userClaims.aud, API_A);
      assert.deepEqual(String(user.scope).split(' ').sort(), ['billing:read', 'ledger:read', 'orders:read']);
      assert.equal(userClaims.act, undefined);

      const forBilling = await exchange(serviceA, user.access_token, { audience: API_B });
      assert.equal(forBilling.issued_token_type, AT);
      assert.equal(forBilling.token_type, 'bearer');
      assert.equal(forBilling.refresh_token, undefined);
      assert.deepEqual(String(forBilling.scope).split(' ').sort(), ['billing:read', 'ledger:read']);
      const billingClaims = decodeJwt(forBilling.access_token);
      assert.equal(billingClaims.sub, userClaims.sub);
      assert.equal(billingClaims.aud, API_B);
      assert.deepEqual(billingClaims.act, { sub: serviceA.client.client_id });

      const forLedger = await exchange(serviceB, forBilling.access_token, { resource: API_C, scope: 'ledger:read' });
      assert.equal(forLedger.scope, 'ledger:read');
      const ledgerClaims = decodeJwt(forLedger.access_token);
      assert.equal(ledgerClaims.sub, userClaims.sub);
      assert.deepEqual(ledgerClaims.act, { sub: serviceB.client.client_id, act: { sub: serviceA.client.client_id } });
      assert.ok((ledgerClaims.exp ?? 0) <= (billingClaims.exp ?? 0) && (billingClaims.exp ?? 0) <= (userClaims.exp ?? 0));

      const accepted = await ledgerVerifier([[serviceB.client.client_id, serviceA.client.client_id]]).verifyToken(forLedger.access_token);
      assert.equal(accepted.sub, userClaims.sub);
      assert.deepEqual(accepted.actors, [serviceB.client.client_id, serviceA.client.client_id]);
      assert.deepEqual(accepted.scopes, ['ledger:read']);

      for (const chains of [[[serviceA.client.client_id, serviceB.client.client_id]], [[serviceB.client.client_id]], [[]]]) {
        const refused = await ledgerVerifier(chains)
          .verifyToken(forLedger.access_token)
          .then(
            () => assert.fail(`chain ${JSON.stringify(chains)} should not accept the token`),
            (error: unknown) => error,
          );
        assert.ok(refused instanceof BearerError);
        assert.deepEqual([refused.status, refused.code], [401, 'invalid_token']);
      }
    });

    it('refuses, through oauth4webapi, a hop the next service may not make and a scope wider than the subject token', async () => {
      const user = await userToken();
      // The billing service is not among the orders API's clients: it may not act on the user's token.
      await assert.rejects(exchange(serviceB, user.access_token, { resource: API_C }), (error: unknown) => {
        assert.ok(error instanceof oauth.ResponseBodyError);
        assert.equal(error.error, 'invalid_request');
        assert.equal(error.status, 400);
        return true;
      });
      await assert.rejects(exchange(serviceA, user.access_token, { audience: API_B, scope: 'ledger:write' }), (error: unknown) => {
        assert.ok(error instanceof oauth.ResponseBodyError);
        assert.equal(error.error, 'invalid_scope');
        return true;
      });
    });
  });
}
