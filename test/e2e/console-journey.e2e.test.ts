import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import Fastify, { type FastifyInstance } from 'fastify';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import type { ConsoleAuditEvent, ConsoleDeps } from '../../src/console/deps.ts';
import { registerConsole } from '../../src/console/routes.ts';
import { systemClock } from '../../src/domain/clock.ts';
import type { CoreEvent } from '../../src/domain/events.ts';
import type { Store } from '../../src/domain/storage.ts';
import { createAdminServices } from '../../src/server/admin.ts';
import { createConsoleDeps } from '../../src/server/console.ts';
import { type Server as App, createServer as createGatehouse } from '../../src/server/server.ts';
import { openStore } from '../../src/store/open.ts';
import { basic, testConfig } from '../helpers/fixtures.ts';
import { freePort } from '../helpers/net.ts';

/*
 * An operator's whole journey through the web console in Debian's Chromium (playwright-core):
 * sign in through Gatehouse's own code flow (real login and consent pages, real token endpoint,
 * real token verification), create an environment and a client, get a token with the secret the
 * console showed once, rotate it, disable the client, rotate signing keys, sign out. Screenshots
 * of each page go to test-artifacts/screenshots/console/.
 */

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOTS = join(ROOT, 'test-artifacts', 'screenshots', 'console');
const MANAGEMENT = 'MANAGEMENT';
const OPERATOR = 'operator';
const PASSWORD = 'correct horse battery staple';
const WAIT_MS = 15_000;
const DESKTOP = { viewport: { width: 1280, height: 800 }, deviceScaleFactor: 1 } as const;
const PHONE = { viewport: { width: 375, height: 812 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } as const;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms).unref());
  return Promise.race([promise, timeout]);
}

/** Audit events and tokens per day, recorded from the core's events (stand-ins for the audit and usage floors). */
function recorders(): { audit: ConsoleAuditEvent[]; usage: ConsoleDeps['usage']; listener: (event: CoreEvent) => void } {
  const audit: ConsoleAuditEvent[] = [];
  const perDay = new Map<string, number>();
  const listener = (event: CoreEvent) => {
    const at = new Date().toISOString();
    const target = 'clientId' in event ? event.clientId : 'kid' in event ? event.kid : undefined;
    audit.unshift({ at, type: event.type, environment: event.env.name, target, outcome: 'outcome' in event ? event.outcome : undefined });
    if (event.type === 'token.issued') {
      const key = `${event.env.name} ${event.clientId} ${at.slice(0, 10)}`;
      perDay.set(key, (perDay.get(key) ?? 0) + 1);
    }
  };
  const usage: ConsoleDeps['usage'] = {
    async tokensPerDay(env, clientId, days) {
      const today = Date.now();
      return Array.from({ length: days }, (_, i) => {
        const day = new Date(today - (days - 1 - i) * 86_400_000).toISOString().slice(0, 10);
        // Earlier days get a made-up history so the chart has a shape; today is the real count.
        const past = i < days - 1 ? ((i * 7) % 11) + 2 : 0;
        return { day, count: past + (perDay.get(`${env} ${clientId} ${day}`) ?? 0) };
      });
    },
  };
  return { audit, usage, listener };
}

