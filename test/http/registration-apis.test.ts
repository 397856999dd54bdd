import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt } from 'jose';
import { ApiService } from '../../src/admin/apis.ts';
import type { CoreEvent } from '../../src/domain/events.ts';
import { ENV, pkce, setUpCodeFlow, TestBrowser } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { form, suiteStore, type TestApp } from '../helpers/fixtures.ts';
import { register, setRegistrationPolicy } from '../helpers/registration.ts';

const MCP_API = 'https://mcp.example.test/mcp';
const OTHER_API = 'https://billing.example.test';
const NATIVE = 'http://127.0.0.1/native-callback';

/*
 * The registration policy's `allowed_apis`: a client that registers itself may get tokens for
 * those APIs (and no other) from its first request on, even on a node that had the environment's
 * APIs cached; and concurrent registrations each keep their grant.
 */
for (const database of await testDatabases()) {
  describe(`a registered client gets the APIs of the registration policy on ${database.name}`, () => {
    const suite = suiteStore(database, { before, after });
    let t: TestApp;
    let username: string;

    const authorize = async (browser: TestBrowser, clientId: string, resource: string) => {
      const { verifier, challenge } = pkce();
      const params = { response_type: 'code', client_id: clientId, redirect_uri: NATIVE, code_challenge: challenge, code_challenge_method: 'S256' };
      let res = await browser.authorize({ ...params, scope: 'invoices:read', resource });
      if (/\/login\?/.test(String(res.headers.location))) res = await browser.login(res, username);
      if (/\/consent\?/.test(String(res.headers.location))) res = await browser.consent(res, 'allow');
      assert.equal(res.statusCode, 303, res.body);
      return { location: new URL(String(res.headers.location)), verifier };
    };

    /** Redeems the code the authorization answered with, for the MCP API. */
    const redeem = (clientId: string, location: URL, verifier: string) => {
      const code = location.searchParams.get('code');
      assert.ok(code, `no code in ${location}`);
      return t.app.server.inject({
        method: 'POST',
        url: `/envs/${ENV}/token`,
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: form({ grant_type: 'authorization_code', code, code_verifier: verifier, redirect_uri: NATIVE, client_id: clientId, resource: MCP_API }),
      });
    };

    const registerPublicClient = async () => {
      const res = await register(t, ENV, { redirect_uris: [NATIVE], token_endpoint_auth_method: 'none', scope: 'invoices:read' });
      assert.equal(res.statusCode, 201, res.body);
      return (res.json() as { client_id: string }).client_id;
    };

    before(async () => {
      t = await suite.build({ passwordHashCost: 10, loginAddressLimit: 10_000 });
      ({ username } = await setUpCodeFlow(t));
      const apis = new ApiService(t.config, t.store, t.clock, (envId) => t.app.core.apis.invalidate(envId));
      for (const identifier of [MCP_API, OTHER_API]) {
        await apis.create({ env: ENV, identifier, name: identifier, scopes: [{ name: 'invoices:read', description: 'Read invoices' }], clientIds: [] });
      }
      await setRegistrationPolicy(t, ENV, { mode: 'open', allowedScopes: ['invoices:read'], allowedApis: [MCP_API], sourceLimitPerHour: 10_000 });
    });

    it('gets a token for the policy API at once on a node that had the APIs cached, and invalid_target for another', async () => {
      // The discovery document reads the environment's APIs: this node now has them cached.
      const discovery = await t.app.server.inject(`/.well-known/oauth-authorization-server/envs/${ENV}`);
      assert.equal(discovery.statusCode, 200);
      const clientId = await registerPublicClient();
      const issued: CoreEvent[] = [];
      const stop = t.app.events.listen((event) => event.type === 'token.issued' && issued.push(event));

      const browser = new TestBrowser(t);
      const { location, verifier } = await authorize(browser, clientId, MCP_API);
      const token = await redeem(clientId, location, verifier);
      assert.equal(token.statusCode, 200, token.body);
      const claims = decodeJwt((token.json() as { access_token: string }).access_token);
      assert.equal(claims.aud, MCP_API);
      // No lifetime in the policy: the environment's default (one hour in tests).
      assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), t.config.accessTokenTtl);
      stop();
      // Metrics and audit learn that the client registered itself (its id is never a metric label).
      assert.deepEqual(
        issued.map((event) => event.type === 'token.issued' && [event.clientId, event.registration]),
        [[clientId, 'dynamic']],
      );

      const other = await authorize(browser, clientId, OTHER_API);
      assert.equal(other.location.searchParams.get('error'), 'invalid_target');
    });

    it("caps a registered client's access tokens at the policy's lifetime, set when it registered", async () => {
      await setRegistrationPolicy(t, ENV, { maxAccessTokenTtl: 300 });
      const clientId = await registerPublicClient();
      await setRegistrationPolicy(t, ENV, { maxAccessTokenTtl: null });
      const browser = new TestBrowser(t);
      const { location, verifier } = await authorize(browser, clientId, MCP_API);
      const token = await redeem(clientId, location, verifier);
      assert.equal(token.statusCode, 200, token.body);
      const body = token.json() as { access_token: string; expires_in: number };
      assert.equal(body.expires_in, 300);
      const claims = decodeJwt(body.access_token);
      assert.equal((claims.exp ?? 0) - (claims.iat ?? 0), 300);
      assert.ok(300 < t.config.accessTokenTtl, 'the policy is shorter than the environment default');
    });

    it('keeps every grant when clients register at the same time', async () => {
      const clientIds = await Promise.all(Array.from({ length: 6 }, () => registerPublicClient()));
      const api = await t.store.apis.find((await t.store.environments.findByName(ENV))?.id ?? '', MCP_API);
      for (const clientId of clientIds) assert.ok(api?.clientIds.includes(clientId), `${clientId} is on the API's list`);
      assert.deepEqual((await t.store.apis.find(api?.envId ?? '', OTHER_API))?.clientIds, []);
    });
  });
}
