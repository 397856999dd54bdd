import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium } from 'playwright-core';
import { type DevServer, startDevServer } from '../helpers/dev-server.ts';
import { basic } from '../helpers/fixtures.ts';

/*
 * What a new user does after `npm start`: open the console the banner names, sign in as the
 * printed operator, create a client, and get a token with the secret the console showed once.
 * Against the real `gatehouse serve --dev` (admin listener, management environment, console
 * client and operator all made by the dev start), in Debian's Chromium.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots', 'console-dev');
const WAIT_MS = 15_000;

describe('the console after `npm start`', () => {
  let server: DevServer;
  let browser: Browser | undefined;

  before(async () => {
    mkdirSync(SCREENSHOTS, { recursive: true });
    server = await startDevServer();
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await server?.stop();
  });

  it('signs in as the printed operator, creates a client and gets a token with its shown secret', async () => {
    const [, consoleUrl, username, password] = await server.waitFor(
      /Web console: (http:\/\/\S+\/console\/) — sign in as (\S+) with password (\S+) \(shown only now\)/,
      'the console line of the banner',
    );
    await server.waitFor(/Gatehouse is listening/, 'the banner');
    assert.ok(browser && consoleUrl && username && password);
    const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
    context.setDefaultTimeout(WAIT_MS);
    const page = await context.newPage();
    const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

    await page.goto(consoleUrl);
    await page.waitForURL(/\/envs\/gatehouse-admin\/login\?/);
    await page.getByLabel('Username').fill(username);
    await page.getByLabel('Password').fill(password);
    await shot('01-login');
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    // The console is first-party: from the login page straight to it, with no consent page.
    await page.waitForURL((url) => url.pathname === '/console/envs' || url.pathname === '/envs/gatehouse-admin/consent');
    assert.equal(new URL(page.url()).pathname, '/console/envs', 'no consent page for the console');
    assert.equal(await page.locator('.who').textContent(), username, 'the operator by name, not by user id');
    await shot('03-environments');

    await page.goto(new URL('envs/DEVELOPMENT/clients', consoleUrl).href);
    await page.getByRole('link', { name: 'New client' }).click();
    await page.getByLabel('Name').fill('First app');
    await page.getByLabel('Scopes').fill('read');
    await page.getByRole('button', { name: 'Create client' }).click();
    await page.getByRole('heading', { name: 'Client First app created' }).waitFor();
    const clientId = await page.getByLabel('Client ID').inputValue();
    const secret = await page.getByLabel('Client secret').inputValue();
    await shot('04-client-created');

    const response = await fetch(`http://127.0.0.1:${server.port}/envs/DEVELOPMENT/token`, {
      method: 'POST',
      headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    const body = (await response.json()) as { access_token?: string; scope?: string };
    assert.equal(response.status, 200, JSON.stringify(body));
    assert.equal(body.scope, 'read');
    await context.close();
  });
});
