import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import * as client from 'openid-client';
import { UserService } from '../../src/admin/users.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { createServer, type Server } from '../../src/server/server.ts';
import { formAction, hiddenFields } from '../helpers/authorization.ts';
import { testDatabases } from '../helpers/databases.ts';
import { ROOT } from '../helpers/dev-server.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { HttpBrowser } from '../helpers/http-browser.ts';
import { freePort } from '../helpers/net.ts';
import { registrationAdmin } from '../helpers/registration.ts';

/*
 * Dynamic registration from real client libraries against a listening node: openid-client v6
 * discovers the registration endpoint, registers a public client and runs the code flow with
 * PKCE through the real login and consent pages; Authlib (Python) registers a confidential client
 * with an initial access token and gets a client_credentials token with the issued secret.
 */

const ENV = 'AGENTS';
const PASSWORD = 'correct horse battery staple';
const REDIRECT_URI = 'http://127.0.0.1:9/callback';
const PYTHON = '/usr/bin/python3';
const run = promisify(execFile);

/** Follows the authorization URL through login and consent; returns the callback URL with the code. */
async function signIn(browser: HttpBrowser, authorizationUrl: URL, username: string): Promise<URL> {
  let res = await browser.get(authorizationUrl.href);
  for (let step = 0; step < 4; step++) {
    assert.equal(res.status, 303, await res.text());
    const location = String(res.headers.get('location'));
    if (location.startsWith(REDIRECT_URI)) return new URL(location);
    const page = await browser.get(location);
    const html = await page.text();
    assert.equal(page.status, 200, html);
    const fields: Record<string, string> = /\/login\?/.test(location) ? { username, password: PASSWORD } : { decision: 'allow' };
    res = await browser.post(formAction(html), { ...hiddenFields(html), ...fields });
  }
  assert.fail('the flow did not reach the client');
}

for (const database of await testDatabases()) {
  describe(`dynamic registration from openid-client and Authlib on ${database.name}`, () => {
    let store: Store;
    let cleanup: () => Promise<void>;
    let server: Server;
    let base: string;
    let issuer: string;
    let t: Parameters<typeof registrationAdmin>[0];

    before(async () => {
      ({ store, cleanup } = await database.open());
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      const config = testConfig({ publicUrl: base, host: '127.0.0.1', port, passwordHashCost: 10 });
      server = await createServer(config, { store, clock: systemClock });
      await server.start();
      issuer = `${base}/envs/${ENV}`;
      const { AdminService } = await import('../../src/admin/admin-service.ts');
      const admin = new AdminService(config, config.keySecret, store, server.core, systemClock);
      await admin.createEnvironment(ENV);
      await new UserService(config, store, systemClock).create({ env: ENV, username: 'carol', password: PASSWORD });
      t = { app: server, admin, clock: systemClock as never, config, store };
      await registrationAdmin(t).policies.set(ENV, {
        mode: 'open',
        allowedScopes: ['tools:call', 'reports:read'],
        allowedGrantTypes: ['authorization_code', 'refresh_token', 'client_credentials'],
        allowedAuthMethods: ['none', 'client_secret_basic'],
      });
    });
    after(async () => {
      await server.stop(1000);
      await cleanup();
    });

    it('openid-client registers a public client and runs the code flow with PKCE, then refreshes', async () => {
      const config = await client.dynamicClientRegistration(
        new URL(issuer),
        {
          redirect_uris: [REDIRECT_URI],
          token_endpoint_auth_method: 'none',
          grant_types: ['authorization_code', 'refresh_token'],
          response_types: ['code'],
          client_name: 'MCP agent',
          scope: 'tools:call',
        },
        client.None(),
        { execute: [client.allowInsecureRequests] },
      );
      const registered = config.clientMetadata();
      assert.match(registered.client_id, /^gh_/);
      assert.equal(registered.client_secret, undefined);
      assert.equal(registered.registration_client_uri, `${issuer}/register/${registered.client_id}`);

      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const url = client.buildAuthorizationUrl(config, {
        redirect_uri: REDIRECT_URI,
        scope: 'tools:call',
        code_challenge: await client.calculatePKCECodeChallenge(verifier),
        code_challenge_method: 'S256',
        state,
      });
      const callback = await signIn(new HttpBrowser(base), url, 'carol');
      const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      assert.equal(tokens.token_type.toLowerCase(), 'bearer');
      assert.equal(tokens.scope, 'tools:call');
      assert.ok(tokens.refresh_token);
      const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
      assert.ok(refreshed.access_token);
      assert.notEqual(refreshed.access_token, tokens.access_token);
    });

    it('Authlib registers a confidential client with an initial access token and gets a client_credentials token', async () => {
      await registrationAdmin(t).policies.set(ENV, { mode: 'initial_access_token' });
      const { token } = await registrationAdmin(t).tokens.create({ env: ENV, description: 'python service' });
      const { stdout } = await run(PYTHON, [join(ROOT, 'test', 'e2e', 'authlib_registration.py'), issuer, token, 'reports:read'], { timeout: 60_000 });
      const summary = JSON.parse(stdout) as Record<string, unknown>;
      assert.equal(summary.client_secret_expires_at, 0);
      assert.equal(String(summary.token_type).toLowerCase(), 'bearer');
      assert.equal(summary.scope, 'reports:read');
      assert.equal(summary.read_status, 200);
      assert.equal(summary.read_client_name, 'Authlib service');
      assert.equal(summary.delete_status, 204);
      // Deleted: its secret no longer authenticates.
      assert.equal(summary.after_delete_status, 401);
      assert.equal(summary.after_delete_error, 'invalid_client');
      // The initial access token had one use.
      const again = await fetch(`${issuer}/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ token_endpoint_auth_method: 'client_secret_basic', grant_types: ['client_credentials'], response_types: [] }),
      });
      assert.equal(again.status, 401);
    });
  });
}