describe('web console: an operator journey in Chromium', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'gatehouse-console-e2e-'));
  let store: Store | undefined;
  let app: App | undefined;
  let consoleApp: FastifyInstance | undefined;
  let browser: Browser | undefined;
  let publicUrl: string;
  let consoleUrl: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: this test drives Debian's Chromium (apt-get install chromium). It is not skipped on purpose.`);
    mkdirSync(SCREENSHOTS, { recursive: true });
    const port = await freePort();
    publicUrl = `http://127.0.0.1:${port}`;
    const config = testConfig({ publicUrl, host: '127.0.0.1', port, passwordHashCost: 10, dataDir });
    store = openStore(join(dataDir, 'gatehouse.db'));
    await store.migrate();
    app = await createGatehouse(config, { store, clock: systemClock });
    assert.equal(await app.start(), publicUrl);
    const services = createAdminServices(config, store, systemClock, app.core);
    await services.admin.createEnvironment(MANAGEMENT);
    await services.admin.createEnvironment('DEVELOPMENT');
    await services.users.create({ env: MANAGEMENT, username: OPERATOR, password: PASSWORD });
    await services.users.create({ env: 'DEVELOPMENT', username: 'alice', password: PASSWORD });
    await services.serviceAccounts.create({ env: 'DEVELOPMENT', name: 'nightly export', scopes: ['exports:write'] });

    // The admin listener's stand-in: its own port, the console mounted on it.
    const consolePort = await freePort();
    consoleUrl = `http://127.0.0.1:${consolePort}`;
    const redirectUri = `${consoleUrl}/console/callback`;
    const { audit, usage, listener } = recorders();
    app.events.listen(listener);
    // Wired as a node wires it: the console client created on first use, sign-in over the node's core.
    const deps: ConsoleDeps = {
      ...(await createConsoleDeps({
        config,
        store,
        clock: systemClock,
        core: app.core,
        services,
        managementEnv: MANAGEMENT,
        redirectUri,
        servicesFor: () => services,
      })),
      audit: { recent: async ({ limit }) => audit.slice(0, limit) },
      usage,
    };
    assert.equal(deps.issuer, `${publicUrl}/envs/${MANAGEMENT}`);
    consoleApp = Fastify();
    await registerConsole(consoleApp, deps);
    await consoleApp.listen({ host: '127.0.0.1', port: consolePort });

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
      await consoleApp?.close();
      await app?.stop();
      await store?.close();
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  async function newPage(options: typeof DESKTOP | typeof PHONE): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
    assert.ok(browser);
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

  const shot = (page: Page, name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });

  /** Signs in as the operator, allowing the console on the consent page when it is asked (the first time at least). */
  async function signIn(page: Page, screenshots: boolean): Promise<void> {
    await page.goto(`${consoleUrl}/console/`);
    await page.waitForURL(new RegExp(`^${publicUrl}/envs/${MANAGEMENT}/login\\?`));
    if (screenshots) await shot(page, '01-login');
    await page.getByLabel('Username').fill(OPERATOR);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in', exact: true }).click();
    const home = `${consoleUrl}/console/envs`;
    await page.waitForURL((url) => url.href === home || url.pathname === `/envs/${MANAGEMENT}/consent`);
    if (page.url() !== home) {
      if (screenshots) await shot(page, '02-consent');
      await page.getByRole('button', { name: 'Allow' }).click();
      await page.waitForURL(home);
    }
  }

  /** Client credentials at the real token endpoint; returns the status and body. */
  async function token(env: string, clientId: string, secret: string): Promise<{ status: number; body: Record<string, unknown> }> {
    const response = await fetch(`${publicUrl}/envs/${env}/token`, {
      method: 'POST',
      headers: { authorization: basic(clientId, secret), 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=client_credentials',
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('signs in, creates an environment and a client, uses the shown secret, rotates it, disables the client, rotates keys, signs out', async () => {
    const { context, page, problems } = await newPage(DESKTOP);
    try {
      await signIn(page, true);
      assert.equal(await page.title(), 'Environments · Gatehouse console');
      const session = (await context.cookies(`${consoleUrl}/console/`)).find((c) => c.name === 'gatehouse_console');
      assert.deepEqual(
        session && [session.httpOnly, session.sameSite, session.path, session.secure],
        [true, 'Lax', '/console', false],
        JSON.stringify(session),
      );
      // Keyboard: the first Tab reaches the skip link.
      await page.keyboard.press('Tab');
      assert.equal(await page.evaluate('document.activeElement?.className'), 'skip');
      await shot(page, '03-environments');

      await page.getByLabel('Name').fill('STAGING');
      await page.getByRole('button', { name: 'Create environment' }).click();
      await page.waitForURL(`${consoleUrl}/console/envs/STAGING/clients?done=env-created`);
      assert.equal(await page.getByRole('status').textContent(), 'Environment created.');

      await page.getByRole('link', { name: 'New client' }).click();
      await page.getByLabel('Name').fill('Billing job');
      await page.getByLabel('Scopes').fill('invoices:read');
      await shot(page, '04-new-client');
      await page.getByRole('button', { name: 'Create client' }).click();
      await page.getByRole('heading', { name: 'Client Billing job created' }).waitFor();
      assert.match((await page.getByRole('alert').textContent()) ?? '', /shown only now/);
      const clientId = await page.getByLabel('Client ID').inputValue();
      const secret = await page.getByLabel('Client secret').inputValue();
      await shot(page, '05-client-created-secret');

      const first = await token('STAGING', clientId, secret);
      assert.equal(first.status, 200, JSON.stringify(first.body));
      assert.equal(first.body.scope, 'invoices:read');

      await page.getByRole('link', { name: /^Done/ }).click();
      await page.waitForURL(`${consoleUrl}/console/envs/STAGING/clients/${clientId}`);
      assert.ok(!(await page.content()).includes(secret), 'the detail page does not show the secret');
      await page.getByRole('img', { name: /Tokens issued per day/ }).waitFor();
      await shot(page, '06-client-detail-usage');

      await page.getByRole('button', { name: 'Rotate secret' }).click();
      await page.getByRole('heading', { name: 'New secret for Billing job' }).waitFor();
      const rotated = await page.getByLabel('Client secret').inputValue();
      assert.notEqual(rotated, secret);
      await shot(page, '07-secret-rotated');
      assert.equal((await token('STAGING', clientId, rotated)).status, 200);
      assert.equal((await token('STAGING', clientId, secret)).status, 200, 'the previous secret works during the overlap');

      await page.getByRole('link', { name: /^Done/ }).click();
      await page.getByRole('button', { name: 'Disable client' }).click();
      await page.waitForURL(`${consoleUrl}/console/envs/STAGING/clients/${clientId}?done=disabled`);
      assert.equal(await page.getByRole('status').textContent(), 'Disabled.');
      await shot(page, '08-client-disabled');
      assert.equal((await token('STAGING', clientId, rotated)).status, 401, 'a disabled client gets no token');

      await page.getByRole('link', { name: 'STAGING', exact: true }).click();
      await page.getByRole('link', { name: 'Signing keys' }).click();
      // By keyboard: the checkbox toggles with Space, the button submits with Enter.
      await page.getByLabel('Emergency: sign with the new key once every node publishes it').focus();
      await page.keyboard.press('Space');
      assert.equal(await page.getByLabel('Emergency: sign with the new key once every node publishes it').isChecked(), true);
      await page.keyboard.press('Space');
      await page.getByRole('button', { name: 'Rotate signing key' }).focus();
      await page.keyboard.press('Enter');
      await page.waitForURL(`${consoleUrl}/console/envs/STAGING/keys?done=key-rotated`);
      assert.equal(await page.locator('tbody .badge.next').count(), 1, 'a next key is listed');
      await shot(page, '09-keys-rotated');

      await page.goto(`${consoleUrl}/console/envs/DEVELOPMENT/users`);
      await page.getByRole('button', { name: 'Disable alice' }).click();
      await page.waitForURL(/users\?done=disabled$/);
      await shot(page, '10-users');
      await page.getByRole('link', { name: 'Service accounts' }).click();
      await page.getByRole('button', { name: 'Disable nightly export' }).click();
      await page.waitForURL(/service-accounts\?done=disabled$/);
      assert.equal(await page.locator('tbody .badge').textContent(), 'disabled');
      await shot(page, '10b-service-accounts');
      await page.getByRole('link', { name: 'Audit events' }).click();
      assert.ok((await page.locator('tbody tr').count()) > 0, 'the audit page lists events');
      await shot(page, '11-audit');

      const cookie = `gatehouse_console=${session?.value ?? ''}`;
      assert.equal((await fetch(`${consoleUrl}/console/envs`, { redirect: 'manual', headers: { cookie } })).status, 200, 'the cookie signs in before sign-out');
      await page.getByRole('button', { name: 'Sign out' }).click();
      await page.waitForURL(`${consoleUrl}/console/signed-out`);
      await shot(page, '12-signed-out');
      const after = await fetch(`${consoleUrl}/console/envs`, { redirect: 'manual', headers: { cookie } });
      assert.equal(after.status, 303, 'the signed-out session cookie, replayed, signs in no more: its token is revoked');
      assert.deepEqual(problems, [], 'no console errors or CSP violations');
    } finally {
      await context.close();
    }
  });

  it('fits a phone and follows dark mode', async () => {
    const { context, page, problems } = await newPage(PHONE);
    try {
      await signIn(page, false);
      await page.goto(`${consoleUrl}/console/envs/STAGING/clients`);
      const overflow = await page.evaluate<number>('document.documentElement.scrollWidth - document.documentElement.clientWidth');
      assert.ok(overflow <= 0, `the page does not scroll sideways at 375 px (${overflow} px too wide)`);
      await shot(page, '13-phone-clients');
      await page.goto(`${consoleUrl}/console/envs/STAGING/keys`);
      await shot(page, '14-phone-keys');
      await page.emulateMedia({ colorScheme: 'dark' });
      const background = await page.evaluate<string>('getComputedStyle(document.body).backgroundColor');
      assert.equal(background, 'rgb(14, 17, 23)', 'the dark palette applies');
      await shot(page, '15-phone-keys-dark');
      await page.goto(`${consoleUrl}/console/envs/STAGING/clients`);
      await page.getByRole('link', { name: 'Billing job' }).click();
      await shot(page, '16-phone-client-dark');
      assert.deepEqual(problems, []);
    } finally {
      await context.close();
    }
  });
});
