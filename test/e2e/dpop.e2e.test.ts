import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, generateKeyPair } from 'jose';
import * as oauth from 'oauth4webapi';
import { AdminService } from '../../src/admin/admin-service.ts';
import { type Clock, type ManualClock, systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { createLogger } from '../../src/server/logger.ts';
import { createServer } from '../../src/server/server.ts';
import { type CodeFlowFixture, ENV, PASSWORD, REDIRECT_URI, setUpCodeFlow } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { dpopKey, dpopProof } from '../helpers/dpop.ts';
import { basic, type TestApp, testConfig } from '../helpers/fixtures.ts';
import { HttpBrowser } from '../helpers/http-browser.ts';
import { freePort } from '../helpers/net.ts';

const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** A node listening on `port` whose public URL is `publicUrl` (nodes behind one load balancer share it), on the real clock. */
async function startNode(store: Store, publicUrl: string, port: number): Promise<TestApp> {
  const config = testConfig({ publicUrl, port, passwordHashCost: 10, loginAddressLimit: 10_000 });
  const clock: Clock = systemClock;
  const app = await createServer(config, { store, clock, logger: createLogger('silent') });
  await app.start();
  const admin = new AdminService(config, config.keySecret, store, app.core, clock);
  return { app, admin, clock: clock as ManualClock, config, store };
}

for (const database of await testDatabases()) {
  describe(`DPoP with oauth4webapi against two listening nodes on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let nodeA: TestApp;
    let nodeB: TestApp;
    let baseA: string;
    let baseB: string;
    let fixture: CodeFlowFixture;
    let as: oauth.AuthorizationServer;
    let machine: { id: string; secret: string };

    before(async () => {
      ({ store, cleanup } = await database.open());
      const [portA, portB] = [await freePort(), await freePort()];
      baseA = `http://127.0.0.1:${portA}`;
      baseB = `http://127.0.0.1:${portB}`;
      nodeA = await startNode(store, baseA, portA);
      nodeB = await startNode(store, baseA, portB);
      fixture = await setUpCodeFlow(nodeA);
      const created = await nodeA.admin.createClient({ env: ENV, name: 'Machine', grantTypes: ['client_credentials'] });
      machine = { id: created.client_id, secret: created.client_secret as string };
      const issuer = new URL(`${baseA}/envs/${ENV}`);
      as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    });
    after(async () => {
      await nodeB?.app.stop();
      await nodeA?.app.stop();
      await cleanup?.();
    });

    it('gets a DPoP-bound token for client_credentials', async () => {
      assert.ok(as.dpop_signing_alg_values_supported?.includes('ES256'));
      const client: oauth.Client = { client_id: machine.id };
      const keyPair = await generateKeyPair('ES256');
      const DPoP = oauth.DPoP(client, keyPair);
      const response = await oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(machine.secret), {}, { DPoP, ...insecure });
      const result = await oauth.processClientCredentialsResponse(as, client, response);
      assert.equal(result.token_type, 'dpop');
      assert.deepEqual(decodeJwt(result.access_token).cnf, { jkt: await DPoP.calculateThumbprint() });
    });

    it("binds a public client's code flow and refresh to its key", async () => {
      const client: oauth.Client = { client_id: fixture.publicClientId };
      const keyPair = await generateKeyPair('ES256');
      const DPoP = oauth.DPoP(client, keyPair);
      const browser = new HttpBrowser(baseA);
      const { code, verifier } = await browser.obtainCode(ENV, fixture.publicClientId, REDIRECT_URI, fixture.username, PASSWORD, 'invoices:read');
      const callback = oauth.validateAuthResponse(as, client, new URL(`${REDIRECT_URI}?${new URLSearchParams({ code, state: 's', iss: as.issuer })}`), 's');
      const response = await oauth.authorizationCodeGrantRequest(as, client, oauth.None(), callback, REDIRECT_URI, verifier, { DPoP, ...insecure });
      const tokens = await oauth.processAuthorizationCodeResponse(as, client, response);
      assert.equal(tokens.token_type, 'dpop');
      const jkt = await DPoP.calculateThumbprint();
      assert.deepEqual(decodeJwt(tokens.access_token).cnf, { jkt });
      assert.ok(tokens.refresh_token);
      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, oauth.None(), tokens.refresh_token, { DPoP, ...insecure }),
      );
      assert.equal(refreshed.token_type, 'dpop');
      assert.deepEqual(decodeJwt(refreshed.access_token).cnf, { jkt });
      // Another key cannot use the rotated refresh token.
      const thief = oauth.DPoP(client, await generateKeyPair('ES256'));
      const stolen = await oauth.refreshTokenGrantRequest(as, client, oauth.None(), refreshed.refresh_token as string, { DPoP: thief, ...insecure });
      await assert.rejects(oauth.processRefreshTokenResponse(as, client, stolen), (error: unknown) => {
        assert.ok(error instanceof oauth.ResponseBodyError);
        assert.equal(error.error, 'invalid_grant');
        return true;
      });
    });

    it('makes one nonce round trip when the environment requires nonces, and the nonce holds on both nodes', async () => {
      // An environment that requires nonces from the start: nodes cache environments for a while.
      const env = 'NONCES';
      await nodeA.admin.createEnvironment(env);
      await nodeA.admin.setDpopNonceRequired(env, true);
      const created = await nodeA.admin.createClient({ env, name: 'Machine', grantTypes: ['client_credentials'] });
      const issuer = new URL(`${baseA}/envs/${env}`);
      const nonceAs = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
      {
        const machine = { id: created.client_id, secret: created.client_secret as string };
        const as = nonceAs;
        const client: oauth.Client = { client_id: machine.id };
        const DPoP = oauth.DPoP(client, await generateKeyPair('ES256'));
        const request = () => oauth.clientCredentialsGrantRequest(as, client, oauth.ClientSecretBasic(machine.secret), {}, { DPoP, ...insecure });
        let response = await request();
        let result: oauth.TokenEndpointResponse | undefined;
        await oauth.processClientCredentialsResponse(as, client, response).then(
          (r) => {
            result = r;
          },
          (error: unknown) => {
            assert.ok(oauth.isDPoPNonceError(error), String(error));
          },
        );
        assert.equal(result, undefined, 'the first request, without a nonce, is refused');
        response = await request();
        const nonce = response.headers.get('dpop-nonce');
        result = await oauth.processClientCredentialsResponse(as, client, response);
        assert.equal(result.token_type, 'dpop');
        assert.ok(nonce);
        // The nonce node A gave is good at node B: nonces need no shared state.
        const key = await dpopKey();
        const atB = await fetch(`${baseB}/envs/${env}/token`, {
          method: 'POST',
          headers: {
            'content-type': 'application/x-www-form-urlencoded',
            authorization: basic(machine.id, machine.secret),
            dpop: await dpopProof(key, { htu: as.token_endpoint as string, iat: Math.floor(Date.now() / 1000), nonce }),
          },
          body: 'grant_type=client_credentials',
        });
        assert.equal(atB.status, 200, await atB.text());
      }
    });

    it('refuses at the second node a proof already used at the first', async () => {
      const key = await dpopKey();
      const proof = await dpopProof(key, { htu: as.token_endpoint as string, iat: Math.floor(Date.now() / 1000) });
      const send = (base: string) =>
        fetch(`${base}/envs/${ENV}/token`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(machine.id, machine.secret), dpop: proof },
          body: 'grant_type=client_credentials',
        });
      const first = await send(baseA);
      assert.equal(first.status, 200, await first.text());
      const replay = await send(baseB);
      assert.equal(replay.status, 400);
      assert.equal(((await replay.json()) as { error: string }).error, 'invalid_dpop_proof');
    });
  });
}
