import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as oauth from 'oauth4webapi';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { AdminService } from '../../src/admin/admin-service.ts';
import { UserService } from '../../src/admin/users.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium, WAIT_MS } from '../helpers/chromium.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

/*
 * The pages of an OpenID Connect authentication request (Core §3.1.2) in a real browser:
 * Debian's Chromium, driven by playwright-core, with the redirect checked by oauth4webapi.
 * `login_hint` fills the username field, `ui_locales` sets the page's language, the consent page
 * names the OpenID scopes in plain words, `prompt=none` never shows a page and `prompt=login`
 * always does.
 */

const ENV = 'DEVELOPMENT';
const USERNAME = 'alice@example.test';
const PASSWORD = 'correct horse battery staple';
const insecure = { [oauth.allowInsecureRequests]: true } as const;

/** The client's redirect_uri: answers 200 to /callback and remembers the last URL. */
class CallbackServer {
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((request, response) => {
      response.writeHead(request.url?.startsWith('/callback') ? 200 : 404, { 'content-type': 'text/plain' }).end('done');
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('OpenID Connect authentication request pages in Chromium (playwright-core) with oauth4webapi', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-openid-pages-'));
  const callback = new CallbackServer();
  let store: Store | undefined;
  let app: App | undefined;
  let browser: Browser | undefined;
  let issuer: URL;
  let as: oauth.AuthorizationServer;
  let client: oauth.Client;
  let redirectUri: string;

  before(async () => {
    await callback.start();
    redirectUri = `${callback.url}/callback`;
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir });
    store = openStore(join(dataDir, 'gatehouse.db'));
    await store.migrate();
    app = await createGatehouse(config, { store, clock: systemClock });
    await app.start();
    const admin = new AdminService(config, config.keySecret, store, app.core, systemClock);
    await admin.createEnvironment(ENV);
    const created = await admin.createClient({
      env: ENV,
      name: 'Sign-in App',
      grantTypes: ['authorization_code'],
      scopes: ['openid', 'profile', 'email', 'offline_access'],
      redirectUris: [redirectUri],
    });
    client = { client_id: created.client_id };
    await new UserService(config, store, systemClock).create({ env: ENV, username: USERNAME, password: PASSWORD });
    issuer = new URL(`${publicUrl}/envs/${ENV}`);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { ...insecure, algorithm: 'oauth2' }));
    browser = await launchChromium();
  });

  after(async () => {
    try {
      await browser?.close();
      await callback.stop();
      await app?.stop();
      await store?.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  /** The /authorize URL of an OpenID request with these extra parameters; with its state. */
  async function authorizeUrl(extra: Record<string, string>): Promise<{ url: string; state: string }> {
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint as string);
    const verifier = oauth.generateRandomCodeVerifier();
    url.search = new URLSearchParams({
      response_type: 'code',
      client_id: client.client_id,
      redirect_uri: redirectUri,
      scope: 'openid profile',
      state,
      code_challenge: await oauth.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      ...extra,
    }).toString();
    return { url: url.href, state };
  }

  /** The redirect the page landed on, checked by oauth4webapi (state and iss, RFC 9207). */
  function callbackParams(page: Page, state: string): URLSearchParams {
    const landed = new URL(page.url());
    assert.equal(`${landed.origin}${landed.pathname}`, redirectUri, landed.href);
    return oauth.validateAuthResponse(as, client, landed, state);
  }

  /** Waits until the page is at the client's redirect_uri. */
  const atCallback = (page: Page) => page.waitForURL((url) => url.href.startsWith(redirectUri), { timeout: WAIT_MS });

  it('pre-fills login_hint, speaks the ui_locales language, names the OpenID scopes, then prompt=none answers without a page and prompt=login asks again', async () => {
    const context: BrowserContext = await (browser as Browser).newContext();
    try {
      const page = await context.newPage();

      // prompt=none in a browser that is not signed in: straight back with login_required.
      const quiet = await authorizeUrl({ prompt: 'none' });
      await page.goto(quiet.url);
      await atCallback(page);
      assert.throws(
        () => callbackParams(page, quiet.state),
        (error: unknown) => {
          assert.ok(error instanceof oauth.AuthorizationResponseError);
          assert.equal(error.error, 'login_required');
          return true;
        },
      );

      const first = await authorizeUrl({ login_hint: USERNAME, ui_locales: 'sv-SE en-GB', scope: 'openid profile email offline_access', nonce: 'n-1' });
      await page.goto(first.url);
      await page.waitForURL(new RegExp(`^${issuer.href}/login\\?request=`), { timeout: WAIT_MS });
      assert.equal(await page.locator('html').getAttribute('lang'), 'en-GB');
      assert.equal(await page.locator('#username').inputValue(), USERNAME);
      assert.equal(await page.locator('#password').evaluate((element) => element === element.ownerDocument.activeElement), true);
      await page.locator('#password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();

      await page.waitForURL(new RegExp(`^${issuer.href}/consent\\?request=`), { timeout: WAIT_MS });
      assert.equal(await page.locator('html').getAttribute('lang'), 'en-GB');
      const consent = ((await page.locator('main').textContent()) ?? '').replace(/\s+/g, ' ');
      for (const words of ['Your name and profile', 'Your email address', 'Stay signed in (offline access)']) assert.ok(consent.includes(words), words);
      await page.getByRole('button', { name: 'Allow' }).click();
      await atCallback(page);
      assert.ok(callbackParams(page, first.state).get('code'));

      // Signed in and consented: prompt=none gives a code without any page.
      const silent = await authorizeUrl({ prompt: 'none' });
      await page.goto(silent.url);
      await atCallback(page);
      assert.ok(callbackParams(page, silent.state).get('code'));

      // prompt=login: the login page again, although signed in.
      const again = await authorizeUrl({ prompt: 'login' });
      await page.goto(again.url);
      await page.waitForURL(new RegExp(`^${issuer.href}/login\\?request=`), { timeout: WAIT_MS });
      await page.locator('#username').fill(USERNAME);
      await page.locator('#password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await atCallback(page);
      assert.ok(callbackParams(page, again.state).get('code'));
    } finally {
      await context.close();
    }
  });
});
