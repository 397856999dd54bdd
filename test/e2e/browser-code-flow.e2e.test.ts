import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import * as oauth from 'oauth4webapi';
import { type Browser, type BrowserContext, chromium, type Locator, type Page } from 'playwright-core';
import { AdminService } from '../../src/admin/admin-service.ts';
import { UserService } from '../../src/admin/users.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

/*
 * The authorization code flow in a real browser: Debian's Chromium, driven by playwright-core,
 * signs in and consents on Gatehouse's own pages, and oauth4webapi (an independent client) checks
 * the redirect (state, iss), redeems the code with PKCE, refreshes and revokes. Screenshots of the
 * pages go to test-artifacts/screenshots/ for a human to look at.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const ENV = 'DEVELOPMENT';
const CLIENT_NAME = 'Invoice App';
const SCOPES = ['invoices:read', 'invoices:write'];
const USERNAME = 'alice';
const PASSWORD = 'correct horse battery staple';
const WAIT_MS = 15_000;
const insecure = { [oauth.allowInsecureRequests]: true } as const;
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } as const;
const DESKTOP = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 } as const;

/** Settles like `promise`, or rejects after `ms`; the timer never keeps the process alive. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms).unref());
  return Promise.race([promise, timeout]);
}

/** The text of the one element `locator` matches, whitespace collapsed, after checking that it is visible. */
async function visibleText(locator: Locator): Promise<string> {
  assert.ok(await locator.isVisible(), `${locator} is visible`);
  return ((await locator.textContent()) ?? '').replace(/\s+/g, ' ').trim();
}

