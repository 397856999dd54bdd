import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Browser } from 'playwright-core';
import { AdminService } from '../../src/admin/admin-service.ts';
import { UserService } from '../../src/admin/users.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { Store } from '../../src/domain/storage.ts';
import { s256Challenge } from '../../src/oauth/pkce.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { launchChromium, WAIT_MS } from '../helpers/chromium.ts';
import { testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

/*
 * RP-Initiated Logout in a real browser (Debian's Chromium, driven by playwright-core): a user
 * signed in on Gatehouse's pages is asked before being signed out, the confirmation form posts
 * under the pages' Content-Security-Policy and lands on the client's registered address with
 * `state`, and the next authorization asks for the password again. Screenshots of the pages go to
 * test-artifacts/screenshots/ for a human to look at.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots');
const ENV = 'DEVELOPMENT';
const USERNAME = 'alice';
const PASSWORD = 'correct horse battery staple';

/** The client's side: its redirect_uri and its signed-out page both answer 200 "done". */
class RelyingParty {
  private readonly server: Server;
  url = '';

  constructor() {
    this.server = createServer((_request, response) => response.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('done'));
  }

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

describe('RP-Initiated Logout in Chromium (playwright-core)', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-logout-e2e-'));
  const rp = new RelyingParty();
  let store: Store | undefined;
  let app: App | undefined;
  let browser: Browser | undefined;
  let issuer: string;
  let clientId: string;

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    await rp.start();
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
      name: 'Invoice App',
      grantTypes: ['authorization_code'],
      scopes: ['invoices:read'],
      redirectUris: [`${rp.url}/callback`],
    });
    clientId = created.client_id;
    // The client's logout metadata, as its registration will carry it.
    const env = await store.environments.findByName(ENV);
    const client = await store.clients.find(env?.id as string, clientId);
    assert.ok(client);
    await store.clients.update({ ...client, postLogoutRedirectUris: [`${rp.url}/signed-out`], updatedAt: client.updatedAt + 1 });
    await new UserService(config, store, systemClock).create({ env: ENV, username: USERNAME, password: PASSWORD });
    issuer = `${publicUrl}/envs/${ENV}`;
    browser = await launchChromium();
  });

  after(async () => {
    try {
      await browser?.close().catch(() => undefined);
      await rp.stop();
      await app?.stop();
      await store?.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  const authorizeUrl = () =>
    `${issuer}/authorize?${new URLSearchParams({
      response_type: 'code',
      client_id: clientId,
      redirect_uri: `${rp.url}/callback`,
      scope: 'invoices:read',
      state: randomBytes(8).toString('hex'),
      code_challenge: s256Challenge(randomBytes(32).toString('base64url')),
      code_challenge_method: 'S256',
    })}`;

  it('asks before signing out, returns to the registered address with state, and the next sign-in needs the password', async () => {
    assert.ok(browser);
    const context = await browser.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      colorScheme: 'light',
      locale: 'en-US',
    });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    const problems: string[] = [];
    page.on('console', (message) => {
      if (!message.text().startsWith('Failed to load resource:')) problems.push(`${message.type()}: ${message.text()}`);
    });
    page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
    try {
      // Sign in and consent on Gatehouse's pages.
      await page.goto(authorizeUrl());
      await page.getByLabel('Username').fill(USERNAME);
      await page.getByLabel('Password').fill(PASSWORD);
      await page.getByRole('button', { name: 'Sign in', exact: true }).click();
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL((url) => url.href.startsWith(`${rp.url}/callback`));

      // The client sends the browser to the end-session endpoint without an ID Token: Gatehouse asks.
      const state = 'bye-123';
      const confirm = await page.goto(
        `${issuer}/logout?${new URLSearchParams({ client_id: clientId, post_logout_redirect_uri: `${rp.url}/signed-out`, state })}`,
      );
      assert.equal(confirm?.status(), 200);
      assert.equal(confirm?.headers()['x-frame-options'], 'DENY');
      assert.match(confirm?.headers()['content-security-policy'] ?? '', /default-src 'none'/);
      assert.equal(await page.title(), `Sign out of ${ENV}? · Gatehouse`);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), `Sign out of ${ENV}?`);
      assert.match((await page.locator('main').textContent()) ?? '', new RegExp(`Signed in as\\s*${USERNAME}`));
      await page.screenshot({ path: join(SCREENSHOTS, 'logout-confirm.png'), fullPage: true });
      assert.ok(
        (await context.cookies(issuer)).some((c) => c.name === 'gatehouse_session'),
        'still signed in while the page asks',
      );

      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL((url) => url.href.startsWith(`${rp.url}/signed-out`));
      assert.equal(page.url(), `${rp.url}/signed-out?state=${state}`);
      assert.equal((await context.cookies(issuer)).filter((c) => c.name === 'gatehouse_session').length, 0, 'the session cookie is gone');

      // Signed out: the next authorization shows the login page again.
      await page.goto(authorizeUrl());
      assert.match(page.url(), new RegExp(`^${issuer}/login\\?request=`));

      // Without a return address, the signed-out page.
      await page.goto(`${issuer}/logout`);
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), 'You are signed out');
      await page.screenshot({ path: join(SCREENSHOTS, 'logout-done.png'), fullPage: true });
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
