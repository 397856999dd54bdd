import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { importJWK } from 'jose';
import * as oauth from 'oauth4webapi';
import type { Browser } from 'playwright-core';
import { AdminService } from '../../src/admin/admin-service.ts';
import { ServiceAccountService } from '../../src/admin/service-accounts.ts';
import { UserService } from '../../src/admin/users.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { launchChromium, WAIT_MS } from '../helpers/chromium.ts';
import { testDatabases } from '../helpers/databases.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

/*
 * Pushed authorization requests (RFC 9126) under the FAPI 2.0 Security Profile, with a real
 * client: oauth4webapi pushes the request with private_key_jwt, Chromium signs in and consents on
 * Gatehouse's pages, and oauth4webapi redeems the code. A plain authorization request and a
 * client_secret client are refused. Screenshots go to test-artifacts/screenshots/.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const ENV = 'FAPI';
const USERNAME = 'alice';
const PASSWORD = 'correct horse battery staple';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

for (const database of await testDatabases()) {
  describe(`pushed authorization requests under FAPI 2.0, oauth4webapi and Chromium, on ${database.name}`, () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-par-e2e-'));
    let callbackServer: Server;
    let redirectUri = '';
    let store: Store | undefined;
    let closeStore: (() => Promise<void>) | undefined;
    let app: App | undefined;
    let browser: Browser | undefined;
    let issuer: URL;
    let as: oauth.AuthorizationServer;
    let client: oauth.Client;
    let clientAuth: oauth.ClientAuth;
    let secretClient: oauth.Client;
    let secretAuth: oauth.ClientAuth;

    before(async () => {
      mkdirSync(SCREENSHOTS, { recursive: true });
      callbackServer = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/plain' }).end('done'));
      await new Promise<void>((resolve) => callbackServer.listen(0, '127.0.0.1', resolve));
      redirectUri = `http://127.0.0.1:${(callbackServer.address() as AddressInfo).port}/callback`;

      const port = await freePort();
      const publicUrl = `http://127.0.0.1:${port}`;
      const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir });
      const opened = await database.open();
      store = opened.store;
      closeStore = opened.cleanup;
      app = await createGatehouse(config, { store, clock: systemClock });
      await app.start();

      const admin = new AdminService(config, config.keySecret, store, app.core, systemClock);
      await admin.createEnvironment(ENV);
      await admin.updateEnvironment(ENV, { securityProfile: 'fapi2' });
      const created = await admin.createClient({
        env: ENV,
        name: 'Open Banking App',
        grantTypes: ['authorization_code'],
        scopes: ['accounts:read'],
        redirectUris: [redirectUri],
      });
      const key = await new ServiceAccountService(config, store, systemClock).createKey(ENV, created.client_id, 'ES256', 'client');
      client = { client_id: created.client_id };
      const privateKey = await importJWK(key.private_jwk, key.alg);
      assert.ok(!(privateKey instanceof Uint8Array), 'an asymmetric private key imports as a CryptoKey');
      clientAuth = oauth.PrivateKeyJwt({ key: privateKey, kid: key.kid });
      secretClient = { client_id: created.client_id };
      secretAuth = oauth.ClientSecretBasic(String(created.client_secret));
      await new UserService(config, store, systemClock).create({ env: ENV, username: USERNAME, password: PASSWORD });

      issuer = new URL(`${publicUrl}/envs/${ENV}`);
      as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
      assert.equal(as.pushed_authorization_request_endpoint, `${issuer.href}/par`);
      assert.equal(as.require_pushed_authorization_requests, true);
      assert.deepEqual(as.token_endpoint_auth_methods_supported, ['private_key_jwt']);
      browser = await launchChromium();
    });

    after(async () => {
      try {
        await browser?.close().catch(() => undefined);
        callbackServer?.closeAllConnections();
        await new Promise<void>((resolve) => callbackServer?.close(() => resolve()));
        await app?.stop();
        await closeStore?.();
      } finally {
        rmSync(dataDir, { recursive: true, force: true });
      }
    });

    const authorizationParameters = async (verifier: string, state: string) =>
      new URLSearchParams({
        response_type: 'code',
        redirect_uri: redirectUri,
        scope: 'accounts:read',
        state,
        code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
      });

    it('pushes with private_key_jwt, signs in and consents in Chromium, and redeems the code', async () => {
      assert.ok(browser);
      const verifier = oauth.generateRandomCodeVerifier();
      const state = oauth.generateRandomState();
      const pushed = await oauth.processPushedAuthorizationResponse(
        as,
        client,
        await oauth.pushedAuthorizationRequest(as, client, clientAuth, await authorizationParameters(verifier, state), insecure),
      );
      assert.match(pushed.request_uri, /^urn:ietf:params:oauth:request_uri:/);
      assert.equal(pushed.expires_in, 60);

      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
      context.setDefaultTimeout(WAIT_MS);
      try {
        const page = await context.newPage();
        const url = new URL(as.authorization_endpoint ?? '');
        url.searchParams.set('client_id', client.client_id);
        url.searchParams.set('request_uri', pushed.request_uri);
        await page.goto(url.href);
        assert.match(page.url(), new RegExp(`^${issuer.href}/login\\?request=`));
        await page.screenshot({ path: join(SCREENSHOTS, `par-login-${database.name}.png`), fullPage: true });
        await page.getByLabel('Username').fill(USERNAME);
        await page.getByLabel('Password').fill(PASSWORD);
        await page.getByRole('button', { name: 'Sign in', exact: true }).click();
        await page.waitForURL(new RegExp(`^${issuer.href}/consent\\?request=`));
        const consent = (await page.locator('main').textContent()) ?? '';
        assert.match(consent, /Open Banking App/);
        assert.match(consent, /accounts:read/);
        await page.screenshot({ path: join(SCREENSHOTS, `par-consent-${database.name}.png`), fullPage: true });
        await page.getByRole('button', { name: 'Allow' }).click();
        await page.waitForURL((current) => current.href.startsWith(redirectUri));
        const callbackUrl = new URL(page.url());
        assert.equal(callbackUrl.searchParams.get('iss'), issuer.href);
        const params = oauth.validateAuthResponse(as, client, callbackUrl, state);
        // FAPI 2.0 §5.3.2.1: only sender-constrained tokens. Without a DPoP proof the code is not
        // redeemed (and stays usable); with one, the tokens are bound to the client's key.
        const bearer = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, insecure);
        assert.equal(bearer.status, 400);
        assert.equal(((await bearer.json()) as { error: string }).error, 'invalid_dpop_proof');
        const DPoP = oauth.DPoP(client, await oauth.generateKeyPair('ES256'));
        const tokens = await oauth.processAuthorizationCodeResponse(
          as,
          client,
          await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, { ...insecure, DPoP }),
        );
        assert.equal(tokens.scope, 'accounts:read');
        assert.equal(tokens.token_type, 'dpop');
        assert.ok(tokens.access_token);

        // The request_uri was used once: the browser cannot bring it back.
        const again = await page.goto(url.href);
        assert.equal(again?.status(), 400);
        await page.screenshot({ path: join(SCREENSHOTS, `par-used-request-uri-${database.name}.png`), fullPage: true });
      } finally {
        await context.close();
      }
    });

    it('refuses a plain authorization request and a client authenticating with its secret', async () => {
      assert.ok(browser);
      const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
      try {
        const page = await context.newPage();
        const url = new URL(as.authorization_endpoint ?? '');
        url.search = (await authorizationParameters(oauth.generateRandomCodeVerifier(), 'plain')).toString();
        url.searchParams.set('client_id', client.client_id);
        await page.goto(url.href);
        const refused = new URL(page.url());
        assert.equal(refused.searchParams.get('error'), 'invalid_request');
        assert.equal(refused.searchParams.get('iss'), issuer.href);
      } finally {
        await context.close();
      }
      const withSecret = await oauth.pushedAuthorizationRequest(
        as,
        secretClient,
        secretAuth,
        await authorizationParameters(oauth.generateRandomCodeVerifier(), 's'),
        insecure,
      );
      await assert.rejects(oauth.processPushedAuthorizationResponse(as, secretClient, withSecret), (error: unknown) => {
        assert.ok(error instanceof oauth.ResponseBodyError, String(error));
        assert.equal(error.error, 'invalid_client');
        assert.equal(error.status, 401);
        return true;
      });
    });
  });
}