/** The client's redirect_uri: records every request to /callback and answers 200 "done". */
class CallbackServer {
  readonly received: URL[] = [];
  private waiters: ((url: URL) => void)[] = [];
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((request, response) => {
      const url = new URL(request.url ?? '/', this.url);
      if (url.pathname !== '/callback') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      this.received.push(url);
      response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('done');
      for (const waiter of this.waiters.splice(0)) waiter(url);
    });
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(0, '127.0.0.1', resolve);
    });
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** The next request to /callback, or an error after WAIT_MS. */
  next(): Promise<URL> {
    return within(new Promise<URL>((resolve) => this.waiters.push(resolve)), WAIT_MS, 'a request to the callback server');
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('authorization code flow in Chromium (playwright-core) with oauth4webapi', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-browser-e2e-'));
  const callback = new CallbackServer();
  let store: Store | undefined;
  let app: App | undefined;
  let browser: Browser | undefined;
  let issuer: URL;
  let as: oauth.AuthorizationServer;
  let client: oauth.Client;
  let clientAuth: oauth.ClientAuth;
  /** A second client, for the Deny scenario (consent to the first one is remembered). */
  let otherClient: oauth.Client;
  let redirectUri: string;
  let userId: string;

  before(async () => {
    assert.ok(
      existsSync(CHROMIUM),
      `${CHROMIUM} is missing: this test drives Debian's Chromium (apt-get install chromium; .ci/run installs it). It is not skipped on purpose.`,
    );
    mkdirSync(SCREENSHOTS, { recursive: true });
    await callback.start();
    redirectUri = `${callback.url}/callback`;

    // The public URL must be the address the browser uses, so cookies, redirects and `iss` line up.
    const port = await freePort();
    const publicUrl = `http://127.0.0.1:${port}`;
    const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir });
    store = openStore(join(dataDir, 'gatehouse.db'));
    await store.migrate();
    app = await createGatehouse(config, { store, clock: systemClock });
    const address = await app.start();
    assert.equal(address, publicUrl);

    const admin = new AdminService(config, config.keySecret, store, app.core, systemClock);
    await admin.createEnvironment(ENV);
    const created = await admin.createClient({
      env: ENV,
      name: CLIENT_NAME,
      grantTypes: ['authorization_code', 'refresh_token'],
      scopes: SCOPES,
      redirectUris: [redirectUri],
    });
    assert.ok(created.client_secret, 'a confidential client gets a secret');
    client = { client_id: created.client_id };
    clientAuth = oauth.ClientSecretBasic(created.client_secret);
    const other = await admin.createClient({
      env: ENV,
      name: 'Report Viewer',
      grantTypes: ['authorization_code'],
      scopes: ['reports:read'],
      redirectUris: [redirectUri],
    });
    otherClient = { client_id: other.client_id };
    userId = (await new UserService(config, store, systemClock).create({ env: ENV, username: USERNAME, password: PASSWORD })).user_id;

    issuer = new URL(`${publicUrl}/envs/${ENV}`);
    as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { algorithm: 'oauth2', ...insecure }));
    assert.equal(as.authorization_endpoint, `${issuer.href}/authorize`);
    assert.equal(as.authorization_response_iss_parameter_supported, true);
    assert.deepEqual(as.code_challenge_methods_supported, ['S256']);

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      timeout: WAIT_MS,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-quic',
        '--no-first-run',
      ],
    });
  });

  after(async () => {
    try {
      if (browser) await within(browser.close(), WAIT_MS, 'Chromium closing').catch(() => undefined);
      await callback.stop();
      await app?.stop();
      await store?.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  /**
   * A page in a fresh context. `problems` collects its console messages and page errors, so a CSP
   * violation (which Chromium reports on the console) cannot go unnoticed. Failed loads are left
   * out: the 401 of a wrong password and the callback server's 404 for /favicon.ico are expected.
   */
  async function newPage(options: typeof PHONE | typeof DESKTOP): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    assert.ok(browser, 'the browser was launched in before()');
    const context = await browser.newContext({ ...options, colorScheme: 'light', locale: 'en-US' });
    context.setDefaultTimeout(WAIT_MS);
    context.setDefaultNavigationTimeout(WAIT_MS);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (!message.text().startsWith('Failed to load resource:')) problems.push(`${message.type()}: ${message.text()} (${page.url()})`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message} (${page.url()})`));
    return { context, page, problems };
  }

  /** An authorization URL with PKCE S256 and a fresh state, built by oauth4webapi. */
  async function authorizationUrl(clientId = client.client_id, scope = SCOPES.join(' ')): Promise<{ url: URL; state: string; verifier: string }> {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const url = new URL(as.authorization_endpoint ?? '');
    url.searchParams.set('response_type', 'code');
    url.searchParams.set('client_id', clientId);
    url.searchParams.set('redirect_uri', redirectUri);
    url.searchParams.set('scope', scope);
    url.searchParams.set('state', state);
    url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
    url.searchParams.set('code_challenge_method', 'S256');
    return { url, state, verifier };
  }

  const isInvalidGrant = (error: unknown): true => {
    assert.ok(error instanceof oauth.ResponseBodyError, `expected an OAuth error response, got ${String(error)}`);
    assert.equal(error.error, 'invalid_grant');
    return true;
  };

  async function introspect(token: string): Promise<oauth.IntrospectionResponse> {
    return oauth.processIntrospectionResponse(as, client, await oauth.introspectionRequest(as, client, clientAuth, token, insecure));
  }

  it('signs in, consents, redeems the code with PKCE, refreshes and revokes', async () => {
    const { context, page, problems } = await newPage(PHONE);
    try {
      const { url, state, verifier } = await authorizationUrl();

      // /authorize answers 303 to the login page, which is served with the anti-framing headers.
      const loginResponse = await page.goto(url.href);
      assert.ok(loginResponse, 'navigation to /authorize produced a response');
      assert.equal(loginResponse.status(), 200);
      assert.match(page.url(), new RegExp(`^${issuer.href}/login\\?request=`));
      const authorizeResponse = await loginResponse.request().redirectedFrom()?.response();
      assert.equal(authorizeResponse?.status(), 303, 'GET /authorize redirects with 303');
      const headers = loginResponse.headers();
      assert.equal(headers['x-frame-options'], 'DENY');
      assert.match(headers['content-security-policy'] ?? '', /frame-ancestors 'none'/);
      assert.match(headers['content-security-policy'] ?? '', /default-src 'none'/);
      assert.equal(headers['cache-control'], 'no-store');
      assert.equal(headers['referrer-policy'], 'no-referrer');

      const cookies = await context.cookies(issuer.href);
      const session = cookies.find((cookie) => cookie.name === 'gatehouse_session');
      assert.ok(session, `the session cookie is set (cookies: ${cookies.map((c) => c.name).join(', ')})`);
      assert.equal(session.httpOnly, true);
      assert.equal(session.sameSite, 'Lax');
      assert.equal(session.secure, false, 'no Secure on an http public URL');
      assert.equal(session.path, `/envs/${ENV}`);

      // The login page.
      assert.equal(await page.title(), 'Sign in · Gatehouse');
      assert.equal(await visibleText(page.getByRole('heading', { level: 1 })), 'Sign in');
      assert.equal(await visibleText(page.locator('p.lead')), `${CLIENT_NAME} wants to access your account.`);
      assert.equal(await page.getByRole('alert').count(), 0, 'no error before the first attempt');
      await page.screenshot({ path: join(SCREENSHOTS, 'login.png'), fullPage: true });

      await page.getByLabel('Username').fill(USERNAME);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(new RegExp(`^${issuer.href}/consent\\?request=`));
      const signedIn = (await context.cookies(issuer.href)).find((cookie) => cookie.name === 'gatehouse_session');
      assert.ok(signedIn && signedIn.value !== session.value, 'the session id is replaced at login');

      // The consent page.
      assert.equal(await page.title(), `Allow ${CLIENT_NAME}? · Gatehouse`);
      assert.equal(await visibleText(page.getByRole('heading', { level: 1 })), `Allow ${CLIENT_NAME} to access your account?`);
      const consentText = await visibleText(page.locator('main'));
      assert.match(consentText, new RegExp(`Signed in as\\s+${USERNAME}`));
      assert.deepEqual(await page.locator('.scopes .scope-text').allTextContents(), ['Read your invoices', 'Create and change your invoices']);
      for (const scope of SCOPES) assert.ok(consentText.includes(scope), `the consent page names ${scope}`);
      assert.ok(consentText.includes(callback.url), 'the consent page shows where the answer goes');
      assert.equal(await page.getByRole('button', { name: 'Deny' }).count(), 1);
      await page.screenshot({ path: join(SCREENSHOTS, 'consent.png'), fullPage: true });

      const arrived = callback.next();
      await page.getByRole('button', { name: 'Allow' }).click();
      const callbackUrl = await arrived;
      await page.waitForURL((current) => current.href.startsWith(redirectUri));
      assert.equal(await visibleText(page.locator('body')), 'done');
      assert.equal(callbackUrl.href, page.url());

      // The client's side, entirely oauth4webapi: state and iss (RFC 9207), then the code with PKCE.
      assert.equal(callbackUrl.searchParams.get('iss'), issuer.href);
      const params = oauth.validateAuthResponse(as, client, callbackUrl, state);
      assert.match(params.get('code') ?? '', /^gac_/);
      const tokens = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, insecure),
      );
      assert.equal(tokens.token_type, 'bearer');
      assert.equal(tokens.expires_in, 3600);
      assert.equal(tokens.scope, SCOPES.join(' '));
      assert.match(tokens.refresh_token ?? '', /^grt_/);

      const jwks = createRemoteJWKSet(new URL(as.jwks_uri ?? ''));
      const { payload } = await jwtVerify(tokens.access_token, jwks, { issuer: issuer.href, audience: issuer.href, typ: 'at+jwt' });
      assert.match(String(payload.sub), /^usr_/);
      assert.equal(payload.sub, userId);
      assert.equal(payload.client_id, client.client_id);
      assert.deepEqual(String(payload.scope).split(' ').sort(), [...SCOPES].sort());
      const active = await introspect(tokens.access_token);
      assert.equal(active.active, true);
      assert.equal(active.sub, userId);

      // Refresh: the refresh token rotates.
      const refreshed = await oauth.processRefreshTokenResponse(
        as,
        client,
        await oauth.refreshTokenGrantRequest(as, client, clientAuth, tokens.refresh_token ?? '', insecure),
      );
      assert.match(refreshed.refresh_token ?? '', /^grt_/);
      assert.notEqual(refreshed.refresh_token, tokens.refresh_token, 'the refresh token rotates');
      assert.notEqual(refreshed.access_token, tokens.access_token);
      assert.equal(refreshed.scope, SCOPES.join(' '));
      assert.equal((await introspect(refreshed.access_token)).sub, userId);

      // Revoking the latest refresh token (RFC 7009) revokes its family, access tokens included.
      await oauth.processRevocationResponse(await oauth.revocationRequest(as, client, clientAuth, refreshed.refresh_token ?? '', insecure));
      assert.deepEqual(await introspect(tokens.access_token), { active: false }, 'the first access token is inactive');
      assert.deepEqual(await introspect(refreshed.access_token), { active: false }, 'the refreshed access token is inactive');
      const afterRevocation = await oauth.refreshTokenGrantRequest(as, client, clientAuth, refreshed.refresh_token ?? '', insecure);
      await assert.rejects(oauth.processRefreshTokenResponse(as, client, afterRevocation), isInvalidGrant);

      // The code a second time: refused.
      const replay = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, params, redirectUri, verifier, insecure);
      await assert.rejects(oauth.processAuthorizationCodeResponse(as, client, replay), isInvalidGrant);

      // Consent is remembered and the session lasts: a new authorization goes straight back to the
      // client, without a page, and its code starts a new family that the revocation did not touch.
      const again = await authorizationUrl();
      const secondArrival = callback.next();
      await page.goto(again.url.href);
      const secondParams = oauth.validateAuthResponse(as, client, await secondArrival, again.state);
      const second = await oauth.processAuthorizationCodeResponse(
        as,
        client,
        await oauth.authorizationCodeGrantRequest(as, client, clientAuth, secondParams, redirectUri, again.verifier, insecure),
      );
      assert.equal((await introspect(second.access_token)).active, true);

      assert.deepEqual(problems, [], 'no console messages (a CSP violation would show up here)');
    } finally {
      await context.close();
    }
  });

  it('a wrong password shows an alert and stays on the login page', async () => {
    const { context, page, problems } = await newPage(DESKTOP);
    try {
      const received = callback.received.length;
      const { url } = await authorizationUrl();
      await page.goto(url.href);
      assert.match(page.url(), new RegExp(`^${issuer.href}/login\\?request=`));
      await page.screenshot({ path: join(SCREENSHOTS, 'login-desktop.png'), fullPage: true });

      await page.getByLabel('Username').fill(USERNAME);
      await page.getByLabel('Password').fill(`${PASSWORD}!`);
      const [response] = await Promise.all([
        page.waitForResponse((r) => r.request().method() === 'POST' && r.url() === `${issuer.href}/login`),
        page.getByRole('button', { name: 'Sign in', exact: true }).click(),
      ]);
      assert.equal(response.status(), 401);
      await page.waitForLoadState('load');

      assert.equal(page.url(), `${issuer.href}/login`);
      assert.equal(await visibleText(page.getByRole('heading', { level: 1 })), 'Sign in');
      assert.equal(await visibleText(page.getByRole('alert')), 'Incorrect username or password.');
      assert.equal(await page.getByLabel('Username').inputValue(), USERNAME, 'the username is kept');
      assert.equal(await page.getByLabel('Password').inputValue(), '', 'the password is not sent back');
      assert.equal(await page.getByLabel('Password').getAttribute('aria-invalid'), 'true');
      assert.equal(await page.getByRole('button', { name: 'Allow' }).count(), 0);
      await page.screenshot({ path: join(SCREENSHOTS, 'login-error-desktop.png'), fullPage: true });
      assert.equal(callback.received.length, received, 'nothing reached the client');
      assert.deepEqual(problems, [], 'no console messages');
    } finally {
      await context.close();
    }
  });

  it('Deny sends access_denied back to the client, with state and iss', async () => {
    const { context, page, problems } = await newPage(PHONE);
    try {
      const { url, state } = await authorizationUrl(otherClient.client_id, 'reports:read');
      await page.goto(url.href);
      await page.getByLabel('Username').fill(USERNAME);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.waitForURL(new RegExp(`^${issuer.href}/consent\\?request=`));
      assert.equal(await visibleText(page.getByRole('heading', { level: 1 })), 'Allow Report Viewer to access your account?');
      assert.deepEqual(await page.locator('.scopes .scope-text').allTextContents(), ['Read your reports']);

      const arrived = callback.next();
      await page.getByRole('button', { name: 'Deny' }).click();
      const callbackUrl = await arrived;
      assert.equal(callbackUrl.searchParams.get('code'), null);
      assert.throws(
        () => oauth.validateAuthResponse(as, otherClient, callbackUrl, state),
        (error: unknown) => {
          assert.ok(error instanceof oauth.AuthorizationResponseError, `expected an authorization error response, got ${String(error)}`);
          assert.equal(error.error, 'access_denied');
          return true;
        },
      );
      assert.equal(callbackUrl.searchParams.get('iss'), issuer.href);
      assert.deepEqual(problems, [], 'no console messages');
    } finally {
      await context.close();
    }
  });
});
